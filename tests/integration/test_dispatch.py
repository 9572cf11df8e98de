"""Dispatch to suppliers over real HTTP: routing, preflight, wallet, duplicates, tracking back to the channel."""

from __future__ import annotations

import pytest

from connectors.sandbox.bigbuy import DEFAULT_API_KEY
from jobs.supplier_dispatch import dispatch_order_now, dispatch_supplier_due, poll_supplier_orders
from models.core.actors import Actor
from models.core.errors import DomainError
from models.db.tables import (
    Order,
    OutboxMessage,
    ReviewIssue,
    Shipment,
    ShippingMapping,
    Supplier,
    SupplierOrder,
)
from models.orders.change import change_order
from models.suppliers.dispatch import change_shipping_method, process_order, resubmit_order
from models.suppliers.manual_orders import link_manual
from tests.conftest import import_one, make_order
from tests.integration.support import add_supplier

MERCHANT = Actor("user", "merchant")


async def accepted_order(channel: dict, order_id: str, **kwargs) -> int:
    kwargs.setdefault("needs_acceptance", False)
    return await import_one(channel, make_order(order_id, **kwargs))


async def status_of(order_id: int) -> str:
    return (await Order.select(Order.status).where(Order.id == order_id).first())["status"]


async def open_codes(order_id: int) -> set[str]:
    rows = await ReviewIssue.select(ReviewIssue.code).where(
        (ReviewIssue.order == order_id) & ReviewIssue.resolved_at.is_null()
    )
    return {row["code"] for row in rows}


async def test_a_two_supplier_order_becomes_two_supplier_orders_each_created_once(
    channel, suppliers, bigbuy, shipbob, http
):
    order_id = await accepted_order(channel, "TWO-1", lines=[("BB-1001", 2, 1990), ("SB-0007", 1, 2990)])
    result = await process_order(order_id, MERCHANT)
    assert sorted(result.queued) == ["BigBuy", "ShipBob"]
    assert await status_of(order_id) == "awaiting_fulfillment"  # nothing pretends it was sent yet
    assert await dispatch_order_now(order_id, http) == 2
    rows = await SupplierOrder.select().where(SupplierOrder.order == order_id).order_by(SupplierOrder.supplier)
    assert [(r["status"], bool(r["supplier_order_id"])) for r in rows] == [("processed", True)] * 2
    assert await status_of(order_id) == "processing"
    assert len(bigbuy.orders) == 1 and len(shipbob.orders) == 1
    # The dispatcher running again changes nothing at either supplier.
    await dispatch_supplier_due(http)
    assert len(bigbuy.orders) == 1 and len(shipbob.orders) == 1


async def test_process_refuses_an_order_at_the_suppliers_already(channel, suppliers, http):
    order_id = await accepted_order(channel, "TWICE-1", lines=[("BB-1001", 1, 1990)])
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    with pytest.raises(DomainError, match="Process is not possible while the order is processing"):
        await process_order(order_id, MERCHANT)


async def test_an_unknown_sku_sends_the_order_to_review_with_the_reason(channel, suppliers):
    order_id = await accepted_order(channel, "UNK-1", lines=[("NOPE-1", 1, 1990)])
    result = await process_order(order_id, MERCHANT)
    assert "Unknown SKU: NOPE-1" in result.message
    assert await status_of(order_id) == "pending_review"
    assert await open_codes(order_id) == {"unknown_sku"}
    assert not await SupplierOrder.exists().where(SupplierOrder.order == order_id)


async def test_wallet_too_low_then_top_up_and_resubmit_sends_it_exactly_once(channel, suppliers, bigbuy, http):
    bigbuy.balance = bigbuy.balance.__class__("12.40")
    order_id = await accepted_order(channel, "WAL-1", lines=[("BB-1001", 3, 1990)])
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    assert await status_of(order_id) == "pending_review"
    issue = await ReviewIssue.select().where(ReviewIssue.order == order_id).first()
    assert issue["code"] == "wallet_insufficient"
    assert issue["message"].startswith("BigBuy: Insufficient wallet balance: 12.40 EUR available,")
    assert not bigbuy.orders
    wallet = await Supplier.select(Supplier.wallet_balance).where(Supplier.id == suppliers["bigbuy"]).first()
    assert wallet["wallet_balance"] == 1240

    await http.post(f"{(await supplier_url(suppliers['bigbuy']))}/_control/wallet/topup", json={"amount": "500.00"})
    result = await resubmit_order(order_id, MERCHANT)
    assert result.queued == ["BigBuy"]
    await dispatch_order_now(order_id, http)
    assert await status_of(order_id) == "processing"
    assert await open_codes(order_id) == set()
    assert len(bigbuy.orders) == 1


