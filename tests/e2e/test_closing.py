"""Payment, delivery, returns and cancellation on the order page, in Chromium, against the MALL and
ShipBob sandboxes the e2e server serves (over real HTTP)."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from playwright.sync_api import Page, expect

from models.accounts import credentials
from models.accounts.users import create_api_token
from models.core.app_settings import merchant_timezone
from models.core.clock import now
from models.db.tables import Order, User
from tests.closing_world import ClosingWorld, closing_world
from tests.conftest import make_order
from tests.e2e.conftest import SERVER_SECRET, World, order_id

pytestmark = pytest.mark.e2e

T = TypeVar("T")
PREFIX = "E2E Closing "
MALL = f"{PREFIX}MALL"
SHIPBOB = f"{PREFIX}ShipBob"
#: Set WAYBILL_SCREENSHOTS to a directory to keep a screenshot of the order page in each state.
SHOTS = os.environ.get("WAYBILL_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def closing(world: World, server: str) -> ClosingWorld:
    async def work() -> ClosingWorld:
        credentials.configure(SERVER_SECRET)
        return await closing_world(f"{server}/sandbox/mall", f"{server}/sandbox/shipbob", prefix=PREFIX)

    return world.run(work)


def over_http(world: World, step: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run a seeding step in the test process, talking to the sandboxes over HTTP."""

    async def work() -> T:
        credentials.configure(SERVER_SECRET)
        async with httpx.AsyncClient(timeout=10) as client:
            return await step(client)

    return world.run(work)


def control(server: str, path: str) -> dict:
    with urllib.request.urlopen(f"{server}/sandbox/{path}", timeout=10) as response:
        return json.loads(response.read())


def channel_order_id(world: World, order: int) -> str:
    async def work() -> str:
        return (await Order.select(Order.channel_order_id).where(Order.id == order).first())["channel_order_id"]

    return world.run(work)


def local_today(world: World) -> str:
    async def work() -> str:
        return now().astimezone(await merchant_timezone()).date().isoformat()

    return world.run(work)


def api_post(server: str, token: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{server}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def operator_token(world: World) -> str:
    async def work() -> str:
        user = await User.select(User.id).where(User.username == "operator").first()
        return await create_api_token(user["id"], "e2e closing")

    return world.run(work)


def open_order(pages, server: str, order: int) -> Page:
    page = pages.new("operator")
    page.goto(f"{server}/orders/{order}")
    return page


def flash(page: Page):
    return page.locator("#fulfilment .flash")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"closing-{name}.png"), full_page=True)


# Payment ----------------------------------------------------------------------------------------------


