"""A merchant fixes what blocks an order and sends it to the BigBuy sandbox, in Chromium."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from models.accounts import credentials
from models.core.clock import now
from models.db.tables import CatalogItem, Supplier
from tests.conftest import make_order
from tests.e2e.conftest import SERVER_SECRET, order_id

pytestmark = pytest.mark.e2e

SUPPLIER = "BigBuy E2E"


def sandbox(server: str, method: str, path: str, body: dict | None = None) -> dict | None:
    request = urllib.request.Request(
        f"{server}/sandbox/bigbuy/_control/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


@pytest.fixture(scope="module")
def bigbuy(world, server) -> dict:
    """The BigBuy sandbox the e2e server serves, as a supplier carrying the BB- SKUs."""
    from connectors.sandbox.bigbuy import DEFAULT_API_KEY

    async def work() -> dict:
        credentials.configure(SERVER_SECRET)
        supplier = await Supplier.select().where(Supplier.name == SUPPLIER).first()
        if supplier is None:
            await Supplier.insert(
                Supplier(
                    name=SUPPLIER,
                    kind="bigbuy",
                    base_url=f"{server}/sandbox/bigbuy",
                    credentials=credentials.encrypt({"api_key": DEFAULT_API_KEY}),
                    prepaid=True,
                    created_at=now(),
                )
            )
            supplier = await Supplier.select().where(Supplier.name == SUPPLIER).first()
            for sku in ("BB-1001", "BB-1002"):
                await CatalogItem.insert(
                    CatalogItem(channel_sku=sku, supplier=supplier["id"], supplier_sku=sku, cost=990, updated_at=now())
                )
        return supplier

    supplier = world.run(work)
    sandbox(server, "POST", "wallet", {"balance": "1000.00"})
    return supplier


def reference(order: int, supplier: dict) -> str:
    return f"WB{order}-{supplier['id']}"


def test_missing_surname_edit_address_then_resubmit_sends_it_to_bigbuy(pages, world, server, bigbuy, tmp_path):
    channel_order = order_id("SUR")
    order = world.import_order(
        make_order(channel_order, last_name="", needs_acceptance=False, lines=[("BB-1001", 2, 1990)])
    )
    page = pages.new("operator")
    page.goto(f"{server}/orders/{order}")
    expect(page.get_by_role("region", name="Needs review")).to_contain_text("Missing surname")

    address = page.get_by_role("region", name="Customer and delivery address")
    address.get_by_role("link", name="Edit delivery address").click()
    form = page.get_by_role("region", name="Edit delivery address")
    form.get_by_label("Postcode").fill("7500")
    form.get_by_role("button", name="Save address").click()
    expect(form.get_by_text("Enter the last name.")).to_be_visible()
    expect(form.get_by_text("“7500” is not a valid postcode for FR")).to_be_visible()
    form.get_by_label("Last name").fill("Novák")
    form.get_by_label("Postcode").fill("75002")
    form.get_by_role("button", name="Save address").click()
    expect(address).to_contain_text("Address saved. Resubmit order to send it.")
    expect(address).to_contain_text("Novák")

    page.get_by_role("button", name="Resubmit order").click()
    expect(page.locator("#fulfilment").get_by_role("status")).to_contain_text(f"Created at {SUPPLIER}")
    expect(address).not_to_contain_text("Resubmit order to send it")
    expect(page.locator("#order-status")).to_have_text("Processing")
    history = page.get_by_role("region", name="Order history")
    expect(history.get_by_role("row").filter(has_text=SUPPLIER)).to_contain_text("Processed")
    expect(page.get_by_role("region", name="Needs review")).to_have_count(0)
    expect(page.get_by_role("region", name="Summary")).to_contain_text("Processing")
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("Delivery address edited")
    page.screenshot(path=str(tmp_path / "order-resubmitted.png"), full_page=True)

    at_bigbuy = sandbox(server, "GET", f"orders/{reference(order, bigbuy)}")
    assert at_bigbuy is not None, "the order reached the BigBuy sandbox"
    assert at_bigbuy["operations"]["create"] == 1
    assert at_bigbuy["lines"] == [{"sku": "BB-1001", "quantity": 2, "price": at_bigbuy["lines"][0]["price"]}]


def test_wallet_too_low_top_up_then_resubmit_sends_it_exactly_once(pages, world, server, bigbuy):
    sandbox(server, "POST", "wallet", {"balance": "1.00"})
    channel_order = order_id("WAL")
    order = world.import_order(make_order(channel_order, needs_acceptance=False, lines=[("BB-1002", 3, 2490)]))
    page = pages.new("operator")
    page.goto(f"{server}/orders/{order}")
    page.get_by_role("button", name="Process").click()
    expect(page.get_by_role("alert")).to_contain_text("Insufficient wallet balance: 1.00 EUR available")
    expect(page.locator("#order-status")).to_have_text("Pending review")
    expect(page.get_by_role("region", name="Needs review")).to_contain_text("EUR needed")
    assert sandbox(server, "GET", f"orders/{reference(order, bigbuy)}") is None

    sandbox(server, "POST", "wallet/topup", {"amount": "500.00"})
    page.get_by_role("button", name="Resubmit order").click()
    expect(page.locator("#order-status")).to_have_text("Processing")
    page.reload()
    expect(page.get_by_role("button", name="Resubmit order")).to_have_count(0)
    references = [o["internalReference"] for o in sandbox(server, "GET", "orders")["orders"]]
    assert references.count(reference(order, bigbuy)) == 1


def placed_at_bigbuy(world, bigbuy: dict, internal_reference: str) -> str:
    """An order the merchant placed on BigBuy's site by hand (its own API, as the website would)."""
    import httpx

    from jobs.connections import supplier_connector
    from models.ports import SupplierAddress, SupplierLine, SupplierOrderRequest

    async def work() -> str:
        credentials.configure(SERVER_SECRET)
        address = SupplierAddress("Zoë", "Dvořák", "12 rue de la Paix", "75002", "Paris", "FR")
        request = SupplierOrderRequest(internal_reference, address, (SupplierLine("BB-1001", 1),), "GLS")
        async with httpx.AsyncClient(timeout=10) as client:
            return await supplier_connector(bigbuy, client).create(request)

    return world.run(work)


