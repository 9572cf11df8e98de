"""Cancelling an order at its suppliers, over real HTTP against the BigBuy and ShipBob sandboxes:
what each can do, what happens when the supplier cannot or will not, and orders caught mid-send."""

from __future__ import annotations

import httpx

from jobs.connections import supplier_connector
from jobs.supplier_dispatch import dispatch_order_now, dispatch_supplier_due, poll_supplier_orders
from models.core.actors import Actor
from models.db.tables import OutboxMessage, ReviewIssue, Supplier, SupplierOrder, SyncIssue
from models.orders.closing import cancel_order
from models.orders.closing_report import closing_report
from models.ports import SupplierOrderRequest
from models.suppliers import outcomes
from models.suppliers.dispatch import process_order
from tests.conftest import import_one, make_order

MERCHANT = Actor("user", "merchant")


async def at_suppliers(channel: dict, name: str, lines: list, http: httpx.AsyncClient) -> int:
    order_id = await import_one(channel, make_order(name, needs_acceptance=False, lines=lines))
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, http)
    return order_id


async def supplier_order(order_id: int, supplier_id: int) -> dict:
    return (
        await SupplierOrder.select()
        .where((SupplierOrder.order == order_id) & (SupplierOrder.supplier == supplier_id))
        .first()
    )


async def messages(order_id: int, action: str) -> list[dict]:
    return await OutboxMessage.select().where(
        (OutboxMessage.order == order_id) & (OutboxMessage.action == action) & (OutboxMessage.target_kind == "supplier")
    )


async def test_bigbuy_cannot_cancel_through_its_api_so_the_merchant_is_told_what_to_do(
    channel, suppliers, bigbuy, http
):
    order_id = await at_suppliers(channel, "BBC-1", [("BB-1001", 1, 1990)], http)
    remote = (await supplier_order(order_id, suppliers["bigbuy"]))["supplier_order_id"]
    asked = await cancel_order(order_id, MERCHANT, "customer asked")
    await dispatch_order_now(order_id, http)
    row = await supplier_order(order_id, suppliers["bigbuy"])
    expected = f"BigBuy's API cannot cancel orders: cancel order {remote} in your BigBuy account."
    assert (row["status"], row["last_message"]) == ("processed", expected)
    assert [m["state"] for m in await messages(order_id, "cancel")] == ["done"]
    assert not await SyncIssue.exists(), "nothing failed: BigBuy simply has no such call"
    report = await closing_report(order_id, "cancelled", "Order cancelled.", asked)
    assert report.level == "warn"
    assert f"BigBuy: {expected}" in report.message

    # The merchant cancels it in the BigBuy account; the status job reads it back.
    done = await http.post(
        f"{await base_url(suppliers['bigbuy'])}/_control/orders/{remote}/status", json={"status": "cancelled"}
    )
    assert done.status_code < 300, done.text
    await poll_supplier_orders(http)
    assert (await supplier_order(order_id, suppliers["bigbuy"]))["status"] == "cancelled"


async def base_url(supplier_id: int) -> str:
    return (await Supplier.select(Supplier.base_url).where(Supplier.id == supplier_id).first())["base_url"]


async def test_a_shipbob_order_that_already_left_is_not_cancelled_and_the_merchant_is_told(
    channel, suppliers, shipbob, http
):
    order_id = await at_suppliers(channel, "SBC-1", [("SB-0007", 1, 2990)], http)
    remote = (await supplier_order(order_id, suppliers["shipbob"]))["supplier_order_id"]
    # Shipped at the warehouse, but Waybill has not read it yet.
    shipped = await http.post(
        f"{await base_url(suppliers['shipbob'])}/_control/orders/{remote}/ship",
        json={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
    )
    assert shipped.status_code < 300, shipped.text
    await cancel_order(order_id, MERCHANT, "customer asked")
    await dispatch_order_now(order_id, http)
    row = await supplier_order(order_id, suppliers["shipbob"])
    assert row["status"] == "processed"
    assert row["last_message"].startswith(f"ShipBob did not cancel order {remote}")
    (message,) = await messages(order_id, "cancel")
    assert message["state"] == "failed"
    issue = await SyncIssue.select().where(SyncIssue.order == order_id).first()
    assert issue["operation"] == "cancel" and "did not cancel" in issue["remote_message"]
    review = await ReviewIssue.select().where(ReviewIssue.order == order_id).first()
    assert review["code"] == "supplier_sync_failed"


async def test_a_supplier_order_not_sent_yet_is_never_sent(channel, suppliers, shipbob, http):
    order_id = await import_one(channel, make_order("SBC-2", needs_acceptance=False, lines=[("SB-0007", 1, 2990)]))
    await process_order(order_id, MERCHANT)  # queued, not sent
    await cancel_order(order_id, MERCHANT, "customer asked")
    await dispatch_supplier_due(http)
    await dispatch_supplier_due(http)
    assert not shipbob.orders, "a cancelled order never reaches the supplier"
    row = await supplier_order(order_id, suppliers["shipbob"])
    assert (row["status"], row["last_message"]) == ("cancelled", "Never reached ShipBob; nothing to cancel there")
    assert {m["state"] for m in await messages(order_id, "dispatch")} == {"done"}


async def test_an_order_the_supplier_got_without_our_knowing_is_found_and_cancelled(channel, suppliers, shipbob, http):
    """A send timed out after ShipBob created the order: the cancellation looks it up by our reference."""
    order_id = await import_one(channel, make_order("SBC-3", needs_acceptance=False, lines=[("SB-0007", 1, 2990)]))
    await process_order(order_id, MERCHANT)
    context = await outcomes.supplier_order_context((await supplier_order(order_id, suppliers["shipbob"]))["id"])
    request: SupplierOrderRequest = outcomes.supplier_request(context)
    remote = await supplier_connector(context["supplier"], http).create(request)
    await cancel_order(order_id, MERCHANT, "customer asked")
    await dispatch_supplier_due(http)
    await dispatch_supplier_due(http)
    assert len(shipbob.orders) == 1
    assert shipbob.orders[int(remote)]["shipments"][0]["status"] == "Cancelled"
    row = await supplier_order(order_id, suppliers["shipbob"])
    assert (row["status"], row["supplier_order_id"]) == ("cancelled", remote)


async def test_an_order_created_while_it_was_being_cancelled_is_cancelled_too(channel, suppliers, shipbob, http):
    order_id = await import_one(channel, make_order("SBC-4", needs_acceptance=False, lines=[("SB-0007", 1, 2990)]))
    await process_order(order_id, MERCHANT)
    context = await outcomes.supplier_order_context((await supplier_order(order_id, suppliers["shipbob"]))["id"])
    remote = await supplier_connector(context["supplier"], http).create(outcomes.supplier_request(context))
    await cancel_order(order_id, MERCHANT, "customer asked")
    await outcomes.record_created(context, remote)  # the answer of the send that was under way
    # (The background job would wait for the channel's cancellation, written before the late one.)
    await dispatch_order_now(order_id, http)
    await dispatch_order_now(order_id, http)
    assert shipbob.orders[int(remote)]["shipments"][0]["status"] == "Cancelled"
    assert (await supplier_order(order_id, suppliers["shipbob"]))["status"] == "cancelled"
    assert [(m["state"], m["last_error"]) for m in await messages(order_id, "cancel")] == [("done", "")] * 2
    assert not await SyncIssue.exists()
