"""The end of an order's life: delivered (final, dated), returned, cancelled; and payment."""

from __future__ import annotations

import datetime as dt

from models.actors import Actor
from models.clock import now
from models.errors import DomainError, FieldErrors
from models.lifecycle import LineStatus, OrderStatus, PaymentStatus
from models.order_change import OrderChange, change_order


async def mark_delivered(
    order_id: int, delivered_on: dt.datetime, actor: Actor, expected_version: int | None = None
) -> None:
    """Delivered needs a date: not in the future and not before the order shipped."""
    if delivered_on.tzinfo is None:
        delivered_on = delivered_on.replace(tzinfo=dt.UTC)
    if delivered_on > now() + dt.timedelta(minutes=5):
        raise FieldErrors({"delivered_at": "The delivery date cannot be in the future."})
    async with change_order(order_id, actor, expected_version) as change:
        shipped_at = change.order.get("shipped_at")
        change.move_to(OrderStatus.DELIVERED)
        if shipped_at and delivered_on < shipped_at.replace(hour=0, minute=0, second=0):
            raise FieldErrors({"delivered_at": "The delivery date cannot be before the order shipped."})
        change.set(delivered_at=delivered_on)
        change.event("delivered", f"Marked as delivered on {delivered_on.date().isoformat()}")
        _notify_channel(change, "delivered", {"delivered_at": delivered_on.isoformat()})


async def mark_returned(order_id: int, actor: Actor, note: str = "", expected_version: int | None = None) -> None:
    """The parcel came back undelivered."""
    async with change_order(order_id, actor, expected_version) as change:
        change.move_to(OrderStatus.RETURNED, note)


async def cancel_order(
    order_id: int,
    actor: Actor,
    reason: str = "",
    expected_version: int | None = None,
    notify_channel: bool = True,
) -> None:
    """Cancel before anything has shipped; every open line is cancelled with it.

    `notify_channel` is False when the channel itself reported the cancellation.
    """
    async with change_order(order_id, actor, expected_version) as change:
        change.move_to(OrderStatus.CANCELLED, reason)
        if notify_channel:
            _notify_channel(change, "cancel", {"reason": reason})
        for line in change.lines:
            if line["status"] in (LineStatus.PENDING, LineStatus.ACCEPTED):
                line["status"] = LineStatus.CANCELLED.value
                change.line_updates[line["id"]] = {"status": line["status"]}
        await change.resolve_issues(note="order cancelled")


def _notify_channel(change: OrderChange, action: str, payload: dict) -> None:
    order = change.order
    change.send(
        "channel",
        order["channel"],
        action,
        f"channel:{order['channel']}:{order['channel_order_id']}:{action}",
        {"channel_order_id": order["channel_order_id"], **payload},
    )


async def mark_paid(order_id: int, actor: Actor, expected_version: int | None = None) -> None:
    """Orders paid on account are settled by hand; card orders arrive paid."""
    async with change_order(order_id, actor, expected_version) as change:
        if change.order["payment_status"] == PaymentStatus.PAID:
            raise DomainError("This order is already paid.")
        change.set(payment_status=PaymentStatus.PAID.value)
        change.event("paid", "Marked as paid")


async def mark_sent_to_supplier(order_id: int, actor: Actor, note: str = "") -> None:
    """Processing: the order is in a supplier's hands (used by dispatch and the demo)."""
    async with change_order(order_id, actor) as change:
        change.move_to(OrderStatus.PROCESSING, note)


async def send_to_review(order_id: int, code: str, message: str, actor: Actor, source: str = "supplier") -> None:
    """A supplier or channel refused the order: park it in Pending review with the reason."""
    async with change_order(order_id, actor) as change:
        change.open_issue(code, message, source=source)
        change.move_to(OrderStatus.PENDING_REVIEW)


__all__ = [
    "cancel_order",
    "mark_delivered",
    "mark_paid",
    "mark_returned",
    "mark_sent_to_supplier",
    "send_to_review",
]