def mark_sent_manually(page, reference_or_id: str) -> None:
    panel = page.get_by_role("region", name="Send to suppliers")
    if not panel.get_by_label("Supplier's order reference or id").is_visible():
        page.get_by_text("Order sent manually", exact=True).click()
    panel.get_by_label("Sent to supplier").select_option(label=SUPPLIER)
    panel.get_by_label("Supplier's order reference or id").fill(reference_or_id)
    panel.get_by_role("button", name="Mark as sent manually").click()


def test_order_sent_manually_by_reference_links_the_bigbuy_order_and_creates_nothing(
    pages, world, server, bigbuy, tmp_path
):
    shop_reference = order_id("SHOP")
    remote_id = placed_at_bigbuy(world, bigbuy, shop_reference)
    order = world.import_order(make_order(order_id("MAN"), needs_acceptance=False, lines=[("BB-1001", 1, 1990)]))
    page = pages.new("operator")
    page.goto(f"{server}/orders/{order}")

    # A reference BigBuy does not know is refused with BigBuy's words; what was typed stays.
    mark_sent_manually(page, "NOPE-4711")
    expect(page.get_by_role("alert")).to_contain_text("BigBuy has no order with reference or id")
    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")
    expect(page.get_by_label("Supplier's order reference or id")).to_have_value("NOPE-4711")

    mark_sent_manually(page, shop_reference)
    status = page.locator("#fulfilment").get_by_role("status")
    expect(status).to_contain_text(f"Marked as sent manually ({shop_reference}, {SUPPLIER} order {remote_id})")
    expect(page.locator("#order-status")).to_have_text("Processing")
    history = page.get_by_role("region", name="Order history")
    expect(history).to_contain_text(remote_id)
    expect(history).to_contain_text(f"reference {shop_reference}")
    expect(history).to_contain_text("Order sent manually")
    page.screenshot(path=str(tmp_path / "sent-manually.png"), full_page=True)
    assert sandbox(server, "GET", f"orders/{reference(order, bigbuy)}") is None

    # A second order linked to the same BigBuy order: asked first, linked once confirmed.
    other = world.import_order(make_order(order_id("MAN"), needs_acceptance=False, lines=[("BB-1001", 1, 1990)]))
    page.goto(f"{server}/orders/{other}")
    mark_sent_manually(page, shop_reference)
    expect(page.get_by_role("alert")).to_contain_text("is already linked to order")
    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")
    page.get_by_label("Link it anyway").check()
    page.get_by_role("button", name="Mark as sent manually").click()
    expect(page.locator("#order-status")).to_have_text("Processing")


