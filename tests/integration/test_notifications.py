"""New-order notifications: written with the change, gathered per user, e-mailed to a real SMTP server.

The mail server is aiosmtpd listening on loopback; what it receives is parsed and checked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email
import email.policy
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from connectors.smtp import SmtpConfig
from jobs.notification_jobs import deliver_notifications
from models.accounts.users import create_user, set_notification_preferences
from models.channels.importing import import_orders
from models.core.actors import Actor
from models.db.tables import Notification, NotificationMessage, Order, SyncIssue, User
from models.notifications.inbox import list_messages, mark_read, unread_count
from models.notifications.mail_queue import MAIL_KIND, retry_mail_now
from models.notifications.new_orders import NO_ADDRESS, NO_MAIL_SERVER
from models.orders.acceptance import accept_order
from models.orders.change import change_order
from models.orders.lifecycle import OrderStatus
from tests.conftest import csrf_from, import_one, login, make_order, serve_in_test_loop
from web.app import create_app

BASE = "https://waybill.example.com"
NOW = dt.timedelta(0)


@pytest.fixture
def settings(settings):
    """The instance's public address is the one its messages link to."""
    return dataclasses.replace(settings, public_url=BASE)


@dataclass
class Received:
    to: list[str]
    subject: str
    body: str
    message_id: str