def test_mark_paid_for_an_order_on_account(pages, world, server):
    order = world.import_order(
        make_order(order_id("PAY"), payment_method="on_account", needs_acceptance=False, lines=[("BB-1001", 1, 1990)])
    )
    page = open_order(pages, server, order)
    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("Unpaid · On account")
    actions = page.get_by_role("region", name="Payment and cancellation", exact=True)
    expect(actions).to_contain_text("Paid on account: €19.90 not received yet.")
    shot(page, "unpaid")
    actions.get_by_role("button", name="Mark as paid").click()
    expect(flash(page)).to_have_text("Marked as paid.")
    expect(summary).to_contain_text("Paid · On account")
    expect(page.get_by_role("button", name="Mark as paid")).to_have_count(0)
    expect(page.get_by_role("region", name="Cancellation", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("Marked as paid")
    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")


def test_a_viewer_sees_no_closing_controls(pages, world, server):
    order = world.import_order(make_order(order_id("VIEW"), payment_method="on_account", needs_acceptance=False))
    page = pages.new("viewer")
    page.goto(f"{server}/orders/{order}")
    expect(page.get_by_role("region", name="Summary")).to_contain_text("Unpaid")
    expect(page.locator("#closing-actions")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark as paid")).to_have_count(0)


# Delivered is final ---------------------------------------------------------------------------------


def test_deliver_with_a_date_makes_the_order_final(pages, world, server, closing):
    order = over_http(world, lambda client: closing.shipped(client, "PPLDEL0001"))
    mall_id = channel_order_id(world, order)
    page = open_order(pages, server, order)
    expect(page.locator("#order-status")).to_have_text("Shipped")
    actions = page.get_by_role("region", name="Delivery", exact=True)
    expect(actions).to_contain_text("Cancel order is no longer possible: the order has shipped.")
    expect(actions.get_by_text("Cancel order", exact=True)).to_have_count(0)

    actions.locator("summary", has_text="Mark as delivered").click()
    date = actions.get_by_label("Delivery date")
    expect(date).to_have_value(local_today(world))
    date.fill("2020-01-02")
    actions.get_by_role("button", name="Mark as delivered").click()
    error = page.locator("#e-delivered-at")
    expect(error).to_contain_text("The delivery date cannot be before the order shipped (")
    expect(page.locator("#fulfilment").get_by_role("alert")).to_contain_text(
        "Not marked as delivered: the delivery date cannot be before the order shipped ("
    )
    expect(page.get_by_label("Delivery date")).to_have_value("2020-01-02")  # nothing lost
    expect(page.get_by_label("Delivery date")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#order-status")).to_have_text("Shipped")
    shot(page, "deliver-refused")

    page.get_by_label("Delivery date").fill(local_today(world))
    page.get_by_role("button", name="Mark as delivered").click()
    expect(flash(page)).to_contain_text("Marked as delivered on ")
    expect(flash(page)).to_contain_text(f"{MALL} confirmed it (now delivered).")
    expect(page.locator("#order-status")).to_have_text("Delivered")
    final = page.get_by_role("region", name="Delivered", exact=True)
    expect(final).to_contain_text("Delivered is final: nothing on this order can change any more.")
    shot(page, "delivered")

    for reloaded in (False, True):
        if reloaded:
            page.reload()
        main = page.locator("main")
        expect(main.locator("form[method=post]")).to_have_count(0)
        expect(main.get_by_role("button")).to_have_count(0)
        expect(main.get_by_role("link", name="Edit delivery address")).to_have_count(0)
        expect(main.locator("input:not([type=hidden]), select:not(#audit-sku), textarea")).to_have_count(0)
        expect(page.get_by_role("region", name="Summary")).to_contain_text("Delivered")

    at_mall = control(server, f"mall/_control/orders/{mall_id}")
    assert at_mall["status"] == "delivered" and at_mall["delivered_at"]

    token = operator_token(world)
    for path, body in (("cancel", {"reason": "customer asked"}), ("return", {}), ("deliver", {"delivered_at": "x"})):
        status, answer = api_post(server, token, f"/api/v1/orders/{order}/{path}", body)
        assert status == 422, (path, answer)
        assert f"Order {mall_id} was delivered on " in answer["detail"]
        assert "A delivered order is final" in answer["detail"]


# Returned -------------------------------------------------------------------------------------------


def test_mark_returned_when_the_parcel_comes_back(pages, world, server, closing):
    order = over_http(world, lambda client: closing.shipped(client, "PPLRET0001"))
    mall_id = channel_order_id(world, order)
    page = open_order(pages, server, order)
    actions = page.get_by_role("region", name="Delivery", exact=True)
    actions.locator("summary", has_text="Mark as returned").click()
    actions.get_by_label("What happened (optional)").fill("Address unknown, parcel came back")
    shot(page, "return-form")
    actions.get_by_role("button", name="Mark as returned").click()
    expect(flash(page)).to_have_text(f"Marked as returned. {MALL} confirmed it (now returned).")
    expect(page.locator("#order-status")).to_have_text("Returned")
    expect(page.locator("#closing-actions")).to_have_count(0)
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text(
        "Status changed from Shipped to Returned: Address unknown, parcel came back"
    )
    assert control(server, f"mall/_control/orders/{mall_id}")["status"] == "returned"
    shot(page, "returned")


# Cancel ---------------------------------------------------------------------------------------------


def test_cancel_is_refused_after_shipping_with_the_reason(pages, world, server, closing):
    order = over_http(world, lambda client: closing.at_shipbob(client))
    page = open_order(pages, server, order)
    actions = page.get_by_role("region", name="Cancellation", exact=True)
    actions.locator("summary", has_text="Cancel order").click()
    actions.get_by_label("Reason for cancelling").fill("Customer asked to cancel")
    # Meanwhile the parcel leaves the warehouse.
    over_http(world, lambda client: closing.ship(order, client, "PPLLATE001"))
    actions.get_by_role("button", name="Cancel order").click()
    alert = page.locator("#fulfilment").get_by_role("alert")
    expect(alert).to_have_text(
        "Cancel order is not possible while the order is shipped; it is only possible when the order is "
        "pending review, awaiting acceptance, awaiting fulfillment, processing."
    )
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    expect(page.get_by_role("region", name="Delivery", exact=True)).to_contain_text(
        "Cancel order is no longer possible: the order has shipped."
    )
    shot(page, "cancel-refused")
    shipbob_id = world.run(lambda: closing.shipbob_id(order))
    assert control(server, f"shipbob/_control/orders/{shipbob_id}")["operations"]["cancel"] == 0


def test_cancel_before_shipping_cancels_at_the_supplier_and_the_channel(pages, world, server, closing):
    order = over_http(world, lambda client: closing.at_shipbob(client))
    mall_id = channel_order_id(world, order)
    shipbob_id = world.run(lambda: closing.shipbob_id(order))
    page = open_order(pages, server, order)
    expect(page.locator("#order-status")).to_have_text("Processing")
    actions = page.get_by_role("region", name="Cancellation", exact=True)
    actions.locator("summary", has_text="Cancel order").click()
    expect(actions).to_contain_text(
        f"Cancel this order? This cannot be undone. Every line is cancelled, {SHIPBOB} is asked to cancel "
        f"its part and {MALL} is told."
    )
    actions.get_by_role("button", name="Cancel order").click()
    expect(page.locator("#e-cancel-reason")).to_have_text("Give a reason for cancelling, e.g. the customer asked.")
    expect(page.locator("#order-status")).to_have_text("Processing")
    shot(page, "cancel-form")

    page.get_by_label("Reason for cancelling").fill("Customer asked to cancel")
    page.get_by_role("button", name="Cancel order").click()
    expect(flash(page)).to_have_text(
        f"Order cancelled. {SHIPBOB}: Cancelled at ShipBob (order {shipbob_id}). {MALL} confirmed it (now cancelled)."
    )
    expect(page.locator("#order-status")).to_have_text("Cancelled")
    history = page.get_by_role("region", name="Order history")
    expect(history.get_by_role("row").filter(has_text=SHIPBOB)).to_contain_text("Cancelled")
    expect(page.get_by_role("region", name="Lines")).to_contain_text("Cancelled")
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text(
        re.compile(r"Status changed from Processing to Cancelled: Customer asked to cancel")
    )
    expect(page.get_by_role("region", name="Send to suppliers")).to_have_count(0)
    shot(page, "cancelled")

    assert control(server, f"mall/_control/orders/{mall_id}")["status"] == "cancelled"
    at_shipbob = control(server, f"shipbob/_control/orders/{shipbob_id}")
    assert at_shipbob["operations"]["cancel"] == 1
    assert {s["status"] for s in at_shipbob["shipments"]} == {"Cancelled"}
