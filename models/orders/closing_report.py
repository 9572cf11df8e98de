"""What closing an order did, in words a merchant reads right after clicking (or in the API's answer).

Read from the order as it is after the change and after its messages were sent: what each supplier
said about cancelling its part, and whether the channel confirmed the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.db.tables import Channel, Order, OutboxMessage, SupplierOrder
from models.ports import directory

#: The outbox action that tells the channel about each closing step.
CHANNEL_ACTIONS = {"delivered": "delivered", "returned": "returned", "cancelled": "cancel"}
#: How each step is named in the channel part of the report.
STEP_WORDS = {"delivered": "delivered", "returned": "returned", "cancel": "cancelled"}


@dataclass
class Report:
    parts: list[str] = field(default_factory=list)
    #: Something did not happen (yet) at a supplier or the channel.
    unsettled: bool = False

    @property
    def level(self) -> str:
        return "warn" if self.unsettled else "success"

    @property
    def message(self) -> str:
        return " ".join(self.parts)


async def closing_report(order_id: int, step: str, headline: str, supplier_orders: list[int] = ()) -> Report:
    """`headline` and then what the suppliers (of `supplier_orders`, for a cancellation) and the
    channel made of `step` (delivered, returned or cancelled)."""
    report = Report([headline])
    if supplier_orders:
        rows = await SupplierOrder.select(
            SupplierOrder.status, SupplierOrder.last_message, SupplierOrder.supplier.name
        ).where(SupplierOrder.id.is_in(list(supplier_orders)))
        for row in rows:
            report.parts.append(f"{row['supplier.name']}: {_sentence(row['last_message'] or row['status'])}")
            report.unsettled |= row["status"] != "cancelled"
    action = CHANNEL_ACTIONS.get(step)
    if action:
        await _channel_part(report, order_id, action)
    return report


async def _channel_part(report: Report, order_id: int, action: str) -> None:
    order = await Order.select(Order.channel, Order.channel_status).where(Order.id == order_id).first()
    channel = await Channel.select(Channel.name, Channel.kind).where(Channel.id == order["channel"]).first()
    message = (
        await OutboxMessage.select(OutboxMessage.state, OutboxMessage.last_error)
        .where(
            (OutboxMessage.order == order_id)
            & (OutboxMessage.target_kind == "channel")
            & (OutboxMessage.action == action)
        )
        .order_by(OutboxMessage.id, ascending=False)
        .first()
    )
    if message is None:
        return
    name = channel["name"]
    if not _has_step(channel["kind"], action):
        report.parts.append(f"{name} has no {STEP_WORDS[action]} step: nothing to send there.")
    elif message["state"] == "done":
        shown = f" (now {order['channel_status']})" if order["channel_status"] else ""
        report.parts.append(f"{name} confirmed it{shown}.")
    elif message["state"] == "pending":
        report.unsettled = True
        why = f": {message['last_error'].rstrip('.')}" if message["last_error"] else ""
        report.parts.append(f"{name} has not confirmed yet{why}. Waybill keeps trying.")
    else:
        report.unsettled = True
        report.parts.append(f"{name} did not take it: {_sentence(message['last_error'])} See Connection issues.")


def _has_step(kind: str, action: str) -> bool:
    connector = directory().channel_kinds().get(kind)
    return connector is None or action in connector.pairing.actions  # without a connector: it simply waits


def _sentence(text: Any) -> str:
    text = str(text).strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
