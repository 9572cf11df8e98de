"""Shipping in Chromium: two partial parcels reach the Back Market sandbox; carriers on the Settings page."""

from __future__ import annotations

import json
import re
import urllib.request

import httpx
import pytest
from playwright.sync_api import expect

from connectors.sandbox.backmarket import DEFAULT_TOKEN
from jobs.importer import sync_channel
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import Carrier, Channel, Order
from models.fulfilment.carriers import CarrierForm, create_carrier
from tests.e2e.conftest import SERVER_SECRET, order_id

pytestmark = pytest.mark.e2e

CHANNEL = "E2E Back Market"
CARRIER = "E2E UPS"


def sandbox(server: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{server}/sandbox/backmarket/_control/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def backmarket(world, server) -> dict:
    """A channel on the Back Market sandbox the e2e server serves, and a carrier with its shipper code there."""

    async def work() -> dict:
        credentials.configure(SERVER_SECRET)
        channel = await Channel.select().where(Channel.name == CHANNEL).first()
        if channel is None:
            await Channel.insert(
                Channel(
                    name=CHANNEL,
                    kind="backmarket",
                    base_url=f"{server}/sandbox/backmarket",
                    credentials=credentials.encrypt({"token": DEFAULT_TOKEN}),
                    created_at=now(),
                )
            )
            channel = await Channel.select().where(Channel.name == CHANNEL).first()
        if not await Carrier.exists().where(Carrier.name == CARRIER):
            await create_carrier(
                CarrierForm(
                    name=CARRIER,
                    tracking_url_pattern="https://ups.example/track/{tracking}",
                    tracking_number_pattern=r"1Z[0-9A-Z]{16}",
                    codes={channel["id"]: "UPS"},
                )
            )
        return channel

    return world.run(work)


def import_from_backmarket(world, channel: dict, bm_order_id: str) -> int:
    async def work() -> int:
        credentials.configure(SERVER_SECRET)
        async with httpx.AsyncClient() as client:
            await sync_channel(channel["id"], client)
        row = (
            await Order.select(Order.id)
            .where((Order.channel == channel["id"]) & (Order.channel_order_id == bm_order_id))
            .first()
        )
        assert row, f"order {bm_order_id} was not imported"
        return row["id"]

    return world.run(work)


def test_two_partial_shipments_reach_back_market_with_both_trackings(pages, world, server, backmarket):
    # An order Back Market has accepted (state 3): two lines to ship.
    placed = sandbox(
        server,
        "POST",
        "orders",
        {
            "state": 3,
            "shipping_address": {
                "first_name": "Hélène",
                "last_name": "Dvořák",
                "street": "12 rue de la Paix",
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
            "orderlines": [
                {"listing": "IPH-13-128-BLK", "quantity": 1, "price": "489.00"},
                {"listing": "CASE-13-CLR", "quantity": 2, "price": "19.00"},
            ],
        },
    )
    bm_id = str(placed["order_id"])
    order = import_from_backmarket(world, backmarket, bm_id)

    page = pages.new("operator")
    page.goto(f"/orders/{order}")
    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")
    shipping = page.locator("#shipping-actions")
    expect(shipping).to_contain_text("0 of 3 items shipped")

    # First parcel: the phone only. A wrong tracking number is refused field by field; nothing typed is lost.
    shipping.get_by_role("button", name="Add tracking").click()
    phone_qty = page.get_by_label("Quantity of IPH-13-128-BLK in this parcel")
    case_qty = page.get_by_label("Quantity of CASE-13-CLR in this parcel")
    expect(phone_qty).to_have_value("1")
    expect(case_qty).to_have_value("2")  # what is left to ship, by default
    case_qty.fill("0")
    page.get_by_label("Carrier").select_option(label=CARRIER)
    page.get_by_label("Tracking number").fill("1Z-TYPO")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"“1Z-TYPO” does not look like a {CARRIER} tracking number.")).to_be_visible()
    expect(page.get_by_label("Tracking number")).to_have_value("1Z-TYPO")
    expect(page.get_by_label("Tracking number")).to_have_attribute("aria-invalid", "true")
    expect(case_qty).to_have_value("0")
    expect(page.get_by_label("Carrier")).to_have_value(re.compile(r"\d+"))
    expect(page.get_by_label("Carrier").locator("option:checked")).to_have_text(CARRIER)
    expect(page.get_by_role("heading", name="Ready to ship")).to_have_count(0)

    page.get_by_label("Tracking number").fill("1Z0000000000000001")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").filter(has_text="Tracking added")).to_be_visible()
    expect(page.get_by_role("heading", name="Ready to ship")).to_be_visible()
    expect(shipping.get_by_role("row").filter(has_text="1Z0000000000000001")).to_contain_text("IPH-13-128-BLK × 1")
    expect(page.locator("#order-status")).to_have_text("Awaiting fulfillment")  # nothing shipped yet

    page.get_by_role("button", name="Mark as shipped").click()
    expect(page.locator("#order-status")).to_have_text("Partially shipped")
    expect(page.get_by_role("status").filter(has_text="Marked as shipped")).to_contain_text(
        f"Still to ship: CASE-13-CLR × 2. {CHANNEL} confirmed the tracking."
    )
    expect(shipping).to_contain_text("1 of 3 items shipped")

    # Second parcel: what is left (the two cases) is filled in.
    shipping.get_by_role("button", name="Add tracking").click()
    expect(page.get_by_label("Quantity of IPH-13-128-BLK in this parcel")).to_have_count(0)
    expect(page.get_by_label("Quantity of CASE-13-CLR in this parcel")).to_have_value("2")
    page.get_by_label("Carrier").select_option(label=CARRIER)
    page.get_by_label("Tracking number").fill("1Z0000000000000002")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Ready to ship")).to_be_visible()
    page.get_by_role("button", name="Mark as shipped").click()
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.get_by_role("status").filter(has_text="Marked as shipped")).to_contain_text(
        f"Everything accepted has shipped. {CHANNEL} confirmed the tracking and that the order shipped."
    )
    expect(page.locator("#shipping-actions")).to_have_count(0)  # nothing left to do
    shipments = page.locator("#shipments")
    expect(shipments.get_by_role("link", name="1Z0000000000000001")).to_have_attribute(
        "href", "https://ups.example/track/1Z0000000000000001"
    )
    expect(shipments.get_by_role("link", name="1Z0000000000000002")).to_be_visible()

    # Back Market has both trackings, each line with its own, under the carrier's shipper code there.
    seen = sandbox(server, "GET", f"orders/{bm_id}")
    assert seen["state"] == 9
    trackings = [
        (line["listing"], line["tracking"]["tracking_number"], line["tracking"]["shipper"]) for line in seen["lines"]
    ]
    assert trackings == [
        ("IPH-13-128-BLK", "1Z0000000000000001", "UPS"),
        ("CASE-13-CLR", "1Z0000000000000002", "UPS"),
    ]


