"""The closing steps as the dashboard and the JSON API run them: read the input, run the one domain
operation, send what it queued for suppliers and the channel at once, and say what happened.

Both answer with the same words; a refusal is the domain's own `DomainError` or `FieldErrors`.
"""

from __future__ import annotations

from jobs.send_now import send_order_messages_now
from models.core.actors import Actor
from models.orders.closing import cancel_order, display_date, mark_delivered, mark_paid, mark_returned
from models.orders.closing_report import closing_report
from web.pages import current_timezone

#: (message, flash level)
Outcome = tuple[str, str]


async def pay(order_id: int, actor: Actor, version: int | None) -> Outcome:
    await mark_paid(order_id, actor, version)
    return "Marked as paid.", "success"


async def deliver(order_id: int, delivered_at: str, actor: Actor, version: int | None) -> Outcome:
    at = await mark_delivered(order_id, delivered_at, actor, version)
    await send_order_messages_now(order_id)
    day = display_date(at.astimezone(await current_timezone()).date())
    headline = f"Marked as delivered on {day}."
    report = await closing_report(order_id, "delivered", headline)
    return report.message, report.level


async def return_parcel(order_id: int, note: str, actor: Actor, version: int | None) -> Outcome:
    await mark_returned(order_id, actor, note, version)
    await send_order_messages_now(order_id)
    report = await closing_report(order_id, "returned", "Marked as returned.")
    return report.message, report.level


async def cancel(order_id: int, reason: str, actor: Actor, version: int | None) -> Outcome:
    asked = await cancel_order(order_id, actor, reason, version)
    await send_order_messages_now(order_id)
    report = await closing_report(order_id, "cancelled", "Order cancelled.", asked)
    return report.message, report.level
