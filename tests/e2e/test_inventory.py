"""Stock sync in Chromium: supplier stock drops to 0 and the channel sandbox's offer follows; a failing
channel shows as a `stock_update` connection issue that clears on Retry."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from models.accounts import credentials
from models.core.app_settings import merchant_timezone
from models.core.clock import now
from models.db.tables import CatalogItem, Channel, Supplier, SyncIssue
from tests.e2e.conftest import SERVER_SECRET, World

pytestmark = pytest.mark.e2e

SKU = "E2E-STOCK-7731"
CHANNEL = "Quantum Mirakl E2E"
SUPPLIER = "Quantum BigBuy E2E"


def control(server: str, system: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{server}/sandbox/{system}/_control/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def offered(server: str) -> int:
    return control(server, "mirakl", "GET", f"offers/{SKU}")["quantity"]


def stock_read_at(world: World, ids: dict) -> dt.datetime:
    """When the supplier's stock was last read, in the merchant's time zone."""

    async def work() -> dt.datetime:
        row = await Supplier.select(Supplier.stock_read_at).where(Supplier.id == ids["supplier"]).first()
        return row["stock_read_at"].astimezone(await merchant_timezone())

    return world.run(work)


@pytest.fixture(scope="module")
def stock_world(world, server) -> dict:
    """A BigBuy supplier carrying the SKU and a Mirakl channel syncing stock, both on the server's sandboxes."""
    from connectors.sandbox.bigbuy import DEFAULT_API_KEY as BIGBUY_KEY
    from connectors.sandbox.mirakl import DEFAULT_API_KEY as MIRAKL_KEY

    async def work() -> dict:
        credentials.configure(SERVER_SECRET)
        rows = await Supplier.insert(
            Supplier(
                name=SUPPLIER,
                kind="bigbuy",
                base_url=f"{server}/sandbox/bigbuy",
                credentials=credentials.encrypt({"api_key": BIGBUY_KEY}),
                prepaid=True,
                created_at=now(),
            )
        ).returning(Supplier.id)
        await CatalogItem.insert(
            CatalogItem(channel_sku=SKU, supplier=rows[0]["id"], supplier_sku=SKU, updated_at=now())
        )
        channel = await Channel.insert(
            Channel(
                name=CHANNEL,
                kind="mirakl",
                base_url=f"{server}/sandbox/mirakl",
                credentials=credentials.encrypt({"api_key": MIRAKL_KEY}),
                stock_sync=True,
                created_at=now(),
            )
        ).returning(Channel.id)
        skus = [r["channel_sku"] for r in await CatalogItem.select(CatalogItem.channel_sku)]
        return {"channel": channel[0]["id"], "supplier": rows[0]["id"], "skus": skus}

    ids = world.run(work)
    # The marketplace holds an offer for every SKU of the catalog, so no SKU is unknown to it.
    control(server, "mirakl", "POST", "offers", {"offers": [{"sku": s, "quantity": 0} for s in ids["skus"]]})
    control(
        server, "bigbuy", "POST", "catalog", {"products": [{"sku": SKU, "stock": 7, "price": "4.00", "name": "Mug"}]}
    )
    yield ids

    async def stop() -> None:  # the shared server keeps running: leave no channel syncing behind
        await Channel.update({Channel.stock_sync: False}).where(Channel.id == ids["channel"])
        await SyncIssue.update({SyncIssue.resolved_at: now()}).where(
            (SyncIssue.integration_kind == "channel") & (SyncIssue.integration_id == ids["channel"])
        )

    world.run(stop)


def test_supplier_stock_to_zero_reaches_the_channel_offer(pages, server, world, stock_world):
    page = pages.new("operator")
    page.goto(f"{server}/inventory?q={SKU}")
    with page.expect_response("**/inventory/sync"):
        page.get_by_role("button", name="Sync stock now").click()
    expect(page.locator("#flash")).to_contain_text("pushes queued")
    assert offered(server) == 7

    # The list says when the SKU's stock was read, in the merchant's time zone.
    page.reload()
    read = stock_read_at(world, stock_world)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=SKU, exact=True))
    expect(row.locator("td").nth(1)).to_contain_text(re.compile(rf"read (\d\d \w{{3}}, )?{read:%H:%M}"))
    expect(row.locator("time")).to_have_attribute("datetime", read.isoformat(timespec="minutes"))

    # A SKU new to the catalogue: its first offer and first push are already in its history.
    row.get_by_role("link", name=SKU, exact=True).click()
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text(f"{CHANNEL}: first offer 0 → 7 (supplier stock 7, reserved 0)")
    expect(history).to_contain_text(f"{CHANNEL} now offers 7")
    expect(history).not_to_contain_text("Nothing has changed")
    page.goto(f"{server}/inventory?q={SKU}")

    control(server, "bigbuy", "POST", "catalog", {"products": [{"sku": SKU, "stock": 0}]})
    with page.expect_response("**/inventory/sync"):
        page.get_by_role("button", name="Sync stock now").click()
    expect(page.locator("#flash")).to_contain_text(re.compile(r"[1-9]\d* of \d+ offers changed"))
    assert offered(server) == 0

    page.get_by_role("link", name="Out of stock").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=SKU, exact=True))
    expect(row).to_contain_text("Out of stock")
    expect(row.locator(f'td[data-channel="{CHANNEL}"]')).to_contain_text("0")

    row.get_by_role("link", name=SKU, exact=True).click()
    expect(page.get_by_role("heading", name=SKU)).to_be_visible()
    expect(page.get_by_label("Supplier stock")).to_have_text("0")
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text(f"{CHANNEL}: offer 7 → 0")
    expect(history).to_contain_text(f"{CHANNEL} now offers 0")

    # Someone changed the offer on the marketplace by hand: Push now puts Waybill's quantity back at once.
    control(server, "mirakl", "POST", "offers", {"offers": [{"sku": SKU, "quantity": 3}]})
    offers = page.get_by_role("region", name="Offers")
    offers.get_by_role("button", name="Push now").click()
    expect(offers).to_contain_text("Sent to 1 channel(s)")
    assert offered(server) == 0


def test_a_failing_push_is_a_connection_issue_that_clears_on_retry(pages, server, stock_world):
    page = pages.new("operator")
    control(server, "mirakl", "POST", "faults", {"error_rate": 1.0})
    try:
        control(server, "bigbuy", "POST", "catalog", {"products": [{"sku": SKU, "stock": 5}]})
        page.goto(f"{server}/inventory?q={SKU}")
        with page.expect_response("**/inventory/sync"):
            page.get_by_role("button", name="Sync stock now").click()
        page.goto(f"{server}/inventory/sku?sku={SKU}")
        expect(page.get_by_role("region", name="Offers")).to_contain_text("Push failing: Mirakl failed")
        page.goto(f"{server}/inventory?show=failing")
        expect(page.get_by_role("link", name=SKU, exact=True)).to_be_visible()
    finally:
        control(server, "mirakl", "POST", "faults", {"error_rate": 0.0})

    page.goto(f"{server}/connection-issues")
    group = page.get_by_role("region", name=CHANNEL)
    issue = group.get_by_role("row").filter(has_text="stock_update")
    expect(issue).to_contain_text("Mirakl failed")
    issue.get_by_role("button", name="Retry").click()
    expect(group.get_by_role("row").filter(has_text="stock_update")).to_contain_text("Retry succeeded")
    assert offered(server) == 5
