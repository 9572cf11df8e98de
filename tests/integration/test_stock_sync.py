"""Stock sync over real HTTP: supplier stock read from the BigBuy and ShipBob sandboxes, offers pushed to
the Mirakl, Back Market and MALL sandboxes by each channel's rules, failures as connection issues."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from connectors.sandbox import backmarket, bigbuy, mall, mirakl, shipbob
from connectors.sandbox.common import Sandbox
from jobs.dispatcher import dispatch_due
from jobs.stock_jobs import push_now, sync_stock
from models.accounts import credentials
from models.core.app_settings import merchant_timezone
from models.core.clock import now
from models.db.tables import CatalogItem, Channel, ChannelOffer, OutboxMessage, StockEvent, Supplier, SyncIssue
from models.stock.sync import plan_offers
from tests.conftest import csrf_from, import_one, login, make_order
from tests.integration.support import add_supplier
from tests.integration.test_inventory_page import text_of

SKUS = ("BB-1001", "BB-1002", "SB-0007")


@pytest.fixture
def sandboxes() -> dict[str, Sandbox]:
    boxes = {
        "bigbuy": bigbuy.BigBuySandbox(seed=5, wallet="500.00"),
        "shipbob": shipbob.ShipBobSandbox(seed=5),
        "mirakl": mirakl.MiraklSandbox(seed=5),
        "backmarket": backmarket.BackMarketSandbox(seed=5),
        "mall": mall.MallSandbox(seed=5),
    }
    for name in ("mirakl", "backmarket", "mall"):
        for sku in SKUS:
            boxes[name].offers.put(sku, 1)
    boxes["bigbuy"].catalog["BB-1001"].stock = 30
    boxes["bigbuy"].catalog["BB-1002"].stock = 8
    boxes["shipbob"].set_inventory({"SB-0007": 12})
    return boxes


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
async def world(database_url, sandboxes, serve_sandbox: Callable[[Sandbox], str]) -> dict[str, int]:
    urls = {name: serve_sandbox(box) for name, box in sandboxes.items()}
    ids = {
        "bigbuy": await add_supplier("BigBuy", "bigbuy", urls["bigbuy"], {"api_key": bigbuy.DEFAULT_API_KEY}, True),
        "shipbob": await add_supplier(
            "ShipBob", "shipbob", urls["shipbob"], {"token": shipbob.DEFAULT_TOKEN, "channel_id": "1"}
        ),
    }
    for sku, supplier in [("BB-1001", "bigbuy"), ("BB-1002", "bigbuy"), ("SB-0007", "shipbob")]:
        await CatalogItem.insert(
            CatalogItem(channel_sku=sku, supplier=ids[supplier], supplier_sku=sku, updated_at=now())
        )
    secrets = {
        "mirakl": {"api_key": mirakl.DEFAULT_API_KEY},
        "backmarket": {"token": backmarket.DEFAULT_TOKEN},
        "mall": {"client_id": mall.DEFAULT_CLIENT_ID},
    }
    for kind, secret in secrets.items():
        rows = await Channel.insert(
            Channel(
                name=f"Shop {kind}",
                kind=kind,
                base_url=urls[kind],
                credentials=credentials.encrypt(secret),
                stock_sync=True,
                created_at=now(),
            )
        ).returning(Channel.id)
        ids[kind] = rows[0]["id"]
    return ids


def quantities(box: Sandbox) -> dict[str, int]:
    return {sku: offer.quantity for sku, offer in box.offers.offers.items()}


async def drain(http: httpx.AsyncClient) -> None:
    while await dispatch_due(http):
        pass


async def test_supplier_stock_reaches_every_channel_and_only_changes_are_sent_again(world, sandboxes, http):
    result = await sync_stock(http)
    assert result.failed == [] and sorted(result.pulled) == ["BigBuy", "ShipBob"]
    await drain(http)
    expected = {"BB-1001": 30, "BB-1002": 8, "SB-0007": 12}
    for name in ("mirakl", "backmarket", "mall"):
        assert quantities(sandboxes[name]) == expected
    states = {r["state"] for r in await ChannelOffer.select(ChannelOffer.state)}
    assert states == {"ok"}

    sandboxes["bigbuy"].catalog["BB-1002"].stock = 0
    again = await sync_stock(http)
    assert again.plan.changed == 3  # one SKU on three channels
    await drain(http)
    for name in ("mirakl", "backmarket", "mall"):
        assert quantities(sandboxes[name])["BB-1002"] == 0
        assert sandboxes[name].offers.offers["BB-1001"].updates == 1  # unchanged: never sent again
    history = await StockEvent.select(StockEvent.kind).where(StockEvent.sku == "BB-1002")
    assert {"offer", "pushed"} <= {e["kind"] for e in history}


async def test_rules_buffer_cap_and_a_supplier_that_cannot_take_orders(world, sandboxes, http):
    await Channel.update({Channel.stock_buffer: 2, Channel.stock_cap: 10}).where(Channel.id == world["mirakl"])
    await Supplier.update({Supplier.stock_min_wallet: 100_000}).where(Supplier.id == world["bigbuy"])  # 1,000 EUR
    await sync_stock(http)
    await drain(http)
    assert quantities(sandboxes["mirakl"]) == {"BB-1001": 0, "BB-1002": 0, "SB-0007": 10}
    assert quantities(sandboxes["mall"]) == {"BB-1001": 0, "BB-1002": 0, "SB-0007": 12}
    first = await StockEvent.select(StockEvent.message).where(
        (StockEvent.sku == "BB-1001") & (StockEvent.channel == world["mirakl"]) & (StockEvent.kind == "offer")
    )
    assert first == [{"message": "Shop mirakl: first offer 0 (supplier stock 0, reserved 0)"}]


async def test_an_imported_order_reserves_stock_for_the_next_push(world, sandboxes, http):
    await sync_stock(http)
    await drain(http)
    channel = await Channel.select().where(Channel.id == world["mall"]).first()
    await import_one(channel, make_order("RES-1", lines=[("BB-1002", 3, 1990)]))
    await plan_offers(skus=["BB-1002"])  # what the importer does after each batch
    offer = (
        await ChannelOffer.select()
        .where((ChannelOffer.sku == "BB-1002") & (ChannelOffer.channel == world["mirakl"]))
        .first()
    )
    assert (offer["quantity"], offer["state"]) == (5, "queued")
    await drain(http)
    assert quantities(sandboxes["backmarket"])["BB-1002"] == 5


async def test_unknown_skus_are_reported_once_and_not_retried(world, sandboxes, http):
    del sandboxes["mall"].offers.offers["SB-0007"]
    await sync_stock(http)
    await drain(http)
    offer = (
        await ChannelOffer.select()
        .where((ChannelOffer.sku == "SB-0007") & (ChannelOffer.channel == world["mall"]))
        .first()
    )
    assert offer["state"] == "unknown" and "SB-0007" in offer["message"]
    issue = await SyncIssue.select().where(SyncIssue.integration_id == world["mall"]).first()
    assert issue["operation"] == "stock_update" and "SB-0007" in issue["remote_message"]
    await sync_stock(http)  # nothing changed: not sent again
    assert await OutboxMessage.count().where(OutboxMessage.state == "pending") == 0


async def test_retry_on_an_unknown_sku_issue_pushes_the_offer_again_and_resolves_it_once_known(
    client, users, world, sandboxes, http
):
    """The app first: it sets the key the world's credentials are encrypted with."""
    del sandboxes["mall"].offers.offers["SB-0007"]
    await sync_stock(http)
    await drain(http)
    (issue,) = await SyncIssue.select().where(SyncIssue.integration_id == world["mall"])
    await login(client, "operator")
    page = await client.get("/connection-issues")
    assert f"/connection-issues/{issue['id']}/retry" in page.text
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_from(page.text)}

    # Not created on MALL yet: pushed again, and the same issue stays open with MALL's fresh answer.
    retried = await client.post(f"/connection-issues/{issue['id']}/retry", headers=headers)
    assert retried.status_code == 200, retried.text
    assert "Still failing" in retried.text and "SB-0007" in retried.text
    issues = await SyncIssue.select().where(SyncIssue.integration_id == world["mall"])
    assert [(i["id"], i["resolved_at"]) for i in issues] == [(issue["id"], None)]
    tries = await StockEvent.count().where((StockEvent.kind == "unknown_sku") & (StockEvent.channel == world["mall"]))
    assert tries == 2

    # The merchant created the offer on MALL: Retry pushes the quantity and resolves the issue.
    sandboxes["mall"].offers.put("SB-0007", 1)
    retried = await client.post(f"/connection-issues/{issue['id']}/retry", headers=headers)
    assert "Retry succeeded" in retried.text
    assert quantities(sandboxes["mall"])["SB-0007"] == 12
    issue = await SyncIssue.select().where(SyncIssue.id == issue["id"]).first()
    assert issue["resolved_at"] is not None and issue["retry_succeeded"]
    offer = (
        await ChannelOffer.select()
        .where((ChannelOffer.sku == "SB-0007") & (ChannelOffer.channel == world["mall"]))
        .first()
    )
    assert (offer["state"], offer["message"]) == ("ok", "")
    for name in ("mirakl", "backmarket"):  # only the channel of the issue was pushed to again
        assert sandboxes[name].offers.offers["SB-0007"].updates == 1


