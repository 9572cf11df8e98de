"""Catalog import from CSV and routing of order lines to suppliers."""

from __future__ import annotations

from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import CatalogItem, OrderLine, ShippingMapping, Supplier
from models.orders.acceptance import accept_order
from models.stock.catalog import import_catalog_csv
from models.suppliers.routing import plan_routes, shipping_method
from tests.conftest import import_one, make_order


async def make_suppliers() -> dict[str, int]:
    for name in ("BigBuy", "ShipBob"):
        await Supplier.insert(Supplier(name=name, kind="demo", created_at=now()))
    return {row["name"]: row["id"] for row in await Supplier.select(Supplier.id, Supplier.name)}


async def test_csv_import_stores_good_rows_and_explains_bad_ones(database_url):
    suppliers = await make_suppliers()
    progress: list[tuple[int, int]] = []

    async def report(done: int, total: int) -> None:
        progress.append((done, total))

    text = (
        "\ufeffchannel_sku,supplier,supplier_sku,cost,currency,priority\n"
        "SKU-1,BigBuy,BB-1,12.30,EUR,10\n"
        "SKU-1,ShipBob,SB-1,11.00,EUR,20\n"
        ",BigBuy,BB-2,1.00,EUR,\n"
        "SKU-3,Nobody,X-3,1.00,EUR,\n"
        "SKU-4,BigBuy,BB-4,12;30,EUR,\n"
        f"SKU-5,{suppliers['ShipBob']},SB-5,,,\n"
    )
    result = await import_catalog_csv(text, report)
    assert (result.total, result.created, result.updated) == (6, 3, 0)
    assert [(e.line, e.message) for e in result.errors] == [
        (4, "The channel SKU is empty."),
        (5, "No supplier is called “Nobody”."),
        (6, "Cost “12;30” is not an amount (write it like 12.30)."),
    ]
    assert progress[-1] == (3, 3)
    item = await CatalogItem.select().where(CatalogItem.supplier_sku == "BB-1").first()
    assert item["cost"] == 1230 and item["priority"] == 10

    again = await import_catalog_csv("channel_sku,supplier,supplier_sku,cost\nSKU-1,BigBuy,BB-1b,13.00\n")
    assert (again.created, again.updated) == (0, 1)
    assert await CatalogItem.count() == 3


async def test_csv_without_the_required_columns_is_refused_whole(database_url):
    result = await import_catalog_csv("sku,vendor\nA,B\n")
    assert result.created == 0
    assert "missing: channel_sku, supplier, supplier_sku" in result.errors[0].message


async def test_lines_are_split_by_supplier_and_unknown_skus_reported(database_url, channel):
    suppliers = await make_suppliers()
    await import_catalog_csv(
        "channel_sku,supplier,supplier_sku,priority\n"
        "SKU-A,BigBuy,BB-A,20\nSKU-A,ShipBob,SB-A,10\nSKU-B,BigBuy,BB-B,10\n"
    )
    order_id = await import_one(
        channel, make_order("R-1", lines=[("SKU-A", 2, 100), ("SKU-B", 1, 100), ("SKU-Z", 1, 1)])
    )
    await accept_order(order_id, Actor.user("tester"))
    lines = await OrderLine.select().where(OrderLine.order == order_id)
    plan = await plan_routes(lines)
    assert plan.unknown_skus == ["SKU-Z"]
    assert not plan.complete
    assert {s: [(r.channel_sku, r.supplier_sku, r.quantity) for r in rs] for s, rs in plan.routes.items()} == {
        suppliers["ShipBob"]: [("SKU-A", "SB-A", 2)],  # the lower priority number wins
        suppliers["BigBuy"]: [("SKU-B", "BB-B", 1)],
    }


async def test_pending_or_rejected_lines_are_not_routed(database_url, channel):
    await make_suppliers()
    await import_catalog_csv("channel_sku,supplier,supplier_sku\nSKU-1,BigBuy,BB-1\nSKU-2,BigBuy,BB-2\n")
    order_id = await import_one(channel, make_order("R-2"))
    lines = await OrderLine.select().where(OrderLine.order == order_id)
    assert (await plan_routes(lines)).routes == {}


async def test_shipping_mapping_translates_the_channel_rate(database_url, channel):
    suppliers = await make_suppliers()
    await ShippingMapping.insert(
        ShippingMapping(
            channel=channel["id"], channel_rate="Free shipping", supplier=suppliers["BigBuy"], method="UPS Ground"
        )
    )
    assert await shipping_method(channel["id"], "Free shipping", suppliers["BigBuy"]) == "UPS Ground"
    assert await shipping_method(channel["id"], "Express", suppliers["BigBuy"]) is None
    assert await shipping_method(channel["id"], "Free shipping", suppliers["ShipBob"]) is None
