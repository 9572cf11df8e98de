"""What a supplier said about one of our supplier orders, written onto the order.

Every answer goes through `change_order`, so it commits with its events and review issues and
never overwrites a merchant's concurrent change (a conflict makes the caller try again later).
"""

from __future__ import annotations

import re
from typing import Any

from models.core.actors import Actor
from models.core.clock import now
from models.core.money import amount_with_code
from models.db.tables import Order, ReviewIssue, Shipment, Supplier, SupplierOrder, SupplierOrderLine
from models.orders.change import change_order
from models.orders.closing import queue_supplier_cancel
from models.orders.lifecycle import OrderStatus
from models.ports import SupplierAddress, SupplierLine, SupplierOrderRequest, SupplierProblem

#: Where an order with a refused supplier order may go to Pending review from.
REVIEWABLE = frozenset({OrderStatus.AWAITING_FULFILLMENT, OrderStatus.PROCESSING})


def wallet_problem(balance: int, needed: int, currency: str) -> SupplierProblem:
    return SupplierProblem(
        "wallet_insufficient",
        f"Insufficient wallet balance: {amount_with_code(balance, currency)} available, "
        f"{amount_with_code(needed, currency)} needed. Top up the wallet, then Resubmit.",
    )


async def supplier_order_context(supplier_order_id: int) -> dict[str, Any] | None:
    """The supplier order with its supplier, order and lines, or None if it no longer exists."""
    row = await SupplierOrder.select().where(SupplierOrder.id == supplier_order_id).first()
    if row is None:
        return None
    supplier = await Supplier.select().where(Supplier.id == row["supplier"]).first()
    order = await Order.select().where(Order.id == row["order"]).first()
    lines = await SupplierOrderLine.select(
        SupplierOrderLine.order_line,
        SupplierOrderLine.supplier_sku,
        SupplierOrderLine.quantity,
        SupplierOrderLine.order_line.sku.as_alias("channel_sku"),
    ).where(SupplierOrderLine.supplier_order == supplier_order_id)
    if supplier is None or order is None:
        return None
    return {"supplier_order": row, "supplier": supplier, "order": order, "lines": lines}


def supplier_request(context: dict[str, Any]) -> SupplierOrderRequest:
    """The request a supplier receives, built from the order as it is now (with any address fix)."""
    order, row = context["order"], context["supplier_order"]
    address = SupplierAddress(
        first_name=order["ship_first_name"],
        last_name=order["ship_last_name"],
        street1=order["ship_street1"],
        street2=order["ship_street2"],
        postcode=order["ship_postcode"],
        city=order["ship_city"],
        country=order["ship_country"],
        company=order["ship_company"],
        region=order["ship_region"],
        phone=order["ship_phone"] or order["customer_phone"],
        email=order["customer_email"],
    )
    lines = tuple(
        SupplierLine(sku=line["supplier_sku"], quantity=line["quantity"], order_line_id=line["order_line"])
        for line in context["lines"]
    )
    return SupplierOrderRequest(
        internal_reference=row["internal_reference"],
        address=address,
        lines=lines,
        shipping_method=row["shipping_method"],
        currency=order["currency"],
    )


def _actor(supplier: dict[str, Any]) -> Actor:
    return Actor("supplier", supplier["name"])


async def record_created(context: dict[str, Any], remote_id: str, note: str = "") -> None:
    """The supplier has the order (created now, or found there): link it; the order is processing."""
    row, supplier = context["supplier_order"], context["supplier"]
    async with change_order(row["order"], _actor(supplier), final_ok=True) as change:
        message = note or f"Created at {supplier['name']} as order {remote_id}"
        await SupplierOrder.update(
            {
                SupplierOrder.supplier_order_id: remote_id,
                SupplierOrder.status: "processed",
                SupplierOrder.last_message: message,
                SupplierOrder.updated_at: now(),
            }
        ).where(SupplierOrder.id == row["id"])
        change.event(
            "supplier_order_created",
            f"{message} (reference {row['internal_reference']})",
            details={"supplier": supplier["id"], "supplier_order_id": remote_id},
        )
        if change.status == OrderStatus.AWAITING_FULFILLMENT:
            change.move_to(OrderStatus.PROCESSING, f"sent to {supplier['name']}")
        elif change.status == OrderStatus.CANCELLED:
            # Created while the order was being cancelled (a send already under way): cancel it too.
            queue_supplier_cancel(change, row, attempt=f"after-create-{change.order['version']}")
            change.event("supplier_cancel_queued", f"Cancelling at {supplier['name']}: the order was cancelled")


async def record_cancelled(context: dict[str, Any], message: str, remote_id: str = "") -> None:
    """The supplier cancelled its order (or never had it): the supplier order is cancelled here too."""
    row, supplier = context["supplier_order"], context["supplier"]
    async with change_order(row["order"], _actor(supplier), final_ok=True) as change:
        fields = {
            SupplierOrder.status: "cancelled",
            SupplierOrder.last_message: message[:4000],
            SupplierOrder.updated_at: now(),
        }
        if remote_id:
            fields[SupplierOrder.supplier_order_id] = remote_id
        await SupplierOrder.update(fields).where(SupplierOrder.id == row["id"])
        change.event("supplier_cancelled", f"{supplier['name']}: {message}", details={"supplier": supplier["id"]})


