"""A merchant accepts and rejects marketplace orders in Chromium; the Mirakl sandbox sees each decision.
An auto-accept channel set up through the channel form holds an order with an unknown SKU for a person."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from connectors.sandbox.mirakl import DEFAULT_API_KEY as MIRAKL_KEY
from jobs.importer import sync_channel
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import Channel, Order
from tests.e2e.conftest import SERVER_SECRET, Pages, World, order_id

pytestmark = pytest.mark.e2e

CHANNEL = "E2E Mirakl"


def control(server: str, system: str, method: str, path: str, body: dict | None = None) -> dict:
    """The sandbox's control interface on the e2e server."""
    request = urllib.request.Request(
        f"{server}/sandbox/{system}/_control/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def keep_screenshot(target: Page | Locator, name: str, tmp_path: Path) -> None:
    """Every screenshot goes to the test's folder, and to WAYBILL_E2E_SCREENSHOTS when set."""
    options = {"full_page": True} if isinstance(target, Page) else {}
    folders = [tmp_path] + (
        [Path(os.environ["WAYBILL_E2E_SCREENSHOTS"])] if os.environ.get("WAYBILL_E2E_SCREENSHOTS") else []
    )
    for folder in folders:
        target.screenshot(path=str(folder / f"{name}.png"), **options)


def sync(world: World, channel_id: int) -> None:
    """Import what the channel's sandbox has, exactly as the import job does."""

    async def work() -> None:
        credentials.configure(SERVER_SECRET)
        async with httpx.AsyncClient() as http:
            await sync_channel(channel_id, http)

    world.run(work)


def order_number(world: World, channel_id: int, channel_order_id: str) -> int:
    async def work() -> int:
        row = (
            await Order.select(Order.id)
            .where((Order.channel == channel_id) & (Order.channel_order_id == channel_order_id))
            .first()
        )
        assert row is not None, f"{channel_order_id} was imported"
        return row["id"]

    return world.run(work)


@pytest.fixture(scope="module")
def mirakl(world: World, server: str) -> dict:
    """A channel on the Mirakl sandbox the e2e server serves."""

    async def work() -> dict:
        credentials.configure(SERVER_SECRET)
        channel = await Channel.select().where(Channel.name == CHANNEL).first()
        if channel is None:
            await Channel.insert(
                Channel(
                    name=CHANNEL,
                    kind="mirakl",
                    base_url=f"{server}/sandbox/mirakl",
                    credentials=credentials.encrypt({"api_key": MIRAKL_KEY}),
                    created_at=now(),
                )
            )
            channel = await Channel.select().where(Channel.name == CHANNEL).first()
        return channel

    return world.run(work)


@pytest.fixture
def mirakl_order(server: str) -> Iterator[Callable[[str, list[tuple[str, str, int, float]]], str]]:
    """Makes orders waiting for acceptance on the Mirakl sandbox. They are closed there after the test, so
    a channel another test adds on the same sandbox does not import them."""
    made: list[str] = []

    def make(prefix: str, lines: list[tuple[str, str, int, float]]) -> str:
        made.append(put_mirakl_order(server, prefix, lines))
        return made[-1]

    yield make
    for oid in made:
        control(server, "mirakl", "POST", f"orders/{oid}/state", {"order_state": "CLOSED"})


def put_mirakl_order(server: str, prefix: str, lines: list[tuple[str, str, int, float]]) -> str:
    oid = order_id(prefix)
    address = {
        "firstname": "Zoë",
        "lastname": "Dvořák",
        "street_1": "12 rue de la Paix",
        "zip_code": "75002",
        "city": "Paris",
        "country_iso_code": "FRA",
    }
    control(
        server,
        "mirakl",
        "POST",
        "orders",
        {
            "order_id": oid,
            "order_state": "WAITING_ACCEPTANCE",
            "currency_iso_code": "EUR",
            "customer": {"firstname": "Zoë", "lastname": "Dvořák", "shipping_address": address},
            "order_lines": [
                {
                    "order_line_id": f"{oid}-{n}",
                    "offer_sku": sku,
                    "product_title": title,
                    "quantity": qty,
                    "price_unit": price,
                    "price": round(qty * price, 2),
                }
                for n, (sku, title, qty, price) in enumerate(lines, 1)
            ],
        },
    )
    return oid


def test_accept_one_line_and_reject_another_then_mirakl_has_both(
    pages: Pages, world, server, mirakl, mirakl_order, tmp_path
):
    remote = mirakl_order("ACC", [("E2E-ACC-1", "Water bottle", 3, 19.9), ("E2E-ACC-2", "Lunch box", 1, 24.9)])
    sync(world, mirakl["id"])
    page = pages.new("operator")
    page.goto(f"/orders/{order_number(world, mirakl['id'], remote)}")
    expect(page.locator("#order-status")).to_have_text("Awaiting acceptance")
    card = page.get_by_role("region", name="Acceptance")
    expect(card).to_contain_text(f"{CHANNEL} receives every line's decision in one call")
    expect(card).to_contain_text("2 of 2 lines to decide")
    keep_screenshot(page, "acceptance-awaiting", tmp_path)

    # Edit: the first line ships only two of three.
    first = card.get_by_role("row").filter(has_text="E2E-ACC-1")
    first.get_by_role("button", name="Edit quantity of E2E-ACC-1").click()
    edit = card.get_by_role("form", name="Edit quantity of E2E-ACC-1")
    expect(edit.get_by_label("New quantity of E2E-ACC-1")).to_have_attribute("max", "3")
    edit.get_by_label("New quantity of E2E-ACC-1").fill("2")
    edit.get_by_role("button", name="Save quantity").click()
    expect(page.get_by_role("status")).to_contain_text("Quantity of E2E-ACC-1 lowered from 3 to 2")
    expect(first).to_contain_text("2")

    first.get_by_role("button", name="Accept E2E-ACC-1").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Line E2E-ACC-1 accepted. 1 line still to decide. Mirakl receives the decisions once every line is decided."
    )
    expect(first).to_contain_text("Accepted")
    assert control(server, "mirakl", "GET", f"orders/{remote}")["operations"]["accept"] == 0

    # Reject the second line: the reason is required, and what was chosen stays on a refusal.
    second = card.get_by_role("row").filter(has_text="E2E-ACC-2")
    second.get_by_role("button", name="Reject E2E-ACC-2").click()
    reject = card.get_by_role("form", name="Reject line E2E-ACC-2")
    reject.get_by_role("button", name="Reject line").click()
    expect(reject.get_by_text("Choose a rejection reason.")).to_be_visible()
    expect(reject.get_by_label("Rejection reason")).to_have_attribute("aria-invalid", "true")
    reject.get_by_label("Rejection reason").select_option(label="Other")
    reject.get_by_role("button", name="Reject line").click()
    expect(reject.get_by_text("Describe the reason for rejecting.")).to_be_visible()
    expect(reject.get_by_label("Rejection reason")).to_have_value("other")
    reject.get_by_label("Describe the reason").fill("Discontinued by the maker")
    reject.get_by_role("button", name="Reject line").click()

    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")
    # The decision is answered at once; Mirakl's answer follows in its own message.
    expect(page.get_by_role("status").filter(has_text="Line E2E-ACC-2 rejected")).to_have_text(
        "Line E2E-ACC-2 rejected (Discontinued by the maker). The order is awaiting fulfillment."
    )
    expect(page.locator("#decision-answer")).to_have_text(f"{CHANNEL} has the decision.")
    expect(page.get_by_role("region", name="Acceptance")).to_have_count(0)
    lines = page.get_by_role("region", name="Lines", exact=True)
    expect(lines.get_by_role("row").filter(has_text="E2E-ACC-1")).to_contain_text("Accepted")
    expect(lines.get_by_role("row").filter(has_text="E2E-ACC-2")).to_contain_text("Discontinued by the maker")
    expect(page.get_by_role("region", name="Summary")).to_contain_text("SHIPPING")
    audit = page.get_by_role("region", name="Audit trail")
    expect(audit).to_contain_text("Rejected line E2E-ACC-2 × 1: Discontinued by the maker")
    expect(audit).to_contain_text("Quantity of E2E-ACC-1 lowered from 3 to 2")
    keep_screenshot(page, "acceptance-decided", tmp_path)

    at_mirakl = control(server, "mirakl", "GET", f"orders/{remote}")
    assert at_mirakl["operations"]["accept"] == 1
    assert at_mirakl["order_state"] == "SHIPPING"
    assert [line["order_line_state"] for line in at_mirakl["lines"]] == ["SHIPPING", "REFUSED"]


