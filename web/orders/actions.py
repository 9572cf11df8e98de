"""Order page actions of the supplier side: Process, Resubmit order, Edit delivery address, Change
shipping method, line quantities, Order sent manually, and the audit filter.

Each htmx action answers with the fragment it changed (plus out-of-band updates of the status
badge, the lines and the order history); a plain form post gets the whole page back. Refusals and
conflicts are shown in the fragment, with nothing changed.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import parse_qsl

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from jobs.connections import supplier_lookup
from jobs.http import http_client
from jobs.supplier_dispatch import dispatch_order_now
from models.channels.outbox import waiting_targets
from models.core.errors import DomainError, FieldErrors
from models.orders.edits import ADDRESS_FIELDS, dismiss_issue, edit_address, set_line_quantity
from models.orders.queries import channel_names, list_row, order_supplier_orders, tab_counts
from models.suppliers.dispatch import ProcessResult, change_shipping_method, process_order, resubmit_order
from models.suppliers.manual_orders import link_manual
from web.auth import require_operator
from web.form_body import FORM, form_id, typed_number
from web.orders.filters import parse_filter
from web.orders.page import (
    actor_of,
    address_sent_summary,
    dispatch_context,
    dispatch_summary,
    form_version,
    load_detail,
    render_order_page,
    run_action,
)
from web.pages import current_timezone, fragment, is_htmx


async def _send(order_id: int, result: ProcessResult) -> ProcessResult:
    """Send what was just queued at once: the supplier's answer is shown right away."""
    if result.sends:
        await dispatch_order_now(order_id, http_client())
    return result


async def row_answer(request: Request, order_id: int, data: dict, message: str, level: str) -> Template:
    """A dashboard row after an action on it: the order as it is now and what happened, with the tab counts
    and summary of the list it sits in (`list_query`), which change with the order."""
    page = await list_row(order_id)
    if not page.rows:
        raise NotFoundException(f"Order {order_id} does not exist.")
    parsed = parse_filter(dict(parse_qsl(str(data.get("list_query", ""))[:2000])), await current_timezone())
    return await fragment(
        request,
        "orders/_row.html",
        o=page.rows[0],
        page=page,
        channel_names=await channel_names(),
        row_message=message,
        row_level=level,
        parsed=parsed,
        tabs=await tab_counts(parsed.flt),
        swap_oob=True,
    )


