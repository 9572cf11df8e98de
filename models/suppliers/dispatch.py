"""Dispatch to suppliers: route an accepted order into supplier orders and queue them for sending.

Sending happens later, from the outbox (`jobs/supplier_dispatch.py`), so the click or the job that
processes an order only writes rows: the supplier orders, their lines, an outbox message and the
events, in one transaction. Each supplier order carries an `internal_reference` that never changes;
the supplier sees it on every attempt, which is what makes a duplicate at the supplier impossible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.core.actors import Actor
from models.core.clock import now
from models.core.errors import DomainError
from models.core.quoting import quoted
from models.db.tables import Channel, Supplier, SupplierOrder, SupplierOrderLine
from models.orders.change import OrderChange, change_order
from models.orders.edits import queue_address_updates
from models.orders.lifecycle import AT_SUPPLIER, LineStatus, OrderStatus
from models.suppliers.routing import plan_routes, shipping_method

#: Statuses a supplier order may be (re)sent from.
SENDABLE = frozenset({"pending", "failed", "error"})
#: Review codes a dispatch may open; resubmitting clears them and tries again.
DISPATCH_CODES = frozenset(
    {
        "unknown_sku",
        "shipping_unmapped",
        "supplier_inactive",
        "wallet_insufficient",
        "out_of_stock",
        "invalid_postcode",
        "missing_surname",
        "address_error",
        "no_carrier",
        "supplier_refused",
        "supplier_on_hold",
        "supplier_error",
        "supplier_reference_unknown",
    }
)
#: Statuses an order can be processed from.
PROCESSABLE = frozenset({OrderStatus.AWAITING_FULFILLMENT, OrderStatus.PENDING_REVIEW})


def internal_reference(order_id: int, supplier_id: int) -> str:
    """Our idempotency key at the supplier: one per (order, supplier), the same on every attempt."""
    return f"WB{order_id}-{supplier_id}"


async def create_supplier_order(order_id: int, supplier_id: int, status: str, message: str, **fields: Any) -> int:
    """The one supplier order of this order at this supplier, under its fixed reference; returns its id."""
    stamp = now()
    row = SupplierOrder(
        order=order_id,
        supplier=supplier_id,
        internal_reference=internal_reference(order_id, supplier_id),
        status=status,
        last_message=message,
        created_at=stamp,
        updated_at=stamp,
        **fields,
    )
    inserted = await SupplierOrder.insert(row).returning(SupplierOrder.id)
    return inserted[0]["id"]


@dataclass
class ProcessResult:
    """What processing an order did, in words a merchant reads after clicking."""

    queued: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    #: Suppliers holding the order (e.g. its address on hold) that were sent its address again.
    readdressed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def sends(self) -> bool:
        """Something was queued for suppliers (and nothing blocks it)."""
        return bool(self.queued or self.readdressed) and not self.problems

    @property
    def message(self) -> str:
        if self.problems:
            return "Not sent: " + " ".join(self.problems)
        parts = list(self.notes)
        if self.queued:
            parts.append("Sending to " + ", ".join(self.queued) + ".")
        if self.readdressed:
            parts.append("Sending the delivery address to " + ", ".join(self.readdressed) + " again.")
        if self.already_there:
            parts.append("Already at " + ", ".join(self.already_there) + ".")
        return " ".join(parts) or "Nothing to send."


async def process_order(order_id: int, actor: Actor, expected_version: int | None = None) -> ProcessResult:
    """Route the order's accepted lines to suppliers and queue one supplier order per supplier.

    Anything that blocks it (an unknown SKU, an unmapped shipping rate, an inactive supplier)
    becomes a review issue with the reason, and the order goes to Pending review.
    """
    async with change_order(order_id, actor, expected_version) as change:
        return await _process(change)


async def _process(change: OrderChange) -> ProcessResult:
    result = ProcessResult()
    if change.status not in PROCESSABLE:
        raise DomainError(
            f"Process is not possible while the order is {change.status.label.lower()}; "
            "only orders awaiting fulfillment or pending review are sent to suppliers."
        )
    plan = await plan_routes(change.lines)
    if not plan.routes and not plan.unknown_skus:
        raise DomainError("This order has no accepted line to send to a supplier.")
    for sku in plan.unknown_skus:
        message = (
            f"Unknown SKU: {sku} is in no supplier's catalog. Add it to a supplier's catalog "
            "(Suppliers → Import catalog), then Resubmit order."
        )
        change.open_issue("unknown_sku", message, source="routing")
        result.problems.append(message)
    channel = await Channel.select(Channel.name).where(Channel.id == change.order["channel"]).first()
    channel_name = channel["name"] if channel else "the channel"
    existing = {row["supplier"]: row for row in await _supplier_orders(change.id)}
    suppliers = {row["id"]: row for row in await Supplier.select().where(Supplier.id.is_in(list(plan.routes) or [0]))}
    sends: list[tuple[dict[str, Any], list, str, dict[str, Any] | None]] = []
    for supplier_id, lines in plan.routes.items():
        supplier = suppliers[supplier_id]
        current = existing.get(supplier_id)
        if current is not None and current["status"] in AT_SUPPLIER:
            if current["status"] != "on_hold":
                result.already_there.append(supplier["name"])
            continue
        if not supplier["active"]:
            message = f"Supplier {supplier['name']} is switched off; switch it on or route these SKUs elsewhere."
            change.open_issue("supplier_inactive", message, source="routing")
            result.problems.append(message)
            continue
        method = current["shipping_method"] if current and current["shipping_method"] else ""
        rate = change.order["shipping_rate"]
        if not method and rate:
            method = await shipping_method(change.order["channel"], rate, supplier_id) or ""
            if not method:
                message = (
                    f"No shipping mapping: the rate {quoted(rate)} of {channel_name} has no method at "
                    f"{supplier['name']}. Add a shipping mapping on the supplier page or Change shipping "
                    "method, then Resubmit order."
                )
                change.open_issue("shipping_unmapped", message, source="routing")
                result.problems.append(message)
                continue
        sends.append((supplier, lines, method, current))
    if result.problems:
        change.move_to(OrderStatus.PENDING_REVIEW)
        return result
    # A supplier holding the order (e.g. an address it could not verify) checks it again.
    result.readdressed = await queue_address_updates(change, ("on_hold",))
    for supplier, lines, method, current in sends:
        await _queue(change, supplier, lines, method, current)
        result.queued.append(supplier["name"])
    if change.status == OrderStatus.PENDING_REVIEW and not change.open_issue_codes:
        at_supplier = any(row["status"] in AT_SUPPLIER for row in existing.values())
        target = OrderStatus.PROCESSING if at_supplier else OrderStatus.AWAITING_FULFILLMENT
        change.move_to(target, "resubmitted")
    return result


async def _supplier_orders(order_id: int) -> list[dict[str, Any]]:
    return await SupplierOrder.select().where((SupplierOrder.order == order_id) & (SupplierOrder.status != "cancelled"))


async def _queue(
    change: OrderChange, supplier: dict[str, Any], lines: list, method: str, current: dict[str, Any] | None
) -> None:
    stamp = now()
    reference = internal_reference(change.id, supplier["id"])
    if current is None:
        supplier_order_id = await create_supplier_order(
            change.id, supplier["id"], "pending", "Waiting to be sent", shipping_method=method
        )
    else:
        supplier_order_id = current["id"]
        await SupplierOrder.update(
            {
                SupplierOrder.status: "pending",
                SupplierOrder.shipping_method: method,
                SupplierOrder.last_message: "Waiting to be sent again",
                SupplierOrder.updated_at: stamp,
            }
        ).where(SupplierOrder.id == supplier_order_id)
        await SupplierOrderLine.delete().where(SupplierOrderLine.supplier_order == supplier_order_id)
    await SupplierOrderLine.insert(
        *[
            SupplierOrderLine(
                supplier_order=supplier_order_id,
                order_line=line.order_line_id,
                supplier_sku=line.supplier_sku,
                quantity=line.quantity,
            )
            for line in lines
        ]
    )
    attempt = change.order["version"]
    change.send(
        "supplier",
        supplier["id"],
        "dispatch",
        f"supplier:{reference}:dispatch:{attempt}",
        {"supplier_order": supplier_order_id, "internal_reference": reference},
    )
    skus = ", ".join(f"{line.supplier_sku} × {line.quantity}" for line in lines)
    change.event(
        "dispatch_queued",
        f"Queued for {supplier['name']} as {reference}: {skus}" + (f" by {method}" if method else ""),
        details={"supplier": supplier["id"], "reference": reference},
    )


async def resubmit_order(order_id: int, actor: Actor, expected_version: int | None = None) -> ProcessResult:
    """Re-run validation and dispatch after the merchant fixed what blocked the order."""
    from models.orders.validation import stored_order_problems

    async with change_order(order_id, actor, expected_version) as change:
        if change.status not in PROCESSABLE:
            raise DomainError(f"Resubmit order is not possible while the order is {change.status.label.lower()}.")
        problems = stored_order_problems(change.order, change.lines)
        codes = {problem.code for problem in problems}
        # What validation no longer finds is resolved; supplier refusals are re-checked by sending again.
        await change.resolve_issues(
            {code for code in change.open_issue_codes if code not in codes}, note="resubmitted", resume=False
        )
        if problems:
            result = ProcessResult()
            for problem in problems:
                change.open_issue(problem.code, problem.message, source="validation")
                result.problems.append(problem.message)
            change.move_to(OrderStatus.PENDING_REVIEW)
            return result
        if any(line["status"] == LineStatus.PENDING for line in change.lines):
            # Nothing to send before the lines are decided: the order goes back to acceptance.
            change.move_to(OrderStatus.AWAITING_ACCEPTANCE, "resubmitted")
            return ProcessResult(notes=["The order is complete now and awaits acceptance."])
        return await _process(change)


async def change_shipping_method(
    order_id: int, supplier_id: int, method: str, actor: Actor, expected_version: int | None = None
) -> None:
    """Use `method` for this order at this supplier (instead of the channel's shipping mapping)."""
    method = method.strip()
    if not method:
        raise DomainError("Choose a shipping method.")
    if len(method) > 200:
        raise DomainError("A shipping method has at most 200 characters.")
    async with change_order(order_id, actor, expected_version) as change:
        if change.status not in PROCESSABLE:
            raise DomainError(f"The shipping method cannot change while the order is {change.status.label.lower()}.")
        supplier = await Supplier.select(Supplier.name).where(Supplier.id == supplier_id).first()
        if supplier is None:
            raise DomainError("That supplier does not exist.")
        current = next((row for row in await _supplier_orders(change.id) if row["supplier"] == supplier_id), None)
        if current is not None and current["status"] not in SENDABLE:
            raise DomainError(f"The order is already at {supplier['name']}; its shipping method cannot change here.")
        stamp = now()
        if current is None:
            await create_supplier_order(change.id, supplier_id, "failed", "Not sent yet", shipping_method=method)
        else:
            await SupplierOrder.update({SupplierOrder.shipping_method: method, SupplierOrder.updated_at: stamp}).where(
                SupplierOrder.id == current["id"]
            )
        await change.resolve_issues({"shipping_unmapped", "no_carrier"}, note=f"method set to {method}", resume=False)
        change.event("shipping_method_changed", f"Shipping method at {supplier['name']} set to {method}")


async def orders_to_auto_process(limit: int = 50) -> list[int]:
    """Accepted orders of auto-process channels that no supplier has been asked about yet."""
    from models import db

    rows = await db.fetch(
        "SELECT o.id FROM orders o JOIN channel c ON c.id = o.channel "
        "WHERE o.status = {} AND c.auto_process = {} "
        'AND NOT EXISTS (SELECT 1 FROM supplier_order s WHERE s."order" = o.id) '
        "ORDER BY o.placed_at, o.id LIMIT {}",
        OrderStatus.AWAITING_FULFILLMENT.value,
        True,
        limit,
    )
    return [row["id"] for row in rows]
