"""JSON API v1: mark paid, deliver, return and cancel an order, with the dashboard's rules and words.

A refusal is a 422 whose `detail` says why (a delivered order: it is final), with `errors` per field
when the input was wrong; a stale `version` is a 409. Viewers' tokens may read but not change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, post
from litestar.openapi.spec import Example
from litestar.params import JSONBody, Parameter

from web.api_errors import CHANGE_REFUSALS
from web.api_params import VERSION_HELP, OptionalBody, RowId, Version
from web.api_results import ApiOrderChange, order_change, order_row
from web.auth import require_operator
from web.orders import closing_steps as steps
from web.orders.closing_steps import Outcome
from web.orders.page import actor_of

VERSION = Version


@dataclass
class MarkPaidRequest:
    version: VERSION = None


@dataclass
class DeliverRequest:
    delivered_at: Annotated[
        str,
        Parameter(
            description="`YYYY-MM-DD` (a day in the merchant's time zone) or an ISO 8601 date and time.",
            examples=[Example(value="2026-05-12")],
        ),
    ] = ""
    version: VERSION = None


@dataclass
class ReturnRequest:
    note: Annotated[
        str, Parameter(description="What happened, e.g. “address unknown” (optional, at most 300 characters).")
    ] = ""
    version: VERSION = None


@dataclass
class CancelRequest:
    reason: Annotated[
        str,
        Parameter(
            description="Why the order is cancelled (required, at most 300 characters).",
            examples=[Example(value="Customer asked to cancel")],
        ),
    ] = ""
    version: VERSION = None


@dataclass
class ApiClosingResult(ApiOrderChange):
    """`message` includes what the suppliers and the channel made of it; `level` is `success`, or `warn` when
    a supplier or the channel has not confirmed (yet)."""

    #: The same as `order_id`.
    id: int
    channel_order_id: str
    payment_status: str
    delivered_at: dt.datetime | None


async def _answer(order_id: int, outcome: Outcome) -> ApiClosingResult:
    order = await order_row(order_id)
    message, level = outcome
    return order_change(
        ApiClosingResult,
        order,
        message,
        level,
        id=order["id"],
        channel_order_id=order["channel_order_id"],
        payment_status=order["payment_status"],
        delivered_at=order["delivered_at"],
    )


RESPONSES = "Answers the order's new state and what happened. 422: not possible now (`detail` says why). "
REFUSALS = CHANGE_REFUSALS


class ApiClosingController(Controller):
    path = "/api/v1/orders/{order_id:int}"
    tags = ["orders"]
    guards = [require_operator]

    @post(
        "/mark-paid",
        operation_class=OptionalBody,
        status_code=200,
        responses=REFUSALS,
        summary="Mark as paid",
        description="For orders paid on account; card orders arrive paid. " + RESPONSES + VERSION_HELP,
    )
    async def mark_paid(
        self, request: Request, order_id: RowId, data: JSONBody[MarkPaidRequest | None] = None
    ) -> ApiClosingResult:
        data = data or MarkPaidRequest()
        return await _answer(order_id, await steps.pay(order_id, actor_of(request), data.version))

    @post(
        "/deliver",
        status_code=200,
        responses=REFUSALS,
        summary="Mark as delivered",
        description="Needs `delivered_at`: not in the future, not before the order shipped. Delivered is final: "
        "afterwards every change to the order is refused. " + RESPONSES + VERSION_HELP,
    )
    async def deliver(self, request: Request, order_id: RowId, data: JSONBody[DeliverRequest]) -> ApiClosingResult:
        outcome = await steps.deliver(order_id, data.delivered_at, actor_of(request), data.version)
        return await _answer(order_id, outcome)

    @post(
        "/return",
        operation_class=OptionalBody,
        status_code=200,
        responses=REFUSALS,
        summary="Mark as returned",
        description="The parcel came back undelivered; only for shipped orders. " + RESPONSES + VERSION_HELP,
    )
    async def mark_returned(
        self, request: Request, order_id: RowId, data: JSONBody[ReturnRequest | None] = None
    ) -> ApiClosingResult:
        data = data or ReturnRequest()
        return await _answer(order_id, await steps.return_parcel(order_id, data.note, actor_of(request), data.version))

    @post(
        "/cancel",
        status_code=200,
        responses=REFUSALS,
        summary="Cancel order",
        description="Only before anything has shipped; needs a `reason`. Suppliers holding the order are asked "
        "to cancel it and the channel is told. " + RESPONSES + VERSION_HELP,
    )
    async def cancel(self, request: Request, order_id: RowId, data: JSONBody[CancelRequest]) -> ApiClosingResult:
        return await _answer(order_id, await steps.cancel(order_id, data.reason, actor_of(request), data.version))
