"""The Inventory page over HTTP: the per-SKU view, search, filters, a SKU's page, stock rules and roles."""

from __future__ import annotations

import html
import re

import httpx

from models.core.clock import now
from models.db.tables import CatalogItem, Channel, ChannelOffer, Supplier, SupplierStock
from tests.conftest import csrf_from, import_one, login, make_order


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


async def stocked_world(channel: dict) -> dict[str, int]:
    """Two SKUs from one prepaid supplier, one sold out; the test channel syncs stock to its offers."""
    rows = await Supplier.insert(
        Supplier(name="Dropship", kind="bigbuy", prepaid=True, wallet_balance=10_000, created_at=now())
    ).returning(Supplier.id)
    supplier = rows[0]["id"]
    for sku, quantity in (("MUG-1", 9), ("PEN-2", 0)):
        await CatalogItem.insert(CatalogItem(channel_sku=sku, supplier=supplier, supplier_sku=sku, updated_at=now()))
        await SupplierStock.insert(
            SupplierStock(supplier=supplier, supplier_sku=sku, quantity=quantity, changed_at=now())
        )
    await Channel.update({Channel.stock_sync: True, Channel.stock_buffer: 1}).where(Channel.id == channel["id"])
    from models.stock.sync import plan_offers

    await plan_offers()
    return {"supplier": supplier}


async def headers(client: httpx.AsyncClient, path: str = "/inventory") -> dict[str, str]:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return {"HX-Request": "true", "X-CSRFToken": csrf_from(page.text)}


async def test_the_page_shows_stock_reserved_available_and_offers(client, users, channel):
    await stocked_world(channel)
    await import_one(channel, make_order("INV-1", lines=[("MUG-1", 2, 990)]))
    await login(client, "viewer")
    page = text_of((await client.get("/inventory")).text)
    # supplier stock 9, reserved 2, available 7; offered after the buffer of 1 (planned before the order)
    assert "MUG-1 9 2 7 8" in page
    assert "PEN-2 0 0 Out of stock 0" in page
    assert "Sync stock now" not in page and "Push now" not in page  # viewers change nothing


async def test_search_and_filters(client, users, channel):
    await stocked_world(channel)
    await login(client, "viewer")
    assert "PEN-2" not in text_of((await client.get("/inventory?q=mug")).text).split("Stock rules")[0]
    out = text_of((await client.get("/inventory?show=out")).text).split("Stock rules")[0]
    assert "PEN-2" in out and "MUG-1" not in out
    await ChannelOffer.update({ChannelOffer.state: "unknown", ChannelOffer.message: "No such offer"}).where(
        ChannelOffer.sku == "MUG-1"
    )
    failing = text_of((await client.get("/inventory?show=failing")).text).split("Stock rules")[0]
    assert "MUG-1" in failing and "unknown SKU" in failing and "PEN-2" not in failing


async def test_a_sku_page_explains_a_supplier_that_cannot_take_orders(client, users, channel):
    world = await stocked_world(channel)
    await Supplier.update({Supplier.stock_min_wallet: 50_000}).where(Supplier.id == world["supplier"])
    await login(client, "viewer")
    page = text_of((await client.get("/inventory/sku?sku=MUG-1")).text)
    assert "below the minimum €500.00, so its stock counts as 0" in page
    assert (await client.get("/inventory/sku?sku=NOPE")).status_code == 404


async def test_admins_set_rules_and_refused_input_changes_nothing(client, users, channel):
    world = await stocked_world(channel)
    await login(client, "admin")
    hx = await headers(client)
    refused = await client.post(
        f"/inventory/rules/channels/{channel['id']}", data={"stock_sync": "on", "buffer": "-3", "cap": ""}, headers=hx
    )
    assert refused.status_code == 400 and "Safety buffer: “-3” is not a whole number" in text_of(refused.text)
    saved = await client.post(
        f"/inventory/rules/channels/{channel['id']}", data={"stock_sync": "on", "buffer": "2", "cap": "5"}, headers=hx
    )
    assert saved.status_code == 200 and "Stock rules saved" in saved.text
    row = await Channel.select(Channel.stock_buffer, Channel.stock_cap).where(Channel.id == channel["id"]).first()
    assert row == {"stock_buffer": 2, "stock_cap": 5}
    await client.post(f"/inventory/rules/suppliers/{world['supplier']}", data={"minimum": "49.90"}, headers=hx)
    supplier = await Supplier.select(Supplier.stock_min_wallet).where(Supplier.id == world["supplier"]).first()
    assert supplier["stock_min_wallet"] == 4990


async def test_operators_cannot_change_rules(client, users, channel):
    await stocked_world(channel)
    await login(client, "operator")
    hx = await headers(client)
    answer = await client.post(f"/inventory/rules/channels/{channel['id']}", data={"buffer": "1"}, headers=hx)
    assert answer.status_code == 403
