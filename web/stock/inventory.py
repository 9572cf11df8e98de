"""The Inventory page: stock per SKU and its offer on each channel, *Sync stock now*, *Push now*, stock rules."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from jobs.http import http_client
from jobs.stock_jobs import push_now, sync_stock
from models.core.errors import FieldErrors
from models.stock.inventory import (
    FILTERS,
    inventory_page,
    set_channel_rule,
    set_supplier_minimum,
    sku_detail,
    sku_rows,
    stock_channels,
    stock_rules,
)
from web.auth import require_admin, require_operator
from web.form_body import FORM
from web.pages import fragment, is_htmx, render


class InventoryController(Controller):
    path = "/inventory"
    include_in_schema = False

    @get("/")
    async def inventory(
        self,
        request: Request,
        q: FromQuery[str] = "",
        show: FromQuery[str] = "all",
        after: FromQuery[str] = "",
        notice: FromQuery[str] = "",
    ) -> Template:
        show = show if show in FILTERS else "all"
        page = await inventory_page(q, show, after)
        context = {"page": page, "q": q, "show": show, "after": after, "filters": FILTERS}
        if is_htmx(request) and request.headers.get("hx-target") == "inventory-results":
            return await fragment(request, "stock/_results.html", **context)
        return await render(
            request, "stock/page.html", nav="inventory", notice=notice, rules=await stock_rules(), **context
        )

    @post("/sync", guards=[require_operator])
    async def sync_now(self, request: Request) -> Template | Redirect:
        result = await sync_stock(http_client(), deliver=True)
        message = result.summary()
        if not is_htmx(request):
            return Redirect(f"/inventory?notice={message}")
        return await fragment(request, "_flash.html", level="error" if result.failed else "ok", message=message)

    @get("/sku")
    async def sku(self, request: Request, sku: FromQuery[str]) -> Template:
        detail = await sku_detail(sku)
        if detail is None:
            raise NotFoundException(f"SKU {sku} is not in any supplier's catalog.")
        return await render(request, "stock/sku.html", nav="inventory", **detail)

    @post("/push", guards=[require_operator])
    async def push(self, request: Request, data: FORM) -> Template | Redirect:
        """*Push now* for one SKU: from its page (the offers section) or from a row of the list."""
        sku = str(data.get("sku", ""))
        place = str(data.get("from", "sku"))
        plan = await push_now([sku], http_client())
        if not is_htmx(request):
            return Redirect(f"/inventory/sku?sku={sku}" if place == "sku" else "/inventory")
        if place == "row":
            channels = await stock_channels()
            [row] = await sku_rows([sku], channels)
            return await fragment(request, "stock/_row.html", r=row, channels=channels, pushed=True)
        detail = await sku_detail(sku)
        if detail is None:
            raise NotFoundException(f"SKU {sku} is not in any supplier's catalog.")
        return await fragment(request, "stock/_offers.html", pushed=plan.changed, **detail)

    @post("/rules/channels/{channel_id:int}", guards=[require_admin])
    async def channel_rule(self, request: Request, channel_id: FromPath[int], data: FORM) -> Template | Redirect:
        errors: dict[str, str] = {}
        try:
            await set_channel_rule(
                channel_id, data.get("stock_sync") == "on", str(data.get("buffer", "")), str(data.get("cap", ""))
            )
        except FieldErrors as exc:
            errors = exc.errors
        return await self._rules(request, errors, channel_id=channel_id)

    @post("/rules/suppliers/{supplier_id:int}", guards=[require_admin])
    async def supplier_rule(self, request: Request, supplier_id: FromPath[int], data: FORM) -> Template | Redirect:
        errors: dict[str, str] = {}
        try:
            await set_supplier_minimum(supplier_id, str(data.get("minimum", "")))
        except FieldErrors as exc:
            errors = exc.errors
        return await self._rules(request, errors, supplier_id=supplier_id)

    async def _rules(self, request: Request, errors: dict[str, str], **where: int) -> Template | Redirect:
        if not is_htmx(request):
            if errors:
                return await render(
                    request,
                    "stock/page.html",
                    status_code=400,
                    nav="inventory",
                    page=await inventory_page(),
                    q="",
                    show="all",
                    after="",
                    filters=FILTERS,
                    rules=await stock_rules(),
                    rule_errors=errors,
                    rule_where=where,
                )
            return Redirect("/inventory?notice=Stock rules saved: they apply from the next sync.")
        return await fragment(
            request,
            "stock/_rules.html",
            status_code=400 if errors else 200,
            rules=await stock_rules(),
            rule_errors=errors,
            rule_where=where,
            saved=not errors,
        )
