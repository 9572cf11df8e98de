"""Two supplier flows end to end, in Chromium, against the sandboxes the e2e server serves.

1. A Back Market order whose lines route to BigBuy and ShipBob: Process makes two supplier orders,
   both suppliers ship, and both trackings reach Back Market.
2. A Mirakl order ShipBob puts on hold for its address: the merchant corrects the address, ShipBob
   releases the shipment, it ships, and the tracking reaches Mirakl.

The e2e server runs no scheduler, so the jobs the scheduler would run (the channel outbox, the
supplier outbox, the tracking poll) are run here, against the same database, where the running app
would have run them.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from connectors.sandbox.backmarket import DEFAULT_TOKEN as BACKMARKET_TOKEN
from connectors.sandbox.bigbuy import DEFAULT_API_KEY as BIGBUY_KEY
from connectors.sandbox.mirakl import DEFAULT_API_KEY as MIRAKL_KEY
from connectors.sandbox.shipbob import DEFAULT_CHANNEL_ID as SHIPBOB_CHANNEL
from connectors.sandbox.shipbob import DEFAULT_TOKEN as SHIPBOB_TOKEN
from jobs.channel_jobs import dispatch as channel_outbox_job
from jobs.http import close_http_client
from jobs.supplier_jobs import dispatch_suppliers as supplier_outbox_job
from jobs.supplier_jobs import follow_suppliers as tracking_job
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import CatalogItem, Channel, Supplier
from tests.e2e.conftest import SERVER_SECRET, Pages, World, order_id

pytestmark = pytest.mark.e2e

BIGBUY = "BigBuy (flows)"
SHIPBOB = "ShipBob (flows)"
BACK_MARKET = "Back Market (flows)"
MIRAKL = "Mirakl (flows)"
#: The merchant's own SKUs and what each supplier calls them.
CATALOG = (("EARBUDS-W", BIGBUY, "BB-2040"), ("MUG-BONJOUR", SHIPBOB, "SB-0420"), ("LAMP-USBC", SHIPBOB, "SB-0112"))


def sandbox(server: str, system: str, method: str, path: str, body: dict | None = None) -> Any:
    """A call to a sandbox's `_control` interface; None for 404."""
    request = urllib.request.Request(
        f"{server}/sandbox/{system}/_control/{path}",
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
        raise AssertionError(f"{method} {system}/_control/{path}: {exc.code} {exc.read().decode()}") from exc


def run_job(world: World, job: Callable[[], Awaitable[None]]) -> None:
    """Run one of the app's scheduled jobs once, as the scheduler would, against the e2e database."""

    async def work() -> None:
        credentials.configure(SERVER_SECRET)
        try:
            await job()
        finally:
            await close_http_client()  # the shared client belongs to this run's event loop

    world.run(work)


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def suppliers(world: World, server: str) -> dict[str, dict]:
    """BigBuy and ShipBob on the server's sandboxes, with the catalog that routes the merchant's SKUs."""

    async def work() -> dict[str, dict]:
        credentials.configure(SERVER_SECRET)
        stamp = now()
        for name, kind, system, creds, prepaid in (
            (BIGBUY, "bigbuy", "bigbuy", {"api_key": BIGBUY_KEY}, True),
            (SHIPBOB, "shipbob", "shipbob", {"token": SHIPBOB_TOKEN, "channel_id": SHIPBOB_CHANNEL}, False),
        ):
            if not await Supplier.exists().where(Supplier.name == name):
                await Supplier.insert(
                    Supplier(
                        name=name,
                        kind=kind,
                        base_url=f"{server}/sandbox/{system}",
                        credentials=credentials.encrypt(creds),
                        prepaid=prepaid,
                        created_at=stamp,
                    )
                )
        rows = {row["name"]: row for row in await Supplier.select().where(Supplier.name.is_in([BIGBUY, SHIPBOB]))}
        for channel_sku, supplier, supplier_sku in CATALOG:
            if not await CatalogItem.exists().where(CatalogItem.channel_sku == channel_sku):
                await CatalogItem.insert(
                    CatalogItem(
                        channel_sku=channel_sku,
                        supplier=rows[supplier]["id"],
                        supplier_sku=supplier_sku,
                        cost=1500,
                        updated_at=stamp,
                    )
                )
        return rows

    rows = world.run(work)
    sandbox(server, "bigbuy", "POST", "wallet", {"balance": "1000.00"})
    return rows


def add_channel(world: World, server: str, name: str, kind: str, creds: dict[str, str]) -> dict:
    """A marketplace on the server's sandbox that accepts new orders by itself (auto-accept)."""

    async def work() -> dict:
        credentials.configure(SERVER_SECRET)
        if not await Channel.exists().where(Channel.name == name):
            await Channel.insert(
                Channel(
                    name=name,
                    kind=kind,
                    base_url=f"{server}/sandbox/{kind}",
                    credentials=credentials.encrypt(creds),
                    auto_accept=True,
                    created_at=now(),
                )
            )
        return await Channel.select().where(Channel.name == name).first()

    return world.run(work)


def add_mapping(page: Page, supplier: str, channel: str, rate: str, method: str) -> None:
    """Shipping mapping on the supplier page: the channel's rate → the supplier's method."""
    page.goto("/suppliers")
    page.get_by_role("link", name=supplier).click()
    mappings = page.get_by_role("region", name="Shipping mappings")
    mappings.get_by_label("Channel", exact=True).select_option(label=channel)
    mappings.get_by_label("Channel rate").fill(rate)
    mappings.get_by_label("Method").fill(method)
    mappings.get_by_role("button", name="Add mapping").click()
    expect(mappings.get_by_role("status")).to_have_text(f"Mapping added: “{rate}” → “{method}”.")


def sync_channel(page: Page, channel: dict) -> None:
    """Sync now on the channel page: the channel's open orders are imported."""
    page.goto(f"/channels/{channel['id']}")
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_text("Synced:")).to_be_visible()