def test_order_sent_manually_is_not_offered_before_every_line_is_decided(pages, world, server, bigbuy):
    # A marketplace order without a surname: Pending review with its line still awaiting acceptance.
    order = world.import_order(make_order(order_id("ACC"), last_name="", lines=[("BB-1001", 1, 1990)]))
    page = pages.new("operator")
    page.goto(f"{server}/orders/{order}")
    expect(page.locator("#order-status")).to_have_text("Pending review")
    expect(page.get_by_text("Order sent manually", exact=True)).to_have_count(0)


def test_a_review_issue_is_dismissed_with_a_reason_in_the_audit_trail(pages, world, server, bigbuy, tmp_path):
    order = world.import_order(
        make_order(order_id("DIS"), last_name="", needs_acceptance=False, lines=[("BB-1001", 1, 1990)])
    )
    page = pages.new("operator")
    page.goto(f"{server}/orders/{order}")
    issues = page.get_by_role("region", name="Needs review")
    expect(issues).to_contain_text("Missing surname")
    issues.get_by_text("Dismiss", exact=True).click()
    issues.get_by_label("Why it needs no fix").fill("   ")  # no reason: refused, nothing changes
    issues.get_by_role("button", name="Dismiss issue").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a reason")
    expect(page.locator("#order-status")).to_have_text("Pending review")
    issues.get_by_label("Why it needs no fix").fill("Company customer, the name is the company")
    page.screenshot(path=str(tmp_path / "dismiss.png"), full_page=True)
    issues.get_by_role("button", name="Dismiss issue").click()
    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")
    expect(page.get_by_role("region", name="Needs review")).to_have_count(0)
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("Dismissed: missing surname")
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("Company customer, the name is the company")


def test_audit_trail_filtered_by_line_sku(pages, world, server, bigbuy):
    order = world.import_order(
        make_order(order_id("AUD"), needs_acceptance=False, lines=[("BB-1001", 3, 1990), ("BB-1002", 1, 2490)])
    )
    page = pages.new("operator")
    page.goto(f"{server}/orders/{order}")
    lines = page.get_by_role("region", name="Lines")
    lines.get_by_label("Quantity of BB-1001").fill("2")
    lines.get_by_role("button", name="Save").first.click()
    expect(lines.get_by_role("status")).to_have_text("Quantity saved.")
    audit = page.get_by_role("region", name="Audit trail")
    expect(audit).to_contain_text("Quantity of BB-1001 lowered from 3 to 2")
    audit.get_by_label("Line").select_option("BB-1002")
    expect(audit).not_to_contain_text("Quantity of BB-1001 lowered")
    audit.get_by_label("Line").select_option("BB-1001")
    expect(audit).to_contain_text("Quantity of BB-1001 lowered from 3 to 2")
