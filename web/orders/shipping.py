"""Order page shipping actions: Add tracking (then Confirm), remove a tracking not shipped yet, Mark as shipped.

Each htmx action answers with the `#fulfilment` fragment and out-of-band updates (see `web.orders.page`);
a plain form post gets the whole page. A refused Add tracking shows the form again with everything typed
and a message per field.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from jobs.dispatcher import dispatch_channel_order_now
from jobs.http import http_client
from models.core.bounds import OutOfBounds, row_id, row_id_or_none
from models.core.errors import Conflict, DomainError, FieldErrors
from models.fulfilment.carriers import list_carriers
from models.fulfilment.shipping import (
    add_tracking,
    channel_report,
    mark_shipped,
    parse_quantities,
    remove_tracking,
    shipped_message,
)
from models.orders.queries import OrderDetail
from web.auth import require_operator
from web.form_body import FORM
from web.orders.page import actor_of, answer_action, form_version, load_detail, render_order_page, run_action
from web.pages import fragment, is_htmx


def default_form(detail: OrderDetail, carriers: list[dict[str, Any]]) -> dict[str, Any]:
    """A new parcel: everything left to ship; the carrier preselected when the list has just one."""
    return {
        "qty": {line.id: str(line.left) for line in detail.shipping.lines},
        "carrier": str(carriers[0]["id"]) if len(carriers) == 1 else "",
        "tracking_number": "",
        "no_tracking": False,
    }


def submitted_form(data: dict[str, Any]) -> dict[str, Any]:
    """The parcel as typed, kept to show again when something is refused."""
    return {
        "qty": {line: str(v) for k, v in data.items() if k.startswith("qty_") and (line := row_id_or_none(k[4:]))},
        "carrier": str(data.get("carrier", "")).strip(),
        "tracking_number": str(data.get("tracking_number", "")),
        "no_tracking": data.get("no_tracking") in ("on", "true", "1"),
    }


class OrderShippingController(Controller):
    path = "/orders/{order_id:int}/shipping"
    include_in_schema = False

    @get("/", guards=[require_operator])
    async def section(self, request: Request, order_id: FromPath[int]) -> Template | Redirect:
        """The Shipping card with the form closed (the form's Cancel)."""
        if not is_htmx(request):
            return Redirect(f"/orders/{order_id}")
        detail = await load_detail(order_id)
        return await fragment(request, "orders/_shipping_actions.html", d=detail, o=detail.order)

    @get("/add", guards=[require_operator])
    async def add_form(self, request: Request, order_id: FromPath[int]) -> Template:
        """Add tracking: the form, with what is left to ship filled in."""
        detail = await load_detail(order_id)
        carriers = await list_carriers(active_only=True)
        context = {"tracking_form": default_form(detail, carriers), "tracking_errors": {}, "carriers": carriers}
        if not is_htmx(request):
            return await render_order_page(request, detail, **context)
        return await fragment(request, "orders/_shipping_actions.html", d=detail, o=detail.order, **context)

    @post("/tracking", guards=[require_operator])
    async def add(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        """Confirm: record the parcel, ready for Mark as shipped."""
        form = submitted_form(data)
        try:
            quantities = parse_quantities(form["qty"])
            try:
                carrier_id = row_id(form["carrier"]) if form["carrier"] else None
            except OutOfBounds:
                raise FieldErrors({"carrier": "Choose a carrier from the list."}) from None
            await add_tracking(
                order_id,
                quantities,
                actor_of(request),
                carrier_id=carrier_id,
                tracking_number=form["tracking_number"],
                no_tracking=form["no_tracking"],
                expected_version=form_version(data),
            )
        except DomainError as exc:
            errors = exc.errors if isinstance(exc, FieldErrors) else {}
            status = 409 if isinstance(exc, Conflict) else 422
            return await answer_action(
                request,
                order_id,
                exc.message,
                "error",
                status_code=status,
                tracking_form=form,
                tracking_errors=errors,
                carriers=await list_carriers(active_only=True),
            )
        detail = await load_detail(order_id)
        message = f"Tracking added. Mark as shipped to send it to {detail.channel.get('name', 'the channel')}."
        left = detail.shipping.left
        if left:
            message += f" {left} more item{'s' if left != 1 else ''} can go in another parcel: Add tracking again."
        return await answer_action(request, order_id, message, "success", detail)

    @post("/{shipment_id:int}/remove", guards=[require_operator])
    async def remove(
        self, request: Request, order_id: FromPath[int], shipment_id: FromPath[int], data: FORM
    ) -> Template:
        async def action():
            what = await remove_tracking(order_id, shipment_id, actor_of(request), form_version(data))
            return f"Tracking removed ({what}). Nothing had been sent to the channel.", "success"

        return await run_action(request, order_id, action)

    @post("/mark-shipped", guards=[require_operator])
    async def mark_as_shipped(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            result = await mark_shipped(order_id, actor_of(request), form_version(data))
            await dispatch_channel_order_now(order_id, http_client())
            detail = await load_detail(order_id)
            said, level = await channel_report(result.channel_keys, detail.channel.get("name", "The channel"))
            return f"{shipped_message(result)} {said}".strip(), level

        return await run_action(request, order_id, action)