def test_reject_order_rejects_every_line(pages: Pages, world, server, mirakl, mirakl_order, tmp_path):
    remote = mirakl_order("REJ", [("E2E-REJ-1", "Yoga mat", 1, 29.9), ("E2E-REJ-2", "Strap", 2, 4.5)])
    sync(world, mirakl["id"])
    page = pages.new("operator")
    page.goto(f"/orders/{order_number(world, mirakl['id'], remote)}")
    card = page.get_by_role("region", name="Acceptance")

    card.get_by_role("button", name="Reject order").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a rejection reason; nothing was rejected.")
    reasons = card.get_by_role("group", name="Rejection reason")
    expect(reasons.get_by_text("Choose a rejection reason.")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Awaiting acceptance")
    keep_screenshot(card, "acceptance-reason-missing", tmp_path)

    reasons.get_by_label("Price error").check()
    control(server, "mirakl", "POST", "faults", {"latency_ms": 1500})  # a slow marketplace holds up nothing
    try:
        card.get_by_role("button", name="Reject order").click()
        expect(page.locator("#order-status")).to_have_text("Rejected")
        expect(page.get_by_role("status").filter(has_text="Order rejected")).to_contain_text(
            "Order rejected (Price error). Every line is rejected, so the order is rejected."
        )
        expect(page.locator("#decision-answer")).to_have_text(f"Sending the decision to {CHANNEL}…")
        keep_screenshot(page, "acceptance-sending", tmp_path)
        expect(page.locator("#decision-answer")).to_have_text(f"{CHANNEL} has the decision.")
    finally:
        control(server, "mirakl", "POST", "faults", {"latency_ms": 0})
    keep_screenshot(page, "acceptance-channel-answered", tmp_path)
    expect(page.get_by_role("region", name="Acceptance")).to_have_count(0)
    lines = page.get_by_role("region", name="Lines", exact=True)
    expect(lines.get_by_text("Price error")).to_have_count(2)

    at_mirakl = control(server, "mirakl", "GET", f"orders/{remote}")
    assert at_mirakl["order_state"] == "REFUSED"
    assert [line["order_line_state"] for line in at_mirakl["lines"]] == ["REFUSED", "REFUSED"]

    page.reload()
    expect(page.get_by_role("button", name="Accept order")).to_have_count(0)


def test_a_viewer_sees_the_order_waiting_but_no_decision_controls(pages: Pages, world, mirakl, mirakl_order):
    remote = mirakl_order("VIEW", [("E2E-VIEW-1", "Lamp", 1, 15.0)])
    sync(world, mirakl["id"])
    page = pages.new("viewer")
    page.goto(f"/orders/{order_number(world, mirakl['id'], remote)}")
    card = page.get_by_role("region", name="Acceptance")
    expect(card).to_contain_text("Your role can view orders but not accept or reject them.")
    expect(card.get_by_role("button")).to_have_count(0)


def test_auto_accept_rule_from_the_channel_form_holds_an_unknown_sku(pages: Pages, world, server, tmp_path):
    page = pages.new("admin")
    page.goto("/channels/new")
    page.get_by_label("Name").fill("E2E Back Market (rule)")
    page.get_by_label("Kind").select_option(label="Back Market")
    page.get_by_label("API base URL").fill(f"{server}/sandbox/backmarket")
    page.get_by_label("API token").fill("sandbox-backmarket-token")
    page.get_by_label("Auto-accept new orders").check()
    rule = page.get_by_role("group", name="Auto-accept rule")
    expect(rule.get_by_label("Hold orders with a SKU that is not in the catalog")).to_be_checked()
    rule.get_by_label("Hold orders with a line priced more than").fill("lots")
    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_text("Enter a whole percentage from 0 to 100")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("E2E Back Market (rule)")
    keep_screenshot(page, "channel-auto-accept-rule-error", tmp_path)
    page.get_by_label("API token").fill("sandbox-backmarket-token")  # secrets are never sent back to the page
    page.get_by_label("Hold orders with a line priced more than").fill("20")
    page.get_by_role("button", name="Add channel").click()
    facts = page.get_by_role("region", name="Connection", exact=True)
    expect(facts).to_contain_text(
        "On · holds orders with an unknown SKU or a line priced more than 20 % below its catalog cost"
    )
    channel_id = int(page.url.split("/channels/")[1].split("?")[0])

    remote = control(
        server,
        "backmarket",
        "POST",
        "orders",
        {
            "state": 1,
            "shipping_address": {
                "first_name": "Hélène",
                "last_name": "Dvořák",
                "street": "12 rue de la Paix",
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
            "orderlines": [{"listing": "E2E-NOT-IN-CATALOG", "quantity": 1, "price": "89.00"}],
        },
    )["order_id"]
    sync(world, channel_id)
    page.goto(f"/orders/{order_number(world, channel_id, str(remote))}")
    expect(page.locator("#order-status")).to_have_text("Awaiting acceptance")
    card = page.get_by_role("region", name="Acceptance")
    expect(card).to_contain_text(
        "Not accepted automatically. Held for manual acceptance (auto-accept rule): "
        "SKU E2E-NOT-IN-CATALOG is not in the catalog."
    )
    expect(card).to_contain_text("E2E Back Market (rule) receives each line's decision as soon as you make it.")
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("Held for manual acceptance")
    keep_screenshot(page, "acceptance-held-by-rule", tmp_path)

    card.get_by_role("button", name="Accept order").click()
    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")
    expect(page.locator("#decision-answer")).to_have_text("E2E Back Market (rule) has the decision.")
    assert [line["state"] for line in control(server, "backmarket", "GET", f"orders/{remote}")["lines"]] == [2]