class OrderActionsController(Controller):
    path = "/orders/{order_id:int}"
    include_in_schema = False

    @post("/process", guards=[require_operator])
    async def process(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            return await _send(order_id, await process_order(order_id, actor_of(request), form_version(data)))

        return await run_action(request, order_id, action)

    @post("/process-row", guards=[require_operator])
    async def process_row(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        """Process from the dashboard: the row answers with the order as it is now and what happened."""
        try:
            result = await _send(order_id, await process_order(order_id, actor_of(request), form_version(data)))
            message, level = dispatch_summary(result, await order_supplier_orders(order_id))
        except DomainError as exc:
            message, level = exc.message, "error"
        return await row_answer(request, order_id, data, message, level)

    @post("/resubmit", guards=[require_operator])
    async def resubmit(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            return await _send(order_id, await resubmit_order(order_id, actor_of(request), form_version(data)))

        return await run_action(request, order_id, action)

    @post("/shipping-method", guards=[require_operator])
    async def shipping_method(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            supplier = form_id(data, "supplier", "supplier")
            if supplier is None:
                raise DomainError("Choose a supplier.")
            method = str(data.get("method", ""))
            await change_shipping_method(order_id, supplier, method, actor_of(request), form_version(data))
            return f"Shipping method set to {method.strip()}. Resubmit order to send it.", "success"

        return await run_action(request, order_id, action)

    @post("/sent-manually", guards=[require_operator])
    async def sent_manually(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            supplier = form_id(data, "supplier", "supplier")
            if supplier is None:
                raise DomainError("Choose the supplier the order was sent to.")
            linked = await link_manual(
                order_id,
                supplier,
                str(data.get("reference", "")),
                actor_of(request),
                form_version(data),
                lookup_for=partial(supplier_lookup, client=http_client()),
                relink=data.get("relink") == "1",
            )
            return linked.message, "success" if linked.confirmed else "info"

        return await run_action(request, order_id, action, form=dict(data))

    @post("/issues/dismiss", guards=[require_operator])
    async def dismiss(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            code = str(data.get("code", ""))
            await dismiss_issue(order_id, code, str(data.get("reason", "")), actor_of(request), form_version(data))
            return f"Dismissed: {code.replace('_', ' ')}. The audit trail keeps the reason.", "success"

        return await run_action(request, order_id, action, form=dict(data))

    @get("/address")
    async def address(self, request: Request, order_id: FromPath[int]) -> Template:
        detail = await load_detail(order_id)
        return await fragment(request, "orders/_address.html", d=detail, o=detail.order)

    @get("/address/edit", guards=[require_operator])
    async def address_form(self, request: Request, order_id: FromPath[int]) -> Template:
        detail = await load_detail(order_id)
        values = {name: detail.order[name] for name in ADDRESS_FIELDS}
        return await fragment(
            request,
            "orders/_address_form.html",
            d=detail,
            o=detail.order,
            values=values,
            errors={},
            fields=ADDRESS_FIELDS,
        )

    @post("/address", guards=[require_operator])
    async def save_address(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        values = {name: str(data.get(name, "")) for name in ADDRESS_FIELDS}
        try:
            sent_to = await edit_address(order_id, values, actor_of(request), form_version(data))
        except FieldErrors as exc:
            detail = await load_detail(order_id)
            return await fragment(
                request,
                "orders/_address_form.html",
                status_code=422,
                d=detail,
                o=detail.order,
                values=values,
                errors=exc.errors,
                fields=ADDRESS_FIELDS,
                message=exc.message,
            )
        except DomainError as exc:
            detail = await load_detail(order_id)
            return await fragment(
                request,
                "orders/_address_form.html",
                status_code=409,
                d=detail,
                o=detail.order,
                values=values,
                errors={},
                fields=ADDRESS_FIELDS,
                message=exc.message,
            )
        if sent_to:
            # Send the corrected address at once, as Process does: the supplier checks it on the spot.
            await dispatch_order_now(order_id, http_client())
        detail = await load_detail(order_id)
        note, level = "Address saved.", "success"
        if sent_to:
            waiting = await waiting_targets(order_id, "supplier")
            note, level = address_sent_summary(sent_to, detail.supplier_orders, waiting)
        elif detail.order["status"] == "pending_review":
            note += " Resubmit order to send it."
        if not is_htmx(request):
            return await render_order_page(request, detail, message=note, level=level)
        return await fragment(
            request,
            "orders/_address.html",
            d=detail,
            o=detail.order,
            address_note=note,
            address_level=level,
            refresh_fulfilment=True,
            **await dispatch_context(),
        )

    @post("/lines/{line_id:int}/quantity", guards=[require_operator])
    async def line_quantity(
        self, request: Request, order_id: FromPath[int], line_id: FromPath[int], data: FORM
    ) -> Template:
        raw = str(data.get("quantity", "")).strip()
        errors: dict[str, str] = {}
        message, level = "", "success"
        try:
            quantity = typed_number(raw, f"qty_{line_id}")
            await set_line_quantity(order_id, line_id, quantity, actor_of(request), form_version(data))
            message = "Quantity saved."
        except FieldErrors as exc:
            errors, message, level = exc.errors, next(iter(exc.errors.values())), "error"
        except DomainError as exc:
            message, level = exc.message, "error"
        detail = await load_detail(order_id)
        return await fragment(
            request,
            "orders/_lines.html",
            d=detail,
            o=detail.order,
            line_errors=errors,
            lines_message=message,
            lines_level=level,
            refresh_fulfilment=True,
            **await dispatch_context(),
        )

    @get("/audit")
    async def audit(self, request: Request, order_id: FromPath[int], sku: FromQuery[str] = "") -> Template:
        detail = await load_detail(order_id)
        events = detail.events
        if sku:
            events = [e for e in events if e.get("order_line.sku") == sku or sku in e["message"]]
        return await fragment(request, "orders/_audit.html", d=detail, o=detail.order, events=events, audit_sku=sku)