async def test_faults_become_stock_update_issues_that_clear_after_retry(world, sandboxes, http):
    sandboxes["backmarket"].faults.update({"error_rate": 1.0})
    await sync_stock(http)
    await drain(http)
    issue = await SyncIssue.select().where(SyncIssue.integration_id == world["backmarket"]).first()
    assert issue["operation"] == "stock_update" and issue["resolved_at"] is None
    assert "Back Market failed (500)" in issue["remote_message"] or "500" in issue["remote_message"]
    failing = await ChannelOffer.select().where(ChannelOffer.channel == world["backmarket"])
    assert all(o["state"] == "queued" and o["message"] for o in failing)

    sandboxes["backmarket"].faults.update({"error_rate": 0.0})
    await OutboxMessage.update({OutboxMessage.next_attempt_at: now()}).where(OutboxMessage.state == "pending")
    await drain(http)
    issue = await SyncIssue.select().where(SyncIssue.id == issue["id"]).first()
    assert issue["resolved_at"] is not None and issue["retry_succeeded"]
    assert quantities(sandboxes["backmarket"]) == {"BB-1001": 30, "BB-1002": 8, "SB-0007": 12}


async def test_push_now_sends_even_unchanged_offers_at_once(world, sandboxes, http):
    await sync_stock(http)
    await drain(http)
    sandboxes["mirakl"].offers.offers["BB-1001"].quantity = 99  # changed by hand on the marketplace
    await push_now(["BB-1001"], http)
    assert quantities(sandboxes["mirakl"])["BB-1001"] == 30


