"""*Resubmit all* on a supplier page: start a run, then take its next orders until it is done.

The run's fragment asks for the next orders as soon as it is shown (htmx `load`), so the progress
bar moves a few orders per request; a plain form post works through the whole run at once.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from jobs.http import http_client
from jobs.supplier_dispatch import dispatch_order_now
from models.suppliers.resubmit_all import OUTCOMES, get_run, latest_run, resubmit_next, start_run, wallet_blocked_orders
from models.suppliers.supplier import get_supplier, orders_waiting_count
from web.auth import require_operator
from web.orders.page import actor_of
from web.pages import fragment, is_htmx


async def resubmit_context(supplier_id: int, run: Any = None) -> dict[str, Any]:
    """What the Resubmit all section shows: the orders the wallet holds and the latest run."""
    return {
        "wallet_blocked": len(await wallet_blocked_orders(supplier_id)),
        "resubmit_run": run or await latest_run(supplier_id),
        "outcome_labels": OUTCOMES,
    }


async def _send_now(order_id: int) -> None:
    await dispatch_order_now(order_id, http_client())


class SupplierResubmitController(Controller):
    path = "/suppliers/{supplier_id:int}/resubmit-all"
    include_in_schema = False

    async def _answer(self, request: Request, supplier_id: int, run: Any) -> Template:
        context = {
            "supplier": await get_supplier(supplier_id),
            "waiting": await orders_waiting_count(supplier_id),
            "has_connector": True,
            "refresh_after_run": run.done,
            **await resubmit_context(supplier_id, run),
        }
        return await fragment(request, "suppliers/_resubmit_all.html", **context)

    @post("/", guards=[require_operator])
    async def start(self, request: Request, supplier_id: FromPath[int]) -> Template | Redirect:
        await get_supplier(supplier_id)
        run_id = await start_run(supplier_id, request.user.username)
        if not is_htmx(request):
            run = await get_run(supplier_id, run_id)
            while not run.done:
                run = await resubmit_next(supplier_id, run_id, actor_of(request), _send_now)
            return Redirect(f"/suppliers/{supplier_id}#resubmit-all")
        return await self._answer(request, supplier_id, await get_run(supplier_id, run_id))

    @post("/{run_id:int}/next", guards=[require_operator])
    async def next_orders(self, request: Request, supplier_id: FromPath[int], run_id: FromPath[int]) -> Template:
        run = await resubmit_next(supplier_id, run_id, actor_of(request), _send_now)
        return await self._answer(request, supplier_id, run)