def open_order(page: Page, channel_order_id: str) -> None:
    page.goto(f"/orders?q={channel_order_id}")
    page.get_by_role("link", name=channel_order_id).click()
    expect(page.get_by_role("heading", name=f"Order {channel_order_id}")).to_be_visible()


# --------------------------------------------------------------------------- flow 1


def backmarket_order(rate: str) -> dict:
    address = {
        "first_name": "Inès",
        "last_name": "Lefèvre",
        "street": "4 place Bellecour",
        "postal_code": "69002",
        "city": "Lyon",
        "country": "FR",
        "phone": "+33 6 12 00 00 00",
        "email": "ines@example.com",
    }
    return {
        "state": 1,
        "shipping_address": address,
        "billing_address": dict(address),
        "shipper_display": rate,
        "orderlines": [
            {"listing": "EARBUDS-W", "product": "Wireless earbuds", "price": "39.90", "quantity": 1},
            {"listing": "MUG-BONJOUR", "product": "Ceramic mug “Bonjour”", "price": "11.90", "quantity": 2},
        ],
    }


def test_two_supplier_order_is_processed_shipped_by_both_and_both_trackings_reach_back_market(
    pages: Pages, world: World, server: str, suppliers: dict[str, dict], tmp_path: Path
) -> None:
    channel = add_channel(world, server, BACK_MARKET, "backmarket", {"token": BACKMARKET_TOKEN})
    created = sandbox(server, "backmarket", "POST", "orders", backmarket_order("Express"))
    channel_order_id = str(created["order_id"])

    page = pages.new("operator")
    add_mapping(page, BIGBUY, BACK_MARKET, "Express", "DHL")
    add_mapping(page, SHIPBOB, BACK_MARKET, "Express", "2-Day")
    sync_channel(page, channel)
    run_job(world, channel_outbox_job)  # auto-accept reaches Back Market
    at_channel = sandbox(server, "backmarket", "GET", f"orders/{channel_order_id}")
    assert [line["state"] for line in at_channel["lines"]] == [2, 2], "both lines accepted on Back Market"

    open_order(page, channel_order_id)
    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")
    page.get_by_role("button", name="Process").click()
    created = [rf"{re.escape(name)}: Created at {re.escape(name)} as order \d+\." for name in (BIGBUY, SHIPBOB)]
    expect(page.locator("#fulfilment").get_by_role("status")).to_have_text(re.compile(rf"^Sent\. {' '.join(created)}$"))
    expect(page.locator("#order-status")).to_have_text("Processing")
    history = page.get_by_role("region", name="Order history")
    for name, method in ((BIGBUY, "DHL"), (SHIPBOB, "2-Day")):
        row = history.get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text("Processed")
        expect(row).to_contain_text(method)
    expect(page.get_by_role("button", name="Process")).to_have_count(0)
    shot(page, tmp_path, "flow1-processed")

    order = int(page.url.rstrip("/").rsplit("/", 1)[1])
    at_bigbuy = sandbox(server, "bigbuy", "GET", f"orders/WB{order}-{suppliers[BIGBUY]['id']}")
    at_shipbob = sandbox(server, "shipbob", "GET", f"orders/WB{order}-{suppliers[SHIPBOB]['id']}")
    assert at_bigbuy["operations"]["create"] == 1 and at_shipbob["operations"]["create"] == 1
    assert [(line["sku"], line["quantity"]) for line in at_bigbuy["lines"]] == [("BB-2040", 1)]
    assert at_bigbuy["carrier"] == "DHL"
    assert at_shipbob["status"] == "Processing"

    # Both suppliers ship; the tracking job reads it.
    sandbox(server, "bigbuy", "POST", f"orders/{at_bigbuy['id']}/ship", {"carrier": "DHL", "tracking_number": "JD0146"})
    sandbox(server, "shipbob", "POST", f"orders/{at_shipbob['id']}/ship", {"carrier": "UPS", "tracking_number": "1Z9"})
    run_job(world, tracking_job)
    page.reload()
    expect(page.locator("#order-status")).to_have_text("Shipped")
    shipments = page.get_by_role("region", name="Shipments")
    expect(shipments.get_by_role("row").filter(has_text="JD0146")).to_contain_text("EARBUDS-W × 1")
    expect(shipments.get_by_role("row").filter(has_text="1Z9")).to_contain_text("MUG-BONJOUR × 2")
    expect(history.get_by_role("row").filter(has_text=BIGBUY)).to_contain_text("JD0146")
    expect(history.get_by_role("row").filter(has_text=SHIPBOB)).to_contain_text("1Z9")
    shot(page, tmp_path, "flow1-shipped")

    # The channel outbox tells Back Market: each line shipped with its own parcel's tracking.
    run_job(world, channel_outbox_job)
    at_channel = sandbox(server, "backmarket", "GET", f"orders/{channel_order_id}")
    trackings = {line["listing"]: line["tracking"]["tracking_number"] for line in at_channel["lines"]}
    assert trackings == {"EARBUDS-W": "JD0146", "MUG-BONJOUR": "1Z9"}
    assert at_channel["state"] == 9, "the order is shipped on Back Market"
    page.reload()
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("Shipment added")