async def test_a_new_skus_first_offers_and_pushes_are_in_its_history(client, users, world, sandboxes, http):
    """A first offer is a change (from nothing offered, 0) and its first push is a push: both are in the
    SKU's history after one *Sync stock now*. The app fixture first: it sets the credentials' key."""
    await Channel.update({Channel.stock_cap: 10}).where(Channel.id == world["mirakl"])
    await sync_stock(http, deliver=True)

    # A SKU new to the catalogue: 12 at ShipBob, offered 0 on each marketplace until Waybill pushes it.
    sandboxes["shipbob"].set_inventory({"SB-0042": 12})
    for name in ("mirakl", "backmarket", "mall"):
        sandboxes[name].offers.put("SB-0042", 0)
    await CatalogItem.insert(
        CatalogItem(channel_sku="SB-0042", supplier=world["shipbob"], supplier_sku="SB-0042", updated_at=now())
    )
    result = await sync_stock(http, deliver=True)  # Sync stock now
    assert result.plan.changed == 3
    assert [quantities(sandboxes[n])["SB-0042"] for n in ("mirakl", "backmarket", "mall")] == [10, 12, 12]

    history = await StockEvent.select().where(StockEvent.sku == "SB-0042").order_by(StockEvent.id)
    lines = {(e["channel"], e["kind"], e["message"]) for e in history}
    for kind, units in (("mirakl", 10), ("backmarket", 12), ("mall", 12)):
        assert (world[kind], "offer", f"Shop {kind}: first offer 0 → {units} (supplier stock 12, reserved 0)") in lines
        assert (world[kind], "pushed", f"Shop {kind} now offers {units}") in lines
    assert len(history) == 6

    await login(client, "viewer")
    page = (await client.get("/inventory/sku?sku=SB-0042")).text
    assert "Nothing has changed for this SKU yet" not in page
    assert "Shop mirakl: first offer 0 → 10 (supplier stock 12, reserved 0)" in page
    assert "Shop mall now offers 12" in page

    # The list tells when each SKU's stock was last read, in the merchant's time zone.
    read = await Supplier.select(Supplier.stock_read_at).where(Supplier.id == world["shipbob"]).first()
    local = read["stock_read_at"].astimezone(await merchant_timezone())
    listed = (await client.get("/inventory?q=SB-0042")).text
    assert f'datetime="{local.isoformat(timespec="minutes")}"' in listed
    # Today's read by its time (with its date just after midnight); the offers in channel name order.
    assert re.search(rf"SB-0042 12 read (\d\d \w{{3}}, )?{local:%H:%M} 0 12 12 12 10", text_of(listed))
