"""The order page and how its actions answer: one place for every controller that changes an order.

An htmx action answers with the `#fulfilment` fragment plus out-of-band updates of the parts an
action can change (status badge, lines, address, summary, order history, shipments, audit trail);
a plain form post gets the whole page back. Refusals and conflicts are shown the same way, with
nothing changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException
from litestar.response import Template

from models.channels.payloads import payload_versions
from models.core.actors import Actor
from models.core.errors import DomainError, FieldErrors, NeedsConfirmation
from models.db.tables import ShippingMapping, Supplier
from models.orders.queries import OrderDetail, order_detail
from models.suppliers.dispatch import ProcessResult
from web.form_body import form_version as versioned_form
from web.pages import fragment, is_htmx, render

#: What an action returns: (message, flash level), or the `ProcessResult` of supplier orders just sent.
ActionOutcome = tuple[str, str] | ProcessResult


def actor_of(request: Request) -> Actor:
    """The user behind a request; a change made with an API token is recorded as made through the API."""
    if request.auth == "token":
        return Actor("api", request.user.username)
    return Actor.user(request.user.username)


def form_version(data: dict[str, Any]) -> int | None:
    """The order version the form was rendered with (see `web.form_body.form_version`)."""
    return versioned_form(data, "order", "Reload the order page")


async def load_detail(order_id: int) -> OrderDetail:
    detail = await order_detail(order_id)
    if detail is None:
        raise NotFoundException(f"Order {order_id} does not exist.")
    return detail


def dispatch_summary(result: ProcessResult, supplier_orders: list[dict[str, Any]]) -> tuple[str, str]:
    """What sending did, from the supplier orders as they are after it: message and flash level."""
    if not result.sends:
        return result.message, "error" if result.problems else ("success" if result.notes else "info")

    def said(row: dict[str, Any]) -> str:
        text = f"{row['supplier.name']}: {row['last_message'] or row['status'].replace('_', ' ')}".rstrip()
        return text if text.endswith((".", "!", "?")) else text + "."

    sent = [said(r) for r in supplier_orders if r["status"] == "processed"]
    refused = [said(r) for r in supplier_orders if r["status"] in ("failed", "error")]
    waiting = [r["supplier.name"] for r in supplier_orders if r["status"] == "pending"]
    held = [said(r) for r in supplier_orders if r["status"] == "on_hold"]
    parts = []
    if sent:
        parts.append("Sent. " + " ".join(sent))
    if refused:
        parts.append("Refused. " + " ".join(refused))
    if held:
        parts.append("Still on hold. " + " ".join(held))
    if waiting:
        parts.append(
            f"{', '.join(waiting)} did not answer yet; Waybill keeps trying and the order history shows the outcome."
        )
    level = "error" if refused or held else ("info" if waiting else "success")
    return " ".join(parts) or result.message, level


def address_sent_summary(
    sent_to: list[str], supplier_orders: list[dict[str, Any]], waiting: set[int]
) -> tuple[str, str]:
    """What suppliers said about a corrected address sent to them: message and flash level.

    `waiting` holds the suppliers whose copy of the address is still to be delivered."""
    parts, level = [], "success"
    for row in supplier_orders:
        name = row["supplier.name"]
        if name not in sent_to:
            continue
        if row["supplier"] in waiting:
            parts.append(f"{name} did not answer yet; Waybill keeps sending it the corrected address.")
            level = "info" if level == "success" else level
        elif row["status"] == "on_hold":
            reason = (row["last_message"] or "On hold (no reason given)").rstrip(".")
            parts.append(f"Sent to {name}, which answers: {reason}.")
            level = "error"
        else:
            parts.append(f"Sent to {name}, which verified it.")
    return " ".join(["Address saved.", *parts]), level


async def dispatch_context() -> dict[str, Any]:
    """What the Send to suppliers panel offers: active suppliers and the methods already mapped."""
    suppliers = (
        await Supplier.select(Supplier.id, Supplier.name).where(Supplier.active.eq(True)).order_by(Supplier.name)
    )
    methods = await ShippingMapping.select(ShippingMapping.method).distinct().order_by(ShippingMapping.method)
    return {"suppliers": suppliers, "known_methods": [row["method"] for row in methods]}


async def render_order_page(request: Request, detail: OrderDetail, status_code: int = 200, **extra: Any) -> Template:
    """The whole order page (also the answer to an action posted without htmx)."""
    context = {"d": detail, "o": detail.order, **await dispatch_context(), **extra}
    return await render(
        request,
        "orders/detail.html",
        status_code=status_code,
        nav="orders",
        payloads=await payload_versions(detail.order),
        **context,
    )


async def answer_action(
    request: Request,
    order_id: int,
    message: str = "",
    level: str = "success",
    detail: OrderDetail | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    """The answer to an order action: the fulfilment fragment with out-of-band updates, or the page.

    `extra` reaches the templates (e.g. a form shown again with what was typed and its field errors)."""
    detail = detail or await load_detail(order_id)
    if not is_htmx(request):
        return await render_order_page(request, detail, status_code, message=message, level=level, **extra)
    context = {"d": detail, "o": detail.order, "message": message, "level": level, **await dispatch_context(), **extra}
    return await fragment(request, "orders/_fulfilment.html", status_code=status_code, oob=True, **context)


async def run_action(
    request: Request,
    order_id: int,
    action: Callable[[], Awaitable[ActionOutcome]],
    form: dict[str, Any] | None = None,
) -> Template:
    """Run an order action and answer with what it did; a refusal or conflict changes nothing.

    `form` (what was posted) is shown again after a refusal, with field-level messages if any."""
    kept = {"form_values": form or {}, "form_action": request.url.path.rsplit("/", 1)[-1]}
    try:
        outcome = await action()
    except FieldErrors as exc:
        return await answer_action(request, order_id, exc.message, "error", field_errors=exc.errors, **kept)
    except NeedsConfirmation as exc:
        return await answer_action(request, order_id, exc.message, "error", confirm_needed=True, **kept)
    except DomainError as exc:
        return await answer_action(request, order_id, exc.message, "error", **kept)
    detail = await load_detail(order_id)
    if isinstance(outcome, ProcessResult):
        message, level = dispatch_summary(outcome, detail.supplier_orders)
    else:
        message, level = outcome
    return await answer_action(request, order_id, message, level, detail)