# --------------------------------------------------------------------------- flow 2


def mirakl_order(channel_order_id: str, street: str) -> dict:
    address = {
        "firstname": "Søren",
        "lastname": "Østergaard",
        "street_1": street,
        "zip_code": "69002",
        "city": "Lyon",
        "country_iso_code": "FRA",
    }
    return {
        "order_id": channel_order_id,
        "order_state": "WAITING_ACCEPTANCE",
        "currency_iso_code": "EUR",
        "shipping_type_label": "Standard",
        "customer": {"firstname": "Søren", "lastname": "Østergaard", "shipping_address": address},
        "order_lines": [
            {
                "offer_sku": "LAMP-USBC",
                "product_title": "LED desk lamp",
                "quantity": 1,
                "price_unit": 34.9,
                "price": 34.9,
            }
        ],
    }


def test_shipbob_hold_for_the_address_edit_delivery_address_releases_it_and_the_tracking_reaches_mirakl(
    pages: Pages, world: World, server: str, suppliers: dict[str, dict], tmp_path: Path
) -> None:
    channel = add_channel(world, server, MIRAKL, "mirakl", {"api_key": MIRAKL_KEY})
    channel_order_id = order_id("FLOW") + "-A"
    # The ShipBob sandbox's address verification fails for a street with "INVALID" in it.
    sandbox(server, "mirakl", "POST", "orders", mirakl_order(channel_order_id, "17 rue Invalide"))

    page = pages.new("operator")
    add_mapping(page, SHIPBOB, MIRAKL, "Standard", "Ground")
    sync_channel(page, channel)
    run_job(world, channel_outbox_job)  # auto-accept reaches Mirakl
    assert sandbox(server, "mirakl", "GET", f"orders/{channel_order_id}")["order_state"] == "SHIPPING"

    open_order(page, channel_order_id)
    page.get_by_role("button", name="Process").click()
    expect(page.locator("#fulfilment").get_by_role("status")).to_contain_text(f"Created at {SHIPBOB}")
    expect(page.locator("#order-status")).to_have_text("Processing")
    order = int(page.url.rstrip("/").rsplit("/", 1)[1])
    reference = f"WB{order}-{suppliers[SHIPBOB]['id']}"
    at_shipbob = sandbox(server, "shipbob", "GET", f"orders/{reference}")
    assert at_shipbob["shipments"][0]["status"] == "OnHold"

    # The tracking job reads the hold: the order needs review, with ShipBob's reason.
    run_job(world, tracking_job)
    page.reload()
    expect(page.locator("#order-status")).to_have_text("Pending review")
    review = page.get_by_role("region", name="Needs review")
    expect(review).to_contain_text(f"{SHIPBOB} put the order on hold")
    expect(review).to_contain_text("The street address could not be found")
    history = page.get_by_role("region", name="Order history")
    expect(history.get_by_role("row").filter(has_text=SHIPBOB)).to_contain_text("On hold")
    shot(page, tmp_path, "flow2-on-hold")

    # The merchant corrects the street; Save address sends it to ShipBob at once, which verifies it
    # again. A first attempt that still fails the check says so, and the order stays in review.
    address = page.get_by_role("region", name="Customer and delivery address")
    address.get_by_role("link", name="Edit delivery address").click()
    form = page.get_by_role("region", name="Edit delivery address")
    form.get_by_label("Street", exact=True).fill("17 rue Invalide, bâtiment B")
    form.get_by_role("button", name="Save address").click()
    expect(address.get_by_role("alert")).to_have_text(
        f"Address saved. Sent to {SHIPBOB}, which answers: On hold — Invalid Address: "
        "The street address could not be found by the carrier's address verification."
    )
    expect(page.locator("#order-status")).to_have_text("Pending review")
    shot(page, tmp_path, "flow2-still-on-hold")

    address.get_by_role("link", name="Edit delivery address").click()
    form.get_by_label("Street", exact=True).fill("4 place Bellecour")
    shot(page, tmp_path, "flow2-edit-address")
    form.get_by_role("button", name="Save address").click()
    expect(address.get_by_role("status")).to_have_text(f"Address saved. Sent to {SHIPBOB}, which verified it.")
    expect(address).to_contain_text("4 place Bellecour")
    expect(page.locator("#order-status")).to_have_text("Processing")
    expect(page.get_by_role("region", name="Needs review")).to_have_count(0)
    expect(history.get_by_role("row").filter(has_text=SHIPBOB)).to_contain_text("Processed")
    expect(page.get_by_role("region", name="Summary")).to_contain_text("Processing")
    shot(page, tmp_path, "flow2-address-saved")
    at_shipbob = sandbox(server, "shipbob", "GET", f"orders/{reference}")
    assert at_shipbob["operations"] == {"create": 1, "update_address": 2, "cancel": 0}
    assert at_shipbob["shipments"][0]["status"] == "Processing"
    assert at_shipbob["shipments"][0]["address"]["address1"] == "4 place Bellecour"
    run_job(world, supplier_outbox_job)  # nothing is left to send: the address is not sent twice
    assert sandbox(server, "shipbob", "GET", f"orders/{reference}")["operations"]["update_address"] == 2

    # ShipBob ships; the tracking job records the parcel; the channel outbox tells Mirakl.
    sandbox(server, "shipbob", "POST", f"orders/{reference}/ship", {"carrier": "UPS", "tracking_number": "1Z7"})
    run_job(world, tracking_job)
    page.reload()
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.get_by_role("region", name="Shipments").get_by_role("row").filter(has_text="1Z7")).to_contain_text(
        "LAMP-USBC × 1"
    )
    audit = page.get_by_role("region", name="Audit trail")
    expect(audit).to_contain_text("Delivery address edited")
    expect(audit).to_contain_text(f"Delivery address sent to {SHIPBOB}")
    shot(page, tmp_path, "flow2-shipped")
    run_job(world, channel_outbox_job)
    at_mirakl = sandbox(server, "mirakl", "GET", f"orders/{channel_order_id}")
    assert at_mirakl["tracking"]["tracking_number"] == "1Z7"
    assert at_mirakl["order_state"] == "SHIPPED"
    assert at_mirakl["operations"]["tracking"] == 1 and at_mirakl["operations"]["ship"] == 1
