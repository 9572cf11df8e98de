"""Order page actions that close an order: Mark as paid, Mark as delivered, Mark as returned, Cancel order.

Each answers like every order action (`web.orders.page`): the fulfilment fragment with out-of-band
updates, or the whole page for a plain form post. What the step needs to tell suppliers and the
channel is sent at once, so the answer says what they made of it.
"""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.response import Template

from web.auth import require_operator
from web.form_body import FORM
from web.orders import closing_steps as steps
from web.orders.page import actor_of, form_version, run_action


class OrderClosingController(Controller):
    path = "/orders/{order_id:int}"
    include_in_schema = False
    guards = [require_operator]

    @post("/mark-paid")
    async def mark_paid(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action() -> tuple[str, str]:
            return await steps.pay(order_id, actor_of(request), form_version(data))

        return await run_action(request, order_id, action, data)

    @post("/deliver")
    async def deliver(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action() -> tuple[str, str]:
            return await steps.deliver(
                order_id, str(data.get("delivered_at", "")), actor_of(request), form_version(data)
            )

        return await run_action(request, order_id, action, data)

    @post("/return")
    async def mark_returned(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action() -> tuple[str, str]:
            return await steps.return_parcel(order_id, str(data.get("note", "")), actor_of(request), form_version(data))

        return await run_action(request, order_id, action, data)

    @post("/cancel")
    async def cancel(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        async def action() -> tuple[str, str]:
            return await steps.cancel(order_id, str(data.get("reason", "")), actor_of(request), form_version(data))

        return await run_action(request, order_id, action, data)
