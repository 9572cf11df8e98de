"""*Order sent manually* against the supplier sandboxes over HTTP: a reference is looked up and followed,
an unknown one is refused, an unreachable supplier is asked again, and acceptance is never skipped."""

from __future__ import annotations

from functools import partial

import httpx
import pytest

from jobs.connections import supplier_connector, supplier_lookup
from jobs.supplier_dispatch import poll_supplier_orders
from models.core.actors import Actor
from models.core.errors import DomainError, NeedsConfirmation
from models.db.tables import Order, ReviewIssue, Shipment, Supplier, SupplierOrder, SupplierOrderLine, SyncIssue
from models.ports import SupplierAddress, SupplierLine, SupplierOrderRequest
from models.suppliers.manual_orders import link_manual
from tests.conftest import import_one, make_order

MERCHANT = Actor("user", "merchant")
ADDRESS = SupplierAddress("Zoë", "Dvořák", "12 rue de la Paix", "75002", "Paris", "FR", email="zoe@example.com")


async def supplier_row(supplier_id: int) -> dict:
    return await Supplier.select().where(Supplier.id == supplier_id).first()


async def placed_on_the_suppliers_site(supplier_id: int, reference: str, sku: str, http: httpx.AsyncClient) -> str:
    """An order the merchant placed at the supplier by hand (its own API, as its website would)."""
    connector = supplier_connector(await supplier_row(supplier_id), http)
    request = SupplierOrderRequest(reference, ADDRESS, (SupplierLine(sku, 1),), shipping_method="GLS")
    return await connector.create(request)


def lookups(http: httpx.AsyncClient):
    return partial(supplier_lookup, client=http)


async def status_of(order_id: int) -> str:
    return (await Order.select(Order.status).where(Order.id == order_id).first())["status"]


async def open_codes(order_id: int) -> set[str]:
    rows = await ReviewIssue.select(ReviewIssue.code).where(
        (ReviewIssue.order == order_id) & ReviewIssue.resolved_at.is_null()
    )
    return {row["code"] for row in rows}


async def open_connection_issues(order_id: int) -> list[dict]:
    return await SyncIssue.select().where((SyncIssue.order == order_id) & SyncIssue.resolved_at.is_null())


async def ship_at(supplier_id: int, remote_id: str, number: str, http: httpx.AsyncClient) -> None:
    url = (await supplier_row(supplier_id))["base_url"]
    answer = await http.post(
        f"{url}/_control/orders/{remote_id}/ship", json={"carrier": "GLS", "tracking_number": number}
    )
    assert answer.status_code < 300, answer.text


@pytest.mark.parametrize(("kind", "sku"), [("bigbuy", "BB-1001"), ("shipbob", "SB-0007")])
async def test_a_reference_is_looked_up_and_the_order_followed_like_an_id(channel, suppliers, http, kind, sku):
    remote_id = await placed_on_the_suppliers_site(suppliers[kind], "SHOP-1234", sku, http)
    order_id = await import_one(channel, make_order(f"REF-{kind}", lines=[(sku, 1, 1990)], needs_acceptance=False))

    linked = await link_manual(order_id, suppliers[kind], "SHOP-1234", MERCHANT, lookup_for=lookups(http))
    assert linked.confirmed and remote_id in linked.message
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert (row["supplier_order_id"], row["supplier_reference"], row["sent_manually"]) == (remote_id, "SHOP-1234", True)
    assert await status_of(order_id) == "processing"
    lines = await SupplierOrderLine.select().where(SupplierOrderLine.supplier_order == row["id"])
    assert [(line["supplier_sku"], line["quantity"]) for line in lines] == [(sku, 1)]

    await ship_at(suppliers[kind], remote_id, "TRACK123456", http)
    await poll_supplier_orders(http)
    assert await status_of(order_id) == "shipped"
    shipments = await Shipment.select(Shipment.tracking_number).where(Shipment.order == order_id)
    assert [s["tracking_number"] for s in shipments] == ["TRACK123456"]
    assert not await open_connection_issues(order_id)


async def test_the_suppliers_numeric_id_still_works(channel, suppliers, http):
    remote_id = await placed_on_the_suppliers_site(suppliers["bigbuy"], "SHOP-77", "BB-1001", http)
    order_id = await import_one(channel, make_order("ID-1", lines=[("BB-1001", 1, 1990)], needs_acceptance=False))
    await link_manual(order_id, suppliers["bigbuy"], remote_id, MERCHANT, lookup_for=lookups(http))
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert row["supplier_order_id"] == remote_id


async def test_a_reference_the_supplier_does_not_know_is_refused_with_its_words(channel, suppliers, http):
    order_id = await import_one(channel, make_order("UNK-1", lines=[("BB-1001", 1, 1990)], needs_acceptance=False))
    with pytest.raises(DomainError, match=r"BigBuy has no order with reference or id .*NOPE-1.*No order found"):
        await link_manual(order_id, suppliers["bigbuy"], "NOPE-1", MERCHANT, lookup_for=lookups(http))
    assert await status_of(order_id) == "awaiting_fulfillment"
    assert not await SupplierOrder.exists().where(SupplierOrder.order == order_id)


