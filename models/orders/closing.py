"""The end of an order's life: delivered (final, dated), returned, cancelled; and payment.

Each operation changes the order in one transaction and queues what the others must hear: the
channel's own step (delivered, returned, cancelled) through its status pairing, and a cancellation
for every supplier order that is, or may soon be, at a supplier.

The lifecycle's refusal comes before the version check: "Cancel order is not possible while the
order is shipped" helps a merchant more than "someone changed the order".
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from models.core.actors import Actor
from models.core.app_settings import merchant_timezone
from models.core.clock import now
from models.core.errors import DomainError, FieldErrors
from models.core.quoting import quoted
from models.db.tables import Shipment, SupplierOrder
from models.orders.change import OrderChange, change_order, require_version
from models.orders.lifecycle import (
    FINAL_STATUSES,
    LineStatus,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    check_transition,
)
from models.orders.shipping_summary import READY

#: A delivery time this far ahead of the clock is still "now" (clocks differ a little).
CLOCK_SLACK = dt.timedelta(minutes=5)
#: The time of day a delivery given only as a date is recorded at, in the merchant's time zone.
DELIVERY_TIME_OF_DAY = dt.time(12, 0)
MAX_REASON = 300
#: Supplier order statuses that may be at the supplier (or reach it soon): they get a cancellation.
CANCEL_AT_SUPPLIER = frozenset({"pending", "processed", "on_hold"})
#: Supplier order statuses that never reached the supplier: cancelled here only.
NEVER_SENT = frozenset({"failed", "error"})


def display_date(day: dt.date) -> str:
    return day.strftime("%d %b %Y")


def parse_delivery_date(text: str) -> dt.date | dt.datetime:
    """A day (`2026-05-12`, in the merchant's time zone) or a moment (`2026-05-12T14:03:00+02:00`)."""
    text = text.strip()
    if not text:
        raise FieldErrors({"delivered_at": "Enter the delivery date."})
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise FieldErrors(
            {"delivered_at": f"{quoted(text[:40])} is not a date: use YYYY-MM-DD, e.g. 2026-05-12."}
        ) from None


def delivery_time(
    delivered_on: dt.date | dt.datetime, shipped_at: dt.datetime | None, tz: ZoneInfo, moment: dt.datetime
) -> dt.datetime:
    """When the order was delivered, as stored; `FieldErrors` if that cannot be true.

    A date is a day in the merchant's time zone: it may be neither after today nor before the day
    the order shipped. It is recorded at midday, kept between the shipping time and now."""
    at: dt.datetime | None = None
    if isinstance(delivered_on, dt.datetime):
        at = delivered_on if delivered_on.tzinfo else delivered_on.replace(tzinfo=dt.UTC)
        day = at.astimezone(tz).date()
        if at > moment + CLOCK_SLACK:
            raise FieldErrors({"delivered_at": "The delivery date cannot be in the future."})
    else:
        day = delivered_on
    if day > moment.astimezone(tz).date():
        raise FieldErrors({"delivered_at": "The delivery date cannot be in the future."})
    if shipped_at is not None and day < shipped_at.astimezone(tz).date():
        shipped_day = display_date(shipped_at.astimezone(tz).date())
        raise FieldErrors({"delivered_at": f"The delivery date cannot be before the order shipped ({shipped_day})."})
    if at is None:
        at = dt.datetime.combine(day, DELIVERY_TIME_OF_DAY, tzinfo=tz).astimezone(dt.UTC)
        at = min(at, moment)
        if shipped_at is not None:
            at = max(at, shipped_at)
    return at


async def mark_delivered(
    order_id: int, delivered_on: dt.date | dt.datetime | str, actor: Actor, expected_version: int | None = None
) -> dt.datetime:
    """Delivered needs a date: not in the future and not before the order shipped. Returns the time
    recorded. From now on the order is final (`models.orders.change` refuses every change).

    `delivered_on` may be the text a merchant typed: whether the step is possible at all is said
    before whether the date is right."""
    tz = await merchant_timezone()
    async with change_order(order_id, actor) as change:
        check_transition(change.status, OrderStatus.DELIVERED)
        await require_version(change, expected_version)
        try:
            if isinstance(delivered_on, str):
                delivered_on = parse_delivery_date(delivered_on)
            at = delivery_time(delivered_on, change.order.get("shipped_at"), tz, now())
        except FieldErrors as exc:
            why = exc.errors["delivered_at"]
            raise FieldErrors(exc.errors, message=f"Not marked as delivered: {why[0].lower()}{why[1:]}") from None
        change.move_to(OrderStatus.DELIVERED)
        change.set(delivered_at=at)
        change.event(
            "delivered",
            f"Marked as delivered on {display_date(at.astimezone(tz).date())}",
            details={"delivered_at": at.isoformat()},
        )
        _notify_channel(change, "delivered", {"delivered_at": at.isoformat()})
        return at


async def mark_returned(order_id: int, actor: Actor, note: str = "", expected_version: int | None = None) -> None:
    """The parcel came back undelivered (set by hand); the channel hears it where it has that step."""
    async with change_order(order_id, actor) as change:
        check_transition(change.status, OrderStatus.RETURNED)
        await require_version(change, expected_version)
        note = " ".join(note.split())
        if len(note) > MAX_REASON:
            raise FieldErrors(
                {"note": f"Keep the note under {MAX_REASON} characters."},
                message=f"Not marked as returned: keep the note under {MAX_REASON} characters.",
            )
        change.move_to(OrderStatus.RETURNED, note)
        _notify_channel(change, "returned", {"note": note})


def cancel_reason(reason: str) -> str:
    """The reason a merchant gives for cancelling, cleaned; `FieldErrors` if there is none."""
    reason = " ".join(reason.split())
    if not reason:
        raise FieldErrors(
            {"reason": "Give a reason for cancelling, e.g. the customer asked."},
            message="The order was not cancelled: give a reason.",
        )
    if len(reason) > MAX_REASON:
        raise FieldErrors(
            {"reason": f"Keep the reason under {MAX_REASON} characters."},
            message=f"The order was not cancelled: keep the reason under {MAX_REASON} characters.",
        )
    return reason


async def cancel_order(
    order_id: int,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    notify_channel: bool = True,
) -> list[int]:
    """Cancel before anything has shipped: every open line is cancelled, every supplier holding a part
    is asked to cancel it, and the channel is told. Returns the supplier orders asked to cancel.

    `notify_channel` is False when the channel itself reported the cancellation.
    """
    async with change_order(order_id, actor) as change:
        check_transition(change.status, OrderStatus.CANCELLED)
        await require_version(change, expected_version)
        reason = cancel_reason(reason)
        if any((await change.shipped_quantities()).values()):
            raise DomainError(
                "Cancel order is not possible: part of this order has already shipped. "
                "Once it is shipped in full, Mark as returned if the parcel comes back."
            )
        supplier_orders = await _supplier_orders(change.id)
        gone = sorted({row["supplier.name"] for row in supplier_orders if row["status"] == "shipped"})
        if gone:
            raise DomainError(f"Cancel order is not possible: {', '.join(gone)} already shipped its part of the order.")
        change.move_to(OrderStatus.CANCELLED, reason)
        await _drop_ready_parcels(change)
        for line in change.lines:
            if line["status"] in (LineStatus.PENDING, LineStatus.ACCEPTED):
                line["status"] = LineStatus.CANCELLED.value
                change.line_updates[line["id"]] = {"status": line["status"]}
        await change.resolve_issues(note="order cancelled")
        asked = await _cancel_at_suppliers(change, supplier_orders)
        if notify_channel:
            _notify_channel(change, "cancel", {"reason": reason})
        return asked


async def _drop_ready_parcels(change: OrderChange) -> None:
    """Parcels with tracking added but never shipped do not leave for a cancelled order."""
    ready = await Shipment.select(Shipment.id, Shipment.carrier_name, Shipment.tracking_number).where(
        (Shipment.order == change.id) & (Shipment.state == READY)
    )
    if not ready:
        return
    await Shipment.delete().where(Shipment.id.is_in([row["id"] for row in ready]))
    shown = ", ".join(f"{row['carrier_name']} {row['tracking_number']}".strip() or "no tracking" for row in ready)
    change.event("tracking_removed", f"Parcels ready to ship removed, the order is cancelled ({shown})")


async def _supplier_orders(order_id: int) -> list[dict[str, Any]]:
    return await SupplierOrder.select(
        SupplierOrder.id,
        SupplierOrder.supplier,
        SupplierOrder.supplier.name,
        SupplierOrder.internal_reference,
        SupplierOrder.supplier_order_id,
        SupplierOrder.status,
    ).where(SupplierOrder.order == order_id)


async def _cancel_at_suppliers(change: OrderChange, supplier_orders: list[dict[str, Any]]) -> list[int]:
    asked: list[int] = []
    names: list[str] = []
    stamp = now()
    for row in supplier_orders:
        if row["status"] in NEVER_SENT:
            await SupplierOrder.update(
                {
                    SupplierOrder.status: "cancelled",
                    SupplierOrder.last_message: "Not sent: the order was cancelled",
                    SupplierOrder.updated_at: stamp,
                }
            ).where(SupplierOrder.id == row["id"])
        elif row["status"] in CANCEL_AT_SUPPLIER:
            await SupplierOrder.update(
                {SupplierOrder.last_message: "Waiting to be cancelled", SupplierOrder.updated_at: stamp}
            ).where(SupplierOrder.id == row["id"])
            queue_supplier_cancel(change, row)
            asked.append(row["id"])
            names.append(row["supplier.name"])
    if names:
        change.event("supplier_cancel_queued", f"Cancelling at {', '.join(names)}")
    return asked


def queue_supplier_cancel(change: OrderChange, row: dict[str, Any], attempt: str = "") -> None:
    """Ask the supplier to cancel this supplier order (found by our reference if it has no id yet).

    `attempt` tells a later request apart from the first (e.g. an order the supplier created after
    the cancellation), so the outbox's idempotency key does not swallow it."""
    reference = row["internal_reference"]
    change.send(
        "supplier",
        row["supplier"],
        "cancel",
        f"supplier:{reference}:cancel" + (f":{attempt}" if attempt else ""),
        {"supplier_order": row["id"], "internal_reference": reference},
    )


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
    async with change_order(order_id, actor) as change:
        order = change.order
        if order["payment_status"] == PaymentStatus.PAID:
            raise DomainError("This order is already paid.")
        if order["payment_method"] != PaymentMethod.ON_ACCOUNT:
            raise DomainError(
                "Mark as paid is only for orders paid on account; this order's payment "
                f"({order['payment_method'].replace('_', ' ')}) is confirmed by the channel."
            )
        if change.status in FINAL_STATUSES:
            raise DomainError(
                f"Mark as paid is not possible: the order is {change.status.label.lower()}, which is final."
            )
        await require_version(change, expected_version)
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
    "cancel_reason",
    "delivery_time",
    "mark_delivered",
    "mark_paid",
    "mark_returned",
    "mark_sent_to_supplier",
    "parse_delivery_date",
    "queue_supplier_cancel",
    "send_to_review",
]
