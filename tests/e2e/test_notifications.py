"""A merchant reads the notification of a newly imported order and sets the e-mail preference, in Chromium.

The e2e server has no mail server configured, so messages are kept on the Notifications page. The
notification job runs in the test process (the server's scheduler is off), without its waits.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re

import pytest
from playwright.sync_api import expect

from jobs.notification_jobs import deliver_notifications
from models.accounts.users import create_user
from models.db.tables import Notification, User
from tests.conftest import TEST_PASSWORD, make_order
from tests.e2e.conftest import log_in, order_id

pytestmark = pytest.mark.e2e

_merchants = itertools.count(1)


def new_merchant(world, role: str = "operator") -> str:
    """A user of its own per test, so other tests' orders never show in its notifications."""
    username = f"merchant{os.getpid() % 1000:03d}{next(_merchants):03d}{role[0]}"
    world.run(lambda: create_user(username, TEST_PASSWORD, role, f"{username}@shop.example"))
    return username


def run_notification_job(world, server: str) -> None:
    world.run(lambda: deliver_notifications(None, server, gather=dt.timedelta(0), spacing=dt.timedelta(0)))


def notifications_of(world, username: str) -> int:
    async def work() -> int:
        user = await User.select(User.id).where(User.username == username).first()
        return await Notification.count().where(Notification.user == user["id"])

    return world.run(work)


def test_merchant_reads_the_notification_of_a_new_order_and_marks_it_read(pages, world, server):
    merchant = new_merchant(world)
    channel_order = order_id("NTF")
    order = world.import_order(make_order(channel_order))
    run_notification_job(world, server)

    page = pages.new()
    page.goto("/login")
    log_in(page, merchant)
    page.wait_for_url(re.compile(r"/orders$"))
    page.get_by_role("link", name="Notifications, 1 unread").click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.get_by_text("No mail server is configured: notifications are not e-mailed")).to_be_visible()
    message = page.get_by_role("article", name=f"Order {channel_order} waits for acceptance")
    expect(message).to_be_visible()
    expect(message.get_by_text(f"To {merchant}@shop.example ({merchant})")).to_be_visible()
    expect(message.get_by_text(f"Order {channel_order} from E2E Shop waits for acceptance.")).to_be_visible()

    message.get_by_role("button", name=f"Mark “Order {channel_order} waits for acceptance” as read").click()
    expect(message.get_by_role("button", name=re.compile("as read"))).to_have_count(0)
    expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()

    # The link in the message opens the order, ready to accept.
    message.get_by_text("The order", exact=True).click()  # a read message's body is folded
    message.get_by_role("link", name=f"{server}/orders/{order}").click()
    page.wait_for_url(f"**/orders/{order}")
    expect(page.get_by_role("heading", name=re.compile(channel_order))).to_be_visible()


def test_merchant_turns_new_order_emails_off_and_on_in_settings(pages, world, server):
    merchant = new_merchant(world)
    page = pages.new()
    page.goto("/login")
    log_in(page, merchant)
    page.wait_for_url(re.compile(r"/orders$"))
    page.get_by_role("link", name="Settings").click()
    preference = page.get_by_label("E-mail me when an order waits for acceptance")
    expect(preference).to_be_checked()
    expect(page.get_by_label("Your e-mail address")).to_have_value(f"{merchant}@shop.example")

    preference.uncheck()
    page.get_by_role("button", name="Save notification settings").click()
    saved = "Notification settings saved: you are not e-mailed about new orders."
    expect(page.get_by_role("status")).to_have_text(saved)
    expect(page.get_by_label("E-mail me when an order waits for acceptance")).not_to_be_checked()
    world.import_order(make_order(order_id("OFF")))
    assert notifications_of(world, merchant) == 0

    # An address without a domain is refused with the reason; what was typed stays.
    page.get_by_label("Your e-mail address").fill("merchant@shop")
    page.get_by_label("E-mail me when an order waits for acceptance").check()
    page.get_by_role("button", name="Save notification settings").click()
    expect(page.get_by_text("“merchant@shop” is not an e-mail address.")).to_be_visible()
    expect(page.get_by_label("Your e-mail address")).to_have_value("merchant@shop")

    page.get_by_label("Your e-mail address").fill("orders@shop.example")
    page.get_by_role("button", name="Save notification settings").click()
    expect(page.get_by_role("status")).to_contain_text("e-mailed to orders@shop.example")
    expect(page.get_by_label("E-mail me when an order waits for acceptance")).to_be_checked()
    world.import_order(make_order(order_id("ON")))
    assert notifications_of(world, merchant) == 1


def test_a_viewer_cannot_ask_for_new_order_emails(pages, world, server):
    page = pages.new("viewer")
    page.goto("/settings")
    why = "Only operators and admins, who can accept orders, are told about new orders."
    expect(page.get_by_text(why)).to_be_visible()
    expect(page.get_by_label("E-mail me when an order waits for acceptance")).to_have_count(0)
    page.goto("/notifications")
    expect(page.get_by_text("Viewers are not told about new orders")).to_be_visible()