@dataclass
class MailSink:
    """An SMTP handler keeping every message it accepts."""

    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(
            Received(
                to=list(envelope.rcpt_tos),
                subject=str(parsed["Subject"]),
                body=parsed.get_content().replace("\r\n", "\n"),
                message_id=str(parsed["Message-ID"]),
            )
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.to]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpServer:
    sink: MailSink
    config: SmtpConfig
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.config.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port (plain SMTP: no STARTTLS on loopback)."""
    server = SmtpServer(
        MailSink(), SmtpConfig(host="127.0.0.1", port=free_port(), sender="waybill@shop.example", starttls=False)
    )
    server.start()
    yield server
    server.stop()


async def deliver(mail: SmtpConfig | None, owner: str = "test-instance"):
    """The job, without its waits: gather at once, no spacing between messages."""
    return await deliver_notifications(mail, BASE, gather=NOW, spacing=NOW, owner=owner)


async def user_id(username: str) -> int:
    return (await User.select(User.id).where(User.username == username).first())["id"]


async def test_a_new_order_is_emailed_to_operators_and_admins_not_viewers(users, channel, smtp):
    order_id = await import_one(channel, make_order("FR-1001"))
    run = await deliver(smtp.config)
    assert run.sent == 2 and run.failed == 0
    assert sorted(address for m in smtp.sink.messages for address in m.to) == [
        "admin@example.com",
        "operator@example.com",
    ]
    assert smtp.sink.to("viewer@example.com") == []
    mail = smtp.sink.to("operator@example.com")[0]
    assert mail.subject == "Order FR-1001 waits for acceptance"
    assert "Order FR-1001 from Test Marketplace waits for acceptance." in mail.body
    assert "Zoë Dvořák, 3 items, 84.80 EUR" in mail.body
    assert f"Accept or reject it: {BASE}/orders/{order_id}\n" in mail.body
    assert f"{BASE}/settings" in mail.body
    assert re.fullmatch(r"<waybill-notification-\d+@waybill>", mail.message_id)
    # Every message also stays readable in Waybill, marked as e-mailed.
    stored = await NotificationMessage.select().where(NotificationMessage.recipient == "operator@example.com")
    assert [(m["state"], m["subject"]) for m in stored] == [("sent", "Order FR-1001 waits for acceptance")]
    assert stored[0]["sent_at"] is not None
    # Nothing is sent twice.
    assert (await deliver(smtp.config)).sent == 0
    assert len(smtp.sink.messages) == 2


async def test_orders_arriving_together_make_one_digest_per_user(users, channel, smtp):
    batch = [make_order(f"BATCH-{n:03d}") for n in range(40)]
    await import_orders(channel, batch, Actor.channel(channel["name"]))
    assert await Notification.count() == 80  # one row per (user, order), written by the import
    await deliver(smtp.config)
    mails = smtp.sink.to("admin@example.com")
    assert len(mails) == 1
    digest = mails[0]
    assert digest.subject == "40 orders wait for acceptance"
    ids = {r["channel_order_id"]: r["id"] for r in await Order.select(Order.id, Order.channel_order_id)}
    listed = re.findall(rf"{re.escape(BASE)}/orders/(\d+)", digest.body)
    assert [int(x) for x in listed] == [ids[f"BATCH-{n:03d}"] for n in range(25)]  # oldest first, 25 listed
    assert "- …and 15 more." in digest.body
    assert f"All orders waiting for acceptance: {BASE}/orders?tab=awaiting_acceptance" in digest.body
    assert len(smtp.sink.messages) == 2


async def test_preference_off_means_no_email(users, channel, smtp):
    await set_notification_preferences(await user_id("operator"), "operator@example.com", False)
    await import_one(channel, make_order("PREF-1"))
    await deliver(smtp.config)
    assert [m.to for m in smtp.sink.messages] == [["admin@example.com"]]


async def test_turning_the_preference_off_before_the_message_is_written_drops_it(users, channel, smtp):
    await import_one(channel, make_order("PREF-2"))
    await set_notification_preferences(await user_id("operator"), "operator@example.com", False)
    await deliver(smtp.config)
    assert [m.to for m in smtp.sink.messages] == [["admin@example.com"]]


async def test_a_viewer_is_never_told_even_when_asking(users, channel, smtp):
    viewer = await user_id("viewer")
    await set_notification_preferences(viewer, "viewer@example.com", True)
    assert (await User.select(User.notify_new_orders).where(User.id == viewer).first())["notify_new_orders"] is False
    await import_one(channel, make_order("VIEW-1"))
    await deliver(smtp.config)
    assert smtp.sink.to("viewer@example.com") == []
    assert await Notification.count().where(Notification.user == viewer) == 0


async def test_without_a_mail_server_messages_are_kept_for_the_notifications_page(users, channel):
    order_id = await import_one(channel, make_order("KEPT-1"))
    run = await deliver(None)
    assert len(run.written) == 2 and run.sent == 0
    admin = await user_id("admin")
    inbox = await list_messages(admin)
    assert [(m["subject"], m["state"], m["note"]) for m in inbox.messages] == [
        ("Order KEPT-1 waits for acceptance", "kept", NO_MAIL_SERVER)
    ]
    assert f"{BASE}/orders/{order_id}" in inbox.messages[0]["body"]
    assert await unread_count(admin) == 1
    await mark_read(admin, inbox.messages[0]["id"])
    assert await unread_count(admin) == 0


async def test_the_menu_counts_agree_with_each_count_on_its_own(users, channel):
    from models.channels.sync_issues import record_issue, unresolved_count
    from models.orders.menu_counts import menu_counts
    from models.orders.queries import pending_review_count

    await import_one(channel, make_order("MENU-1"))
    await import_one(channel, make_order("MENU-2", last_name=""))  # missing surname: pending review
    await deliver(None)
    await record_issue("channel", channel["id"], "order_import", "HTTP 503 from the marketplace")
    await record_issue("channel", channel["id"], "accept", "HTTP 400: order not found")
    admin, operator = await user_id("admin"), await user_id("operator")
    await mark_read(operator, (await list_messages(operator)).messages[0]["id"])
    counts = await menu_counts(admin)
    assert (counts.pending_review, counts.connection_issues, counts.notifications_unread) == (1, 2, 1)
    assert counts.pending_review == await pending_review_count()
    assert counts.connection_issues == await unresolved_count()
    assert counts.notifications_unread == await unread_count(admin)
    assert (await menu_counts(operator)).notifications_unread == 0 == await unread_count(operator)
    assert (await menu_counts(None)).notifications_unread == 0


async def test_a_user_without_address_gets_the_message_kept(users, channel, smtp):
    await set_notification_preferences(await user_id("operator"), "", True)
    await import_one(channel, make_order("NOADDR-1"))
    await deliver(smtp.config)
    assert [m.to for m in smtp.sink.messages] == [["admin@example.com"]]
    kept = await NotificationMessage.select().where(NotificationMessage.user == await user_id("operator"))
    assert [(m["state"], m["note"]) for m in kept] == [("kept", NO_ADDRESS)]


async def test_orders_decided_before_the_message_is_written_are_left_out(users, channel, smtp):
    first = await import_one(channel, make_order("DEC-1"))
    await import_one(channel, make_order("DEC-2"))
    await accept_order(first, Actor.user("operator"))
    await deliver(smtp.config)
    assert {m.subject for m in smtp.sink.messages} == {"Order DEC-2 waits for acceptance"}
    assert await Notification.count().where(Notification.gathered_at.is_null()) == 0


async def test_an_order_sent_back_to_acceptance_is_notified_in_the_same_transaction(users, channel, smtp):
    order_id = await import_one(channel, make_order("BACK-1", last_name=""))
    assert (await Order.select(Order.status).where(Order.id == order_id).first())["status"] == "pending_review"
    assert await Notification.count() == 0
    # A change that fails after moving the order writes no notification either.
    with pytest.raises(RuntimeError):
        async with change_order(order_id, Actor.user("operator")) as change:
            await change.resolve_issues()
            raise RuntimeError("boom")
    assert await Notification.count() == 0
    async with change_order(order_id, Actor.user("operator")) as change:
        await change.resolve_issues()
    assert change.status == OrderStatus.AWAITING_ACCEPTANCE
    assert await Notification.count() == 2
    await deliver(smtp.config)
    assert {m.subject for m in smtp.sink.messages} == {"Order BACK-1 waits for acceptance"}


async def test_messages_wait_for_the_gathering_minute_and_the_spacing(users, channel, smtp):
    await import_one(channel, make_order("WAIT-1"))
    # Written just now: the job waits a minute for more orders before writing the message.
    run = await deliver_notifications(smtp.config, BASE, owner="x")
    assert run.written == [] and smtp.sink.messages == []
    await deliver(smtp.config)
    assert len(smtp.sink.messages) == 2
    # A second order right after: within ten minutes of the last e-mail, it waits for the next digest.
    await import_one(channel, make_order("WAIT-2"))
    run = await deliver_notifications(smtp.config, BASE, gather=NOW, owner="x")
    assert run.written == [] and len(smtp.sink.messages) == 2
    assert await Notification.count().where(Notification.gathered_at.is_null()) == 2


async def test_a_failing_mail_server_is_a_connection_issue_and_retried_until_it_works(users, channel, smtp):
    smtp.stop()  # the mail server is down
    await import_one(channel, make_order("DOWN-1"))
    run = await deliver(smtp.config)
    assert run.sent == 0 and run.failed == 1
    queued = await NotificationMessage.select().order_by(NotificationMessage.id)
    assert [m["state"] for m in queued] == ["queued", "queued"]
    assert "Could not reach the mail server 127.0.0.1" in queued[0]["last_error"]
    assert queued[0]["attempts"] == 1 and queued[0]["next_attempt_at"] > queued[0]["created_at"]
    # The second message was not tried against a server that had just failed; it waits as long.
    assert queued[1]["attempts"] == 0
    issues = await SyncIssue.select().where(SyncIssue.integration_kind == MAIL_KIND)
    assert len(issues) == 1 and issues[0]["resolved_at"] is None
    assert "Could not reach the mail server" in issues[0]["remote_message"]
    # Backoff: nothing is due before the retry time.
    assert (await deliver(smtp.config)).failed == 0
    # The server is back; Retry makes every queued message due now, and they go out.
    smtp.start()
    assert await retry_mail_now() == 2
    run = await deliver(smtp.config)
    assert run.sent == 2
    assert sorted(a for m in smtp.sink.messages for a in m.to) == ["admin@example.com", "operator@example.com"]
    issue = await SyncIssue.select().where(SyncIssue.id == issues[0]["id"]).first()
    assert issue["resolved_at"] is not None and issue["retry_succeeded"] is True


async def test_two_instances_write_and_send_each_message_once(users, channel, smtp):
    for n in range(5):
        await import_one(channel, make_order(f"TWO-{n}"))
    await asyncio.gather(deliver(smtp.config, owner="instance-a"), deliver(smtp.config, owner="instance-b"))
    assert sorted(a for m in smtp.sink.messages for a in m.to) == ["admin@example.com", "operator@example.com"]
    assert await NotificationMessage.count() == 2


async def test_a_large_import_writes_rows_not_emails(users, channel, smtp):
    """An import of many orders only writes rows (no mail server involved) and becomes one digest each."""
    batch = [make_order(f"BIG-{n:05d}", lines=[("SKU-1", 1, 1000)]) for n in range(500)]
    await import_orders(channel, batch, Actor.channel(channel["name"]))
    assert await Notification.count() == 1000
    assert smtp.sink.messages == []
    await deliver(smtp.config)
    assert sorted(m.subject for m in smtp.sink.messages) == ["500 orders wait for acceptance"] * 2
    assert "- …and 475 more." in smtp.sink.messages[0].body


# --------------------------------------------------------------------------- pages


async def test_marketplace_text_in_a_message_is_never_a_link_on_the_page(client, users, channel):
    """A customer name is the marketplace's text: an address in it stays text; the order's own link works."""
    planted = "Log in at https://waybill.example.com.evil.example/login"
    order_id = await import_one(channel, make_order("PLANT-1", first_name=planted, last_name="X"))
    await deliver(None)
    await login(client, "operator")
    page = (await client.get("/notifications")).text
    assert "https://waybill.example.com.evil.example/login" in page
    assert 'href="https://waybill.example.com.evil.example' not in page
    assert f'<a href="{BASE}/orders/{order_id}">' in page


async def test_notifications_page_lists_messages_and_marks_them_read(client, users, channel):
    order_id = await import_one(channel, make_order("PAGE-1"))
    await deliver(None)
    await login(client, "operator")
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert "Order PAGE-1 waits for acceptance" in page.text
    assert f'<a href="{BASE}/orders/{order_id}">' in page.text
    assert "No mail server is configured: notifications are not e-mailed" in page.text
    assert 'aria-label="Notifications, 1 unread"' in page.text
    message_id = (await NotificationMessage.select().where(NotificationMessage.user == await user_id("operator")))[0][
        "id"
    ]
    answer = await client.post(
        f"/notifications/{message_id}/read",
        data={"_csrf_token": csrf_from(page.text)},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200 and "Mark as read" not in answer.text
    assert 'id="nav-notifications"' in answer.text and 'hx-swap-oob="outerHTML"' in answer.text
    assert await unread_count(await user_id("operator")) == 0
    # Someone else's message cannot be marked read by this user.
    admin_message = (await NotificationMessage.select().where(NotificationMessage.user == await user_id("admin")))[0]
    csrf = csrf_from(page.text)
    refused = await client.post(f"/notifications/{admin_message['id']}/read", data={"_csrf_token": csrf})
    assert refused.status_code == 404


async def test_admins_can_read_everyones_notifications(client, users, channel):
    await import_one(channel, make_order("ALL-1"))
    await deliver(None)
    await login(client, "admin")
    page = await client.get("/notifications?show=everyone")
    assert page.text.count('<h2 id="notification-') == 2
    assert "To <strong>operator@example.com</strong> (operator)" in page.text
    assert "To <strong>admin@example.com</strong> (admin)" in page.text


async def test_settings_save_the_address_and_the_preference(client, users):
    await login(client, "operator")
    page = await client.get("/settings")
    assert "E-mail me when an order waits for acceptance" in page.text
    csrf = csrf_from(page.text)
    bad = await client.post("/settings/notifications", data={"_csrf_token": csrf, "email": "not an address"})
    assert bad.status_code == 400
    assert "is not an e-mail address" in bad.text and 'value="not an address"' in bad.text
    saved = await client.post(
        "/settings/notifications", data={"_csrf_token": csrf, "email": "ops@shop.example", "notify_new_orders": "1"}
    )
    assert saved.status_code == 200
    assert "e-mailed to ops@shop.example" in saved.text
    row = await User.select(User.email, User.notify_new_orders).where(User.username == "operator").first()
    assert row == {"email": "ops@shop.example", "notify_new_orders": True}
    off = await client.post("/settings/notifications", data={"_csrf_token": csrf, "email": "ops@shop.example"})
    assert "you are not e-mailed about new orders" in off.text
    row = await User.select(User.notify_new_orders).where(User.username == "operator").first()
    assert row["notify_new_orders"] is False


async def test_new_viewers_are_off_and_new_operators_on_by_default(database_url):
    await create_user("v2", "long-enough-pw", "viewer", "v2@example.com")
    await create_user("o2", "long-enough-pw", "operator", "o2@example.com")
    rows = await User.select(User.username, User.notify_new_orders).order_by(User.username)
    assert rows == [{"username": "o2", "notify_new_orders": True}, {"username": "v2", "notify_new_orders": False}]


async def test_retry_on_the_connection_issues_page_sends_the_waiting_emails(settings, users, channel, smtp):
    settings.smtp_host, settings.smtp_port, settings.smtp_starttls = "127.0.0.1", smtp.config.port, False
    smtp.stop()
    await import_one(channel, make_order("RETRY-1"))
    await deliver(smtp.config)
    issue = await SyncIssue.select().where(SyncIssue.integration_kind == MAIL_KIND).first()
    smtp.start()
    async with serve_in_test_loop(create_app(settings)) as client:
        await login(client, "admin")
        page = await client.get("/connection-issues")
        assert f"Mail server 127.0.0.1:{smtp.config.port}" in page.text
        assert "Could not reach the mail server" in page.text
        answer = await client.post(
            f"/connection-issues/{issue['id']}/retry",
            data={"_csrf_token": csrf_from(page.text)},
            headers={"HX-Request": "true"},
        )
        assert "Retry succeeded" in answer.text
        assert sorted(a for m in smtp.sink.messages for a in m.to) == ["admin@example.com", "operator@example.com"]
        notifications = await client.get("/notifications")
        assert "E-mailed" in notifications.text
        assert f"through 127.0.0.1:{smtp.config.port} (no TLS)" in notifications.text


async def test_a_viewer_cannot_post_notification_settings(client, users):
    await login(client, "viewer")
    page = await client.get("/settings")
    assert "Save notification settings" not in page.text
    answer = await client.post(
        "/settings/notifications",
        data={"_csrf_token": csrf_from(page.text), "email": "v@example.com", "notify_new_orders": "1"},
    )
    assert answer.status_code == 403 and "can view orders but not change them" in answer.text
    row = await User.select(User.email, User.notify_new_orders).where(User.username == "viewer").first()
    assert row == {"email": "viewer@example.com", "notify_new_orders": False}


# Poison input --------------------------------------------------------------------------------------


async def test_an_order_id_with_a_line_break_is_cleaned_at_import_and_every_mail_still_goes(users, channel, smtp):
    from models.db.tables import Order, RawPayload

    order_id = await import_one(channel, make_order("CRLF-1\r\nBcc: victim@example.org"))
    stored = await Order.select(Order.channel_order_id).where(Order.id == order_id).first()
    assert stored["channel_order_id"] == "CRLF-1Bcc: victim@example.org"
    assert "CRLF-1\\r\\nBcc" in (await RawPayload.select(RawPayload.body).first())["body"], "the raw payload is kept"

    run = await deliver(smtp.config)
    assert run.sent == 2 and run.failed == 0
    assert all("victim@example.org" not in address for m in smtp.sink.messages for address in m.to)
    [mail] = smtp.sink.to("operator@example.com")
    assert mail.subject == "Order CRLF-1Bcc: victim@example.org waits for acceptance"

    await import_one(channel, make_order("AFTER-1"))
    assert (await deliver(smtp.config)).sent == 2, "later mail is not blocked"
    assert smtp.sink.to("operator@example.com")[-1].subject == "Order AFTER-1 waits for acceptance"


async def test_a_message_that_cannot_be_built_is_set_aside_with_its_reason_and_the_queue_moves_on(users, channel, smtp):
    await User.update({User.email: "operator@example.com\r\nBcc: victim@example.org"}).where(
        User.username == "operator"
    )
    await import_one(channel, make_order("POISON-1"))
    run = await deliver(smtp.config)
    assert [m.to for m in smtp.sink.messages] == [["admin@example.com"]]
    assert run.failed == 0
    kept = await NotificationMessage.select().where(NotificationMessage.user == await user_id("operator"))
    assert [m["state"] for m in kept] == ["kept"]
    assert kept[0]["note"].startswith("This message cannot be written as an e-mail")
    # Nothing is retried and nothing waits behind it.
    await import_one(channel, make_order("POISON-2"))
    await deliver(smtp.config)
    assert sorted(m.subject for m in smtp.sink.to("admin@example.com")) == [
        "Order POISON-1 waits for acceptance",
        "Order POISON-2 waits for acceptance",
    ]