async def test_an_unreachable_supplier_keeps_the_reference_and_it_is_resolved_later(channel, suppliers, bigbuy, http):
    remote_id = await placed_on_the_suppliers_site(suppliers["bigbuy"], "SHOP-55", "BB-1001", http)
    order_id = await import_one(channel, make_order("DOWN-1", lines=[("BB-1001", 1, 1990)], needs_acceptance=False))
    bigbuy.faults.update({"error_rate": 1.0})
    linked = await link_manual(order_id, suppliers["bigbuy"], "SHOP-55", MERCHANT, lookup_for=lookups(http))
    assert not linked.confirmed and "could not be asked" in linked.message
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert (row["supplier_order_id"], row["supplier_reference"]) == ("", "SHOP-55")
    assert await status_of(order_id) == "processing"
    issues = await open_connection_issues(order_id)
    assert [issue["operation"] for issue in issues] == ["order_lookup"]
    assert "SHOP-55" in issues[0]["remote_message"]

    await poll_supplier_orders(http)  # still down: the same issue, not one per attempt
    assert len(await open_connection_issues(order_id)) == 1
    bigbuy.faults.update({"error_rate": 0.0})
    await poll_supplier_orders(http)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert row["supplier_order_id"] == remote_id
    assert not await open_connection_issues(order_id)


async def test_a_reference_unknown_once_the_supplier_answers_goes_to_review(channel, suppliers, bigbuy, http):
    order_id = await import_one(channel, make_order("DOWN-2", lines=[("BB-1001", 1, 1990)], needs_acceptance=False))
    bigbuy.faults.update({"error_rate": 1.0})
    await link_manual(order_id, suppliers["bigbuy"], "TYPO-9", MERCHANT, lookup_for=lookups(http))
    bigbuy.faults.update({"error_rate": 0.0})
    await poll_supplier_orders(http)
    assert await status_of(order_id) == "pending_review"
    assert await open_codes(order_id) == {"supplier_reference_unknown"}
    assert not await open_connection_issues(order_id)
    # Entering the right reference then links it and clears the issue.
    remote_id = await placed_on_the_suppliers_site(suppliers["bigbuy"], "SHOP-9", "BB-1001", http)
    await link_manual(order_id, suppliers["bigbuy"], "SHOP-9", MERCHANT, lookup_for=lookups(http))
    assert await status_of(order_id) == "processing"
    assert not await open_codes(order_id)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert row["supplier_order_id"] == remote_id


async def test_a_reference_typed_before_lookups_existed_is_looked_up_by_the_tracking_job(channel, suppliers, http):
    remote_id = await placed_on_the_suppliers_site(suppliers["bigbuy"], "SHOP-OLD", "BB-1001", http)
    order_id = await import_one(channel, make_order("OLD-1", lines=[("BB-1001", 1, 1990)], needs_acceptance=False))
    # As linked before the supplier was asked: what was typed stored as the id, no reference.
    await link_manual(order_id, suppliers["bigbuy"], "SHOP-OLD", MERCHANT)
    await SupplierOrder.update({SupplierOrder.supplier_reference: ""}).where(SupplierOrder.order == order_id)
    await poll_supplier_orders(http)  # BigBuy has no order with that id: shown, and taken as a reference
    assert [i["operation"] for i in await open_connection_issues(order_id)] == ["order_status"]
    await poll_supplier_orders(http)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert (row["supplier_order_id"], row["supplier_reference"]) == (remote_id, "SHOP-OLD")
    assert not await open_connection_issues(order_id)


async def test_linking_a_supplier_order_another_order_has_asks_first(channel, suppliers, http):
    remote_id = await placed_on_the_suppliers_site(suppliers["bigbuy"], "SHOP-2", "BB-1001", http)
    first = await import_one(channel, make_order("DUP-1", lines=[("BB-1001", 1, 1990)], needs_acceptance=False))
    second = await import_one(channel, make_order("DUP-2", lines=[("BB-1001", 1, 1990)], needs_acceptance=False))
    await link_manual(first, suppliers["bigbuy"], "SHOP-2", MERCHANT, lookup_for=lookups(http))
    with pytest.raises(NeedsConfirmation, match=rf"already linked to order DUP-1 \(#{first}\)"):
        await link_manual(second, suppliers["bigbuy"], remote_id, MERCHANT, lookup_for=lookups(http))
    assert await status_of(second) == "awaiting_fulfillment"
    await link_manual(second, suppliers["bigbuy"], remote_id, MERCHANT, lookup_for=lookups(http), relink=True)
    assert await status_of(second) == "processing"


async def test_sent_manually_is_refused_while_a_line_awaits_acceptance(channel, suppliers, http):
    # A marketplace order without a surname: Pending review, its line still Pending.
    order_id = await import_one(channel, make_order("ACC-1", last_name="", lines=[("BB-1001", 1, 1990)]))
    assert await status_of(order_id) == "pending_review"
    with pytest.raises(DomainError, match="while a line awaits acceptance"):
        await link_manual(order_id, suppliers["bigbuy"], "778899", MERCHANT, lookup_for=lookups(http))
    assert await status_of(order_id) == "pending_review"
    assert await open_codes(order_id) == {"missing_surname"}
    assert not await SupplierOrder.exists().where(SupplierOrder.order == order_id)


async def test_sent_manually_leaves_issues_about_the_orders_own_data_open(channel, suppliers, http):
    remote_id = await placed_on_the_suppliers_site(suppliers["bigbuy"], "SHOP-3", "BB-1001", http)
    order_id = await import_one(
        channel, make_order("DATA-1", last_name="", lines=[("BB-1001", 1, 1990)], needs_acceptance=False)
    )
    assert await open_codes(order_id) == {"missing_surname"}
    await link_manual(order_id, suppliers["bigbuy"], "SHOP-3", MERCHANT, lookup_for=lookups(http))
    # The surname is still missing: the issue stays, and so does the order in Pending review.
    assert await open_codes(order_id) == {"missing_surname"}
    assert await status_of(order_id) == "pending_review"
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert row["supplier_order_id"] == remote_id