async def record_not_cancelled(context: dict[str, Any], message: str, remote_id: str = "") -> None:
    """The supplier did not cancel (it cannot through its API, or refused): say what to do on the order."""
    row, supplier = context["supplier_order"], context["supplier"]
    async with change_order(row["order"], _actor(supplier), final_ok=True) as change:
        fields = {SupplierOrder.last_message: message[:4000], SupplierOrder.updated_at: now()}
        if remote_id and not row["supplier_order_id"]:
            fields[SupplierOrder.supplier_order_id] = remote_id
            fields[SupplierOrder.status] = "processed"
        await SupplierOrder.update(fields).where(SupplierOrder.id == row["id"])
        change.event(
            "supplier_cancel_failed",
            f"{supplier['name']} did not cancel: {message}",
            details={"supplier": supplier["id"]},
        )


async def record_refusal(context: dict[str, Any], problems: list[SupplierProblem], status: str = "failed") -> None:
    """The supplier will not take the order as it is: each reason becomes a review issue."""
    row, supplier = context["supplier_order"], context["supplier"]
    async with change_order(row["order"], _actor(supplier), final_ok=True) as change:
        text = " ".join(problem.message for problem in problems)
        await SupplierOrder.update(
            {SupplierOrder.status: status, SupplierOrder.last_message: text[:4000], SupplierOrder.updated_at: now()}
        ).where(SupplierOrder.id == row["id"])
        change.event(
            "supplier_refused", f"{supplier['name']} refused the order: {text}", details={"supplier": supplier["id"]}
        )
        for problem in problems:
            change.open_issue(problem.code, f"{supplier['name']}: {problem.message}", source="supplier")
        if change.status in REVIEWABLE:
            change.move_to(OrderStatus.PENDING_REVIEW)


async def record_wallet(supplier_id: int, balance: int, currency: str) -> None:
    await Supplier.update(
        {Supplier.wallet_balance: balance, Supplier.wallet_currency: currency, Supplier.wallet_updated_at: now()}
    ).where(Supplier.id == supplier_id)


async def record_state(context: dict[str, Any], status: str, message: str) -> bool:
    """The supplier's status of an order we sent. Returns True when something changed.

    *On hold* (e.g. the address failed the warehouse's check) needs a human: it opens a review
    issue with the supplier's reason; leaving hold resolves it."""
    row, supplier = context["supplier_order"], context["supplier"]
    unchanged = row["status"] == status and (row["last_message"] or "") == message
    # An order still on hold whose issue was resolved (resubmitted, not fixed) needs the issue again.
    if unchanged and (status != "on_hold" or await _hold_issue_open(row["order"])):
        return False
    async with change_order(row["order"], _actor(supplier), final_ok=True) as change:
        await SupplierOrder.update(
            {SupplierOrder.status: status, SupplierOrder.last_message: message[:4000], SupplierOrder.updated_at: now()}
        ).where(SupplierOrder.id == row["id"])
        text = f"{supplier['name']} order {row['supplier_order_id']}: {status.replace('_', ' ')}"
        change.event("supplier_status", f"{text} ({message})" if message else text, details={"status": status})
        if status == "on_hold":
            change.open_issue("supplier_on_hold", hold_text(supplier["name"], message), source="supplier")
            if change.status in REVIEWABLE:
                change.move_to(OrderStatus.PENDING_REVIEW)
        elif row["status"] == "on_hold":
            await change.resolve_issues({"supplier_on_hold"}, note=f"{supplier['name']}: {status}")
        elif status in ("failed", "error") and change.status in REVIEWABLE:
            change.open_issue("supplier_error", f"{supplier['name']}: {message or status}", source="supplier")
            change.move_to(OrderStatus.PENDING_REVIEW)
    return True


def hold_text(supplier_name: str, message: str) -> str:
    """The review reason for an order a supplier holds, without its "On hold —" said twice."""
    reason = re.sub(r"^\s*on[ _]hold\s*[—:-]*\s*", "", message, flags=re.IGNORECASE).rstrip(". ")
    return (
        f"{supplier_name} put the order on hold: {reason or 'no reason given'}. "
        f"Edit delivery address if the address is the cause (the new address goes to {supplier_name}), "
        "otherwise fix the cause and Resubmit order."
    )


async def _hold_issue_open(order_id: int) -> bool:
    return await ReviewIssue.exists().where(
        (ReviewIssue.order == order_id) & (ReviewIssue.code == "supplier_on_hold") & ReviewIssue.resolved_at.is_null()
    )


async def known_trackings(supplier_order_id: int) -> set[str]:
    rows = await Shipment.select(Shipment.tracking_number).where(Shipment.supplier_order == supplier_order_id)
    return {row["tracking_number"] for row in rows}