async def supplier_url(supplier_id: int) -> str:
    return (await Supplier.select(Supplier.base_url).where(Supplier.id == supplier_id).first())["base_url"]


async def test_a_create_that_timed_out_is_looked_up_not_sent_again(channel, suppliers, bigbuy, http):
    order_id = await accepted_order(channel, "AMB-1", lines=[("BB-1002", 1, 2490)])
    await process_order(order_id, MERCHANT)
    message = await OutboxMessage.select().where(OutboxMessage.order == order_id).first()
    # The order reached BigBuy but the answer was lost: the message is marked ambiguous.
    from connectors.bigbuy import BigBuyConnector
    from models.suppliers.dispatch import internal_reference
    from models.suppliers.outcomes import supplier_order_context, supplier_request

    context = await supplier_order_context(int(__import__("json").loads(message["payload"])["supplier_order"]))
    connector = BigBuyConnector(await supplier_url(suppliers["bigbuy"]), {"api_key": DEFAULT_API_KEY}, http)
    remote_id = await connector.create(supplier_request(context))
    await OutboxMessage.update({OutboxMessage.ambiguous: True}).where(OutboxMessage.id == message["id"])
    await dispatch_order_now(order_id, http)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert row["supplier_order_id"] == remote_id
    assert row["internal_reference"] == internal_reference(order_id, suppliers["bigbuy"])
    assert len(bigbuy.orders) == 1


async def test_an_order_bigbuy_already_has_is_linked_not_duplicated(channel, suppliers, bigbuy, http):
    order_id = await accepted_order(channel, "DUP-1", lines=[("BB-1001", 1, 1990)])
    await process_order(order_id, MERCHANT)
    message = await OutboxMessage.select().where(OutboxMessage.order == order_id).first()
    from connectors.bigbuy import BigBuyConnector
    from models.suppliers.outcomes import supplier_order_context, supplier_request

    context = await supplier_order_context(int(__import__("json").loads(message["payload"])["supplier_order"]))
    connector = BigBuyConnector(await supplier_url(suppliers["bigbuy"]), {"api_key": DEFAULT_API_KEY}, http)
    remote_id = await connector.create(supplier_request(context))  # e.g. sent by a process that then died
    await dispatch_order_now(order_id, http)  # not ambiguous: BigBuy answers ER008
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert (row["status"], row["supplier_order_id"]) == ("processed", remote_id)
    assert len(bigbuy.orders) == 1


async def test_unmapped_shipping_rate_goes_to_review_and_change_shipping_method_fixes_it(
    channel, suppliers, bigbuy, http
):
    order_id = await accepted_order(channel, "RATE-1", lines=[("BB-1001", 1, 1990)])
    await Order.update({Order.shipping_rate: "Express 24h"}).where(Order.id == order_id)
    result = await process_order(order_id, MERCHANT)
    assert "No shipping mapping: the rate “Express 24h”" in result.message
    assert await open_codes(order_id) == {"shipping_unmapped"}
    await change_shipping_method(order_id, suppliers["bigbuy"], "DHL", MERCHANT)
    assert await open_codes(order_id) == set()
    await resubmit_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    assert await status_of(order_id) == "processing"
    (placed,) = bigbuy.orders.values()
    assert "DHL" in str(placed)


async def test_a_shipping_mapping_turns_the_channel_rate_into_the_supplier_method(channel, suppliers, bigbuy, http):
    await ShippingMapping.insert(
        ShippingMapping(channel=channel["id"], channel_rate="Free shipping", supplier=suppliers["bigbuy"], method="GLS")
    )
    order_id = await accepted_order(channel, "MAP-1", lines=[("BB-1001", 1, 1990)])
    await Order.update({Order.shipping_rate: "Free shipping"}).where(Order.id == order_id)
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert row["shipping_method"] == "GLS"
    assert "GLS" in str(next(iter(bigbuy.orders.values())))