def test_a_parcel_added_by_mistake_is_removed_before_shipping(pages, world, server, backmarket):
    placed = sandbox(
        server,
        "POST",
        "orders",
        {
            "state": 3,
            "shipping_address": {
                "first_name": "Jan",
                "last_name": "Novák",
                "street": "Masarykova 12",
                "postal_code": "60200",
                "city": "Brno",
                "country": "CZ",
            },
            "orderlines": [{"listing": "CASE-13-CLR", "quantity": 1, "price": "19.00"}],
        },
    )
    order = import_from_backmarket(world, backmarket, str(placed["order_id"]))
    page = pages.new("operator")
    page.goto(f"/orders/{order}")
    page.get_by_role("button", name="Add tracking").click()
    page.get_by_label("No tracking needed").check()
    expect(page.get_by_label("Tracking number")).to_be_disabled()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Ready to ship")).to_be_visible()
    page.get_by_role("button", name="Remove parcel without tracking").click()
    expect(page.get_by_role("status").filter(has_text="Tracking removed")).to_contain_text(
        "Nothing had been sent to the channel."
    )
    expect(page.get_by_role("heading", name="Ready to ship")).to_have_count(0)
    expect(page.get_by_role("button", name="Add tracking")).to_be_visible()
    seen = sandbox(server, "GET", f"orders/{placed['order_id']}")
    assert seen["operations"] == {} and seen["state"] == 3


def test_carriers_on_the_settings_page(pages, world, backmarket):
    name = f"Colissimo {order_id('C')}"
    page = pages.new("admin")
    page.goto("/settings")
    carriers = page.locator("#carriers")
    expect(carriers.get_by_role("heading", name="Carriers")).to_be_visible()

    # Bad input: a message per field, and everything typed is still there.
    carriers.get_by_label("Name").fill(name)
    carriers.get_by_label("Tracking link").fill("laposte.fr/suivi")
    carriers.get_by_label("Tracking number format").fill("[0-9A-Z{13}")
    carriers.get_by_label(f"{CHANNEL} shipper", exact=True).fill("Colissimo")
    carriers.get_by_role("button", name="Add carrier").click()
    expect(carriers.get_by_text("Enter a web address starting with https://")).to_be_visible()
    expect(carriers.get_by_text("This is not a valid regular expression")).to_be_visible()
    expect(carriers.get_by_label("Name")).to_have_value(name)
    expect(carriers.get_by_label("Tracking number format")).to_have_value("[0-9A-Z{13}")
    expect(carriers.get_by_label(f"{CHANNEL} shipper", exact=True)).to_have_value("Colissimo")

    carriers.get_by_label("Tracking link").fill("https://laposte.example/suivi/{tracking}")
    carriers.get_by_label("Tracking number format").fill("[0-9A-Z]{13}")
    carriers.get_by_role("button", name="Add carrier").click()
    expect(carriers.get_by_role("status")).to_have_text(f"Carrier {name} added.")
    row = carriers.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text(f"{CHANNEL}: Colissimo")
    expect(row).to_contain_text("[0-9A-Z]{13}")

    # Edit: a new shipper code on Back Market.
    row.get_by_role("link", name=f"Edit carrier {name}").click()
    expect(carriers.get_by_role("heading", name=f"Edit carrier {name}")).to_be_visible()
    carriers.get_by_label(f"{CHANNEL} shipper", exact=True).fill("Colissimo Expert")
    carriers.get_by_role("button", name="Save carrier").click()
    expect(carriers.get_by_role("status")).to_have_text(f"Carrier {name} saved.")
    expect(carriers.get_by_role("row").filter(has_text=name)).to_contain_text(f"{CHANNEL}: Colissimo Expert")

    # An operator sees the list but cannot change it.
    viewer_page = pages.new("operator")
    viewer_page.goto("/settings")
    expect(viewer_page.locator("#carriers").get_by_role("row").filter(has_text=name)).to_be_visible()
    expect(viewer_page.get_by_role("button", name="Add carrier")).to_have_count(0)

    # Delete, after confirming.
    page.once("dialog", lambda dialog: dialog.accept())
    carriers.get_by_role("button", name=f"Delete carrier {name}").click()
    expect(carriers.get_by_role("status")).to_have_text(
        f"Carrier {name} deleted. Shipments that used it keep its name."
    )
    expect(carriers.get_by_role("row").filter(has_text=name)).to_have_count(0)
