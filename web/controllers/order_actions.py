"""Order page actions of the supplier side: Process, Resubmit order, Edit delivery address, Change
shipping method, line quantities, Order sent manually, and the audit filter.

Each htmx action answers with the fragment it changed (plus out-of-band updates of the status
badge, the lines and the order history); a plain form post gets the whole page back. Refusals and
conflicts are shown in the fragment, with nothing changed.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from jobs.http import http_client
from jobs.supplier_dispatch import dispatch_order_now
from models.actors import Actor
from models.dispatch import ProcessResult, change_shipping_method, process_order, resubmit_order
from models.errors import DomainError, FieldErrors
from models.order_edits import ADDRESS_FIELDS, edit_address, set_line_quantity
from models.order_queries import order_detail
from models.payloads import payload_versions
from models.supplier_outcomes import link_manual
from models.tables import ShippingMapping, Supplier
from web.auth import require_operator
from web.pages import fragment, is_htmx, render

FORM = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _actor(request: Request) -> Actor:
    return Actor.user(request.user.username)


def _version(data: dict[str, Any]) -> int | None:
    value = str(data.get("version", "")).strip()
    return int(value) if value.isdigit() else None


async def _detail(order_id: int):
    detail = await order_detail(order_id)
    if detail is None:
        raise NotFoundException(f"Order {order_id} does not exist.")
    return detail


def dispatch_summary(result: ProcessResult, supplier_orders: list[dict[str, Any]]) -> tuple[str, str]:
    """What sending did, from the supplier orders as they are after it: message and flash level."""
    if not result.sends:
        return result.message, "error" if result.problems else ("success" if result.notes else "info")

    def said(row: dict[str, Any]) -> str:
        return f"{row['supplier.name']}: {row['last_message'] or row['status'].replace('_', ' ')}"

    sent = [said(r) for r in supplier_orders if r["status"] == "processed"]
    refused = [said(r) for r in supplier_orders if r["status"] in ("failed", "error")]
    waiting = [r["supplier.name"] for r in supplier_orders if r["status"] == "pending"]
    held = [said(r) for r in supplier_orders if r["status"] == "on_hold"]
    parts = []
    if sent:
        parts.append("Sent. " + " ".join(sent) + ".")
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


async def render_order_page(request: Request, detail: Any, **extra: Any) -> Template:
    """The whole order page (also the answer to an action posted without htmx)."""
    context = {"d": detail, "o": detail.order, **await dispatch_context(), **extra}
    return await render(
        request, "orders/detail.html", nav="orders", payloads=await payload_versions(detail.order), **context
    )


async def dispatch_context() -> dict[str, Any]:
    """What the Send to suppliers panel offers: active suppliers and the methods already mapped."""
    suppliers = (
        await Supplier.select(Supplier.id, Supplier.name).where(Supplier.active.eq(True)).order_by(Supplier.name)
    )
    methods = await ShippingMapping.select(ShippingMapping.method).distinct().order_by(ShippingMapping.method)
    return {"suppliers": suppliers, "known_methods": [row["method"] for row in methods]}


class OrderActionsController(Controller):
    path = "/orders/{order_id:int}"
    include_in_schema = False

    async def _answer(
        self, request: Request, order_id: int, message: str = "", level: str = "success", detail: Any = None
    ) -> Template:
        detail = detail or await _detail(order_id)
        if not is_htmx(request):
            return await render_order_page(request, detail, message=message, level=level)
        context = {"d": detail, "o": detail.order, "message": message, "level": level, **await dispatch_context()}
        return await fragment(request, "orders/_fulfilment.html", oob=True, **context)

    async def _run(self, request: Request, order_id: int, action) -> Template:
        """Run an action; it returns (message, level), or a `ProcessResult` whose supplier orders were
        just sent, summed up from the order as it is afterwards."""
        try:
            outcome = await action()
        except DomainError as exc:  # a refusal or a conflict: nothing was changed
            return await self._answer(request, order_id, exc.message, "error")
        detail = await _detail(order_id)
        if isinstance(outcome, ProcessResult):
            message, level = dispatch_summary(outcome, detail.supplier_orders)
        else:
            message, level = outcome
        return await self._answer(request, order_id, message, level, detail)

    async def _send(self, order_id: int, result: ProcessResult) -> ProcessResult:
        """Send what was just queued at once: the supplier's answer is shown right away."""
        if result.sends:
            await dispatch_order_now(order_id, http_client())
        return result

    @post("/process", guards=[require_operator])
    async def process(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            return await self._send(order_id, await process_order(order_id, _actor(request), _version(data)))

        return await self._run(request, order_id, action)

    @post("/resubmit", guards=[require_operator])
    async def resubmit(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            return await self._send(order_id, await resubmit_order(order_id, _actor(request), _version(data)))

        return await self._run(request, order_id, action)

    @post("/shipping-method", guards=[require_operator])
    async def shipping_method(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            supplier = str(data.get("supplier", ""))
            if not supplier.isdigit():
                raise DomainError("Choose a supplier.")
            method = str(data.get("method", ""))
            await change_shipping_method(order_id, int(supplier), method, _actor(request), _version(data))
            return f"Shipping method set to {method.strip()}. Resubmit order to send it.", "success"

        return await self._run(request, order_id, action)

    @post("/sent-manually", guards=[require_operator])
    async def sent_manually(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action():
            supplier = str(data.get("supplier", ""))
            if not supplier.isdigit():
                raise DomainError("Choose the supplier the order was sent to.")
            reference = str(data.get("reference", ""))
            await link_manual(order_id, int(supplier), reference, _actor(request), _version(data))
            return (
                f"Marked as sent manually ({reference.strip()}). Its status and tracking now follow that order.",
                "success",
            )

        return await self._run(request, order_id, action)

    @get("/address")
    async def address(self, request: Request, order_id: FromPath[int]) -> Template:
        detail = await _detail(order_id)
        return await fragment(request, "orders/_address.html", d=detail, o=detail.order)

    @get("/address/edit", guards=[require_operator])
    async def address_form(self, request: Request, order_id: FromPath[int]) -> Template:
        detail = await _detail(order_id)
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
            sent_to = await edit_address(order_id, values, _actor(request), _version(data))
        except FieldErrors as exc:
            detail = await _detail(order_id)
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
            detail = await _detail(order_id)
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
        detail = await _detail(order_id)
        note = "Address saved."
        if sent_to:
            note += f" Sent to {', '.join(sent_to)}, which checks it again."
        elif detail.order["status"] == "pending_review":
            note += " Resubmit order to send it."
        if not is_htmx(request):
            return await render_order_page(request, detail, message=note, level="success")
        return await fragment(
            request,
            "orders/_address.html",
            d=detail,
            o=detail.order,
            address_note=note,
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
            if not raw.lstrip("-").isdigit():
                raise FieldErrors({f"qty_{line_id}": "Enter a whole number."})
            await set_line_quantity(order_id, line_id, int(raw), _actor(request), _version(data))
            message = "Quantity saved."
        except FieldErrors as exc:
            errors, message, level = exc.errors, next(iter(exc.errors.values())), "error"
        except DomainError as exc:
            message, level = exc.message, "error"
        detail = await _detail(order_id)
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
        detail = await _detail(order_id)
        events = detail.events
        if sku:
            events = [e for e in events if e.get("order_line.sku") == sku or sku in e["message"]]
        return await fragment(request, "orders/_audit.html", d=detail, o=detail.order, events=events, audit_sku=sku)