async def test_missing_surname_edit_address_and_resubmit(channel, suppliers, bigbuy, http):
    order_id = await accepted_order(channel, "SUR-1", last_name="", lines=[("BB-1001", 1, 1990)])
    assert await open_codes(order_id) == {"missing_surname"}
    result = await resubmit_order(order_id, MERCHANT)
    assert result.problems == ["Missing surname: the delivery address has no last name."]
    async with change_order(order_id, MERCHANT) as change:
        change.set(ship_last_name="Novák")
    result = await resubmit_order(order_id, MERCHANT)
    assert result.queued == ["BigBuy"]
    await dispatch_order_now(order_id, http)
    assert await status_of(order_id) == "processing"
    assert len(bigbuy.orders) == 1


async def test_supplier_tracking_becomes_shipments_and_goes_to_the_channel(channel, suppliers, bigbuy, shipbob, http):
    order_id = await accepted_order(channel, "TRK-1", lines=[("BB-1001", 1, 1990), ("SB-0007", 2, 2990)])
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    rows = {r["supplier"]: r for r in await SupplierOrder.select().where(SupplierOrder.order == order_id)}
    bigbuy_order = rows[suppliers["bigbuy"]]["supplier_order_id"]
    bb = await http.post(
        f"{await supplier_url(suppliers['bigbuy'])}/_control/orders/{bigbuy_order}/ship",
        json={"carrier": "GLS", "tracking_number": "GLS123456"},
    )
    assert bb.status_code < 300, bb.text
    await poll_supplier_orders(http)
    assert await status_of(order_id) == "partially_shipped"
    shipbob_order = rows[suppliers["shipbob"]]["supplier_order_id"]
    sb = await http.post(
        f"{await supplier_url(suppliers['shipbob'])}/_control/orders/{shipbob_order}/ship",
        json={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
    )
    assert sb.status_code < 300, sb.text
    await poll_supplier_orders(http)
    await poll_supplier_orders(http)  # reading again adds nothing
    assert await status_of(order_id) == "shipped"
    shipments = await Shipment.select().where(Shipment.order == order_id).order_by(Shipment.id)
    assert [s["tracking_number"] for s in shipments] == ["GLS123456", "1Z999AA10123456784"]
    tracking = await OutboxMessage.select(OutboxMessage.action).where(
        (OutboxMessage.order == order_id) & (OutboxMessage.target_kind == "channel")
    )
    assert sorted(m["action"] for m in tracking) == ["ship", "tracking", "tracking"]


async def test_the_tracking_job_skips_suppliers_without_connector_and_goes_past_orders_it_cannot_read(
    channel, suppliers, shipbob, http
):
    # An order sent by hand to a supplier Waybill has no connector for: nobody to ask about it.
    manual = await add_supplier("Local workshop", "manual", "", {})
    by_hand = await accepted_order(channel, "POLL-1", lines=[("BB-1001", 1, 1990)])
    await link_manual(by_hand, manual, "WS-77", MERCHANT)
    # An order ShipBob no longer knows (404 on every read).
    lost = await accepted_order(channel, "POLL-2", lines=[("SB-0007", 1, 2990)])
    await link_manual(lost, suppliers["shipbob"], "999999", MERCHANT)
    # And one ShipBob has shipped.
    shipped = await accepted_order(channel, "POLL-3", lines=[("SB-0007", 1, 2990)])
    await process_order(shipped, MERCHANT)
    await dispatch_order_now(shipped, http)
    row = await SupplierOrder.select().where(SupplierOrder.order == shipped).first()
    url = await supplier_url(suppliers["shipbob"])
    answer = await http.post(
        f"{url}/_control/orders/{row['supplier_order_id']}/ship", json={"carrier": "UPS", "tracking_number": "1Z5"}
    )
    assert answer.status_code < 300, answer.text

    assert await poll_supplier_orders(http) == 2  # the lost order and the shipped one; not the manual one
    assert await status_of(shipped) == "shipped"
    # With room for one order per run, the one that cannot be read does not take every turn.
    followed = await SupplierOrder.select(SupplierOrder.order).where(SupplierOrder.status == "processed")
    assert {r["order"] for r in followed} == {by_hand, lost}
    second = await accepted_order(channel, "POLL-4", lines=[("SB-0007", 1, 2990)])
    await process_order(second, MERCHANT)
    await dispatch_order_now(second, http)
    row = await SupplierOrder.select().where(SupplierOrder.order == second).first()
    await http.post(
        f"{url}/_control/orders/{row['supplier_order_id']}/ship", json={"carrier": "UPS", "tracking_number": "1Z6"}
    )
    for _ in range(2):
        await poll_supplier_orders(http, limit=1)
    assert await status_of(second) == "shipped"


async def test_order_sent_manually_links_it_and_nothing_is_created_at_the_supplier(channel, suppliers, bigbuy, http):
    order_id = await accepted_order(channel, "MAN-1", lines=[("BB-1001", 1, 1990)])
    await link_manual(order_id, suppliers["bigbuy"], "778899", MERCHANT)
    assert await status_of(order_id) == "processing"
    with pytest.raises(DomainError, match="already sent to BigBuy"):
        await link_manual(order_id, suppliers["bigbuy"], "778900", MERCHANT)
    await dispatch_supplier_due(http)
    assert not bigbuy.orders


async def test_address_on_hold_at_shipbob_opens_review_and_resolves_when_released(channel, suppliers, shipbob, http):
    order_id = await accepted_order(channel, "HOLD-1", lines=[("SB-0007", 1, 2990)])
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    url = await supplier_url(suppliers["shipbob"])
    hold = await http.post(f"{url}/_control/orders/{row['supplier_order_id']}/hold", json={"reason": "InvalidAddress"})
    assert hold.status_code < 300, hold.text
    await poll_supplier_orders(http)
    assert await status_of(order_id) == "pending_review"
    assert await open_codes(order_id) == {"supplier_on_hold"}


async def test_resubmit_sends_the_address_again_to_shipbob_which_releases_the_hold(channel, suppliers, shipbob, http):
    order_id = await accepted_order(channel, "HOLD-2", lines=[("SB-0007", 1, 2990)])
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    url = await supplier_url(suppliers["shipbob"])
    await http.post(f"{url}/_control/orders/{row['supplier_order_id']}/hold", json={"reason": "InvalidAddress"})
    await poll_supplier_orders(http)
    assert await open_codes(order_id) == {"supplier_on_hold"}

    result = await resubmit_order(order_id, MERCHANT)
    assert result.readdressed == ["ShipBob"] and result.sends
    await dispatch_order_now(order_id, http)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert row["status"] == "processed"
    assert await status_of(order_id) == "processing"
    assert await open_codes(order_id) == set()
    assert len(shipbob.orders) == 1


async def test_an_order_still_on_hold_after_a_resubmit_gets_its_review_issue_back(channel, suppliers, http):
    order_id = await accepted_order(channel, "HOLD-3", lines=[("SB-0007", 1, 2990)])
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    url = await supplier_url(suppliers["shipbob"])
    await http.post(f"{url}/_control/orders/{row['supplier_order_id']}/hold", json={"reason": "InvalidAddress"})
    await poll_supplier_orders(http)
    async with change_order(order_id, MERCHANT) as change:  # resolved by hand, the hold not fixed
        await change.resolve_issues({"supplier_on_hold"})
    assert await status_of(order_id) == "processing"
    await poll_supplier_orders(http)
    assert await open_codes(order_id) == {"supplier_on_hold"}
    assert await status_of(order_id) == "pending_review"


async def test_resubmitting_an_order_still_to_be_accepted_sends_it_back_to_acceptance(channel, suppliers, bigbuy):
    order_id = await import_one(channel, make_order("ACC-1", last_name="", lines=[("BB-1001", 1, 1990)]))
    assert await status_of(order_id) == "pending_review"
    async with change_order(order_id, MERCHANT) as change:
        change.set(ship_last_name="Novák")
    result = await resubmit_order(order_id, MERCHANT)
    assert result.message == "The order is complete now and awaits acceptance."
    assert await status_of(order_id) == "awaiting_acceptance"
    assert not bigbuy.orders
