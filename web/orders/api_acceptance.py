"""JSON API v1: accept and reject marketplace orders, whole or line by line, and lower a line's quantity.

The same domain operations and messages as the order page (`models.orders.acceptance`), with an API token
of a user who may change orders. A decision that no longer applies (someone decided first, the order
moved on, or `version` is not the order's version any more) answers 409 and changes nothing; input
the rules refuse answers 422 with the message per field.

A decision for the channel is delivered right after the answer (`channel_outcome` is `sending`);
`?wait=true` delivers it first and answers with what the channel said.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter, QueryParameter

from models.core.money import amount
from models.orders.acceptance import (
    REJECTION_REASONS,
    DecisionOutcome,
    accept_order,
    decide_line,
    edit_line_quantity,
    reject_order,
)
from models.orders.queries import order_with_lines
from web.api_errors import REFUSALS, ApiError
from web.api_params import OptionalBody, Quantity, RowId, Version
from web.api_results import ApiOrderChange, order_change
from web.auth import require_operator
from web.orders.api import ApiLine
from web.orders.decisions import SENDING, DecisionAnswer, decide, decide_and_send, deliver_decision
from web.orders.page import actor_of


@dataclass
class ApiVersion:
    """`version`: the order version you read (GET /api/v1/orders/{id}); if the order changed since, 409."""

    version: Version = None


#: The reason codes, listed in the schema; another value is refused as input (422, `errors.reason`).
RejectionReason = Annotated[str, Parameter(schema_extra={"enum": list(REJECTION_REASONS)})]


@dataclass
class ApiRejection:
    """`reason`: out_of_stock, price_error, cannot_ship_to_address or other (then `reason_text` is required)."""

    reason: RejectionReason
    reason_text: str = ""
    version: Version = None


@dataclass
class ApiQuantity:
    """`quantity`: the new quantity, from 1 to the line's current quantity (it can only be lowered)."""

    quantity: Quantity
    version: Version = None


@dataclass
class ApiDecision(ApiOrderChange):
    #: `sending` (delivered right after this answer; `channel_status` of GET /api/v1/orders/{id} follows once
    #: the channel confirms), `success`, `info` (the channel has not answered yet; Waybill keeps trying) or
    #: `error` (the channel refused; listed under connection issues). The same as `level`.
    channel_outcome: str
    lines: list[ApiLine]


ERRORS = {
    **REFUSALS,
    404: ResponseSpec(ApiError, description="No such order, or the line is not part of it."),
    409: ResponseSpec(
        ApiError,
        description="The decision no longer applies: the line or order was decided first by someone else, the "
        "order is no longer awaiting acceptance, or `version` is not the order's current version. Nothing changed.",
    ),
    422: ResponseSpec(
        ApiError,
        description="The rules refuse it (e.g. no rejection reason, a quantity raised, a channel that cannot refuse "
        "single lines, an order that needs review first). `errors` names the fields. Nothing changed.",
    ),
}


#: `?wait=true`: deliver the decision to the channel before answering, with the channel's answer.
Wait = Annotated[
    bool,
    QueryParameter(
        description="Deliver the decision to the channel before answering and say what the channel answered "
        "(`channel_outcome`). Without it the answer comes at once and the decision is sent right after.",
    ),
]


async def _decided(
    order_id: int, decision: Callable[[], Awaitable[DecisionOutcome]], wait: bool
) -> Response[ApiDecision]:
    answer = await (decide_and_send if wait else decide)(order_id, decision)
    body = await _answer(order_id, answer)
    background = BackgroundTask(deliver_decision, order_id) if answer.level == SENDING else None
    return Response(body, status_code=200, background=background)


async def _answer(order_id: int, answer: DecisionAnswer) -> ApiDecision:
    found = await order_with_lines(order_id)
    if found is None:
        raise NotFoundException(f"Order {order_id} does not exist.")
    o, order_lines = found
    lines = [
        ApiLine(
            line["id"],
            line["position"],
            line["sku"],
            line["title"],
            line["quantity"],
            amount(line["unit_price"], o["currency"]),
            line["status"],
            line["rejection_reason"],
        )
        for line in order_lines
    ]
    return order_change(ApiDecision, o, answer.message, answer.level, channel_outcome=answer.level, lines=lines)


class ApiAcceptanceController(Controller):
    path = "/api/v1/orders/{order_id:int}"
    tags = ["acceptance"]
    guards = [require_operator]

    @post(
        "/accept",
        operation_class=OptionalBody,
        status_code=200,
        summary="Accept order",
        description="Accepts every line still to decide. The decision goes to the channel as it expects it.",
        responses=ERRORS,
    )
    async def accept(
        self, request: Request, order_id: RowId, data: JSONBody[ApiVersion | None] = None, wait: Wait = False
    ) -> Response[ApiDecision]:
        version = data.version if data else None
        return await _decided(order_id, lambda: accept_order(order_id, actor_of(request), version), wait)

    @post(
        "/reject",
        status_code=200,
        summary="Reject order",
        description="Rejects every line still to decide, with one reason.",
        responses=ERRORS,
    )
    async def reject(
        self, request: Request, order_id: RowId, data: JSONBody[ApiRejection], wait: Wait = False
    ) -> Response[ApiDecision]:
        return await _decided(
            order_id,
            lambda: reject_order(order_id, actor_of(request), data.reason, data.reason_text, data.version),
            wait,
        )

    @post(
        "/lines/{line_id:int}/accept",
        operation_class=OptionalBody,
        status_code=200,
        summary="Accept one line",
        responses=ERRORS,
    )
    async def accept_line(
        self,
        request: Request,
        order_id: RowId,
        line_id: RowId,
        data: JSONBody[ApiVersion | None] = None,
        wait: Wait = False,
    ) -> Response[ApiDecision]:
        version = data.version if data else None
        return await _decided(
            order_id, lambda: decide_line(order_id, line_id, True, actor_of(request), expected_version=version), wait
        )

    @post(
        "/lines/{line_id:int}/reject",
        status_code=200,
        summary="Reject one line",
        description="Channels that cannot refuse single lines (MALL) answer 422: reject the whole order instead.",
        responses=ERRORS,
    )
    async def reject_line(
        self, request: Request, order_id: RowId, line_id: RowId, data: JSONBody[ApiRejection], wait: Wait = False
    ) -> Response[ApiDecision]:
        return await _decided(
            order_id,
            lambda: decide_line(
                order_id, line_id, False, actor_of(request), data.reason, data.reason_text, data.version
            ),
            wait,
        )

    @post(
        "/lines/{line_id:int}/quantity",
        status_code=200,
        summary="Lower a line's quantity (Edit)",
        description="Only while the line is still to decide; a quantity can be lowered, never raised.",
        responses=ERRORS,
    )
    async def edit_line(
        self, request: Request, order_id: RowId, line_id: RowId, data: JSONBody[ApiQuantity], wait: Wait = False
    ) -> Response[ApiDecision]:
        return await _decided(
            order_id,
            lambda: edit_line_quantity(order_id, line_id, data.quantity, actor_of(request), data.version),
            wait,
        )
