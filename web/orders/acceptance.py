"""Order page actions of marketplace acceptance: Accept order, Reject order, and per line Edit,
Accept and Reject.

Each htmx action answers with the `#fulfilment` fragment (the acceptance card is part of it) plus
out-of-band updates of the status, lines and audit trail; a plain form post gets the whole page.
A decision for the channel is delivered right after the htmx answer, which shows it being sent and
asks `decision-answer` for the channel's answer; a plain form post waits for the channel instead.
A missing rejection reason or a bad quantity is shown at its field with what was typed kept;
refusals and conflicts change nothing and say why.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from models.core.errors import DomainError, FieldErrors
from models.orders.acceptance import accept_order, decide_line, edit_line_quantity, reject_order
from web.auth import require_operator
from web.form_body import FORM, typed_number
from web.input_bounds import PollCount
from web.orders.actions import row_answer
from web.orders.decisions import SENDING, decide, decide_and_send, decision_answer, deliver_decision, sending_sentence
from web.orders.page import actor_of, answer_action, form_version, load_detail, render_order_page
from web.pages import fragment, is_htmx

#: How many times the page asks for the channel's answer (about one a second) before it stops asking.
ANSWER_POLLS = 30


def sending_state(channel: str, attempt: int, waited_enough: bool = False) -> dict[str, Any]:
    """What `orders/_decision_answer.html` shows while a decision is on its way to the channel."""
    return {"channel": channel, "text": sending_sentence(channel), "try": attempt, "waited_enough": waited_enough}


def _reason(data: dict[str, Any]) -> tuple[str, str]:
    return str(data.get("reason", "")), str(data.get("reason_text", ""))


def _quantity(raw: str) -> int:
    return typed_number(raw, "quantity", "Quantity not saved.")


class OrderAcceptanceController(Controller):
    path = "/orders/{order_id:int}"
    include_in_schema = False

    async def _decide(self, request: Request, order_id: int, decision, form: dict[str, Any]) -> Template:
        """Run a decision and answer; `form` says which form to show again, with its values, on bad input."""
        htmx = is_htmx(request)
        try:
            answer = await (decide if htmx else decide_and_send)(order_id, decision)
        except FieldErrors as exc:
            acceptance = {**form, "errors": exc.errors}
            return await answer_action(request, order_id, exc.message, "error", acceptance=acceptance)
        except DomainError as exc:
            return await answer_action(request, order_id, exc.message, "error")
        if answer.level != SENDING:
            return await answer_action(request, order_id, answer.message, answer.level)
        response = await answer_action(
            request, order_id, answer.decision, "success", decision_sending=sending_state(answer.channel, 1)
        )
        response.background = BackgroundTask(deliver_decision, order_id)
        return response

    @post("/accept", guards=[require_operator])
    async def accept(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        return await self._decide(
            request, order_id, lambda: accept_order(order_id, actor_of(request), form_version(data)), {}
        )

    @post("/accept-row", guards=[require_operator])
    async def accept_row(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        """Accept from the dashboard: the row answers at once; the marketplace is told right after."""
        try:
            answer = await decide(order_id, lambda: accept_order(order_id, actor_of(request), form_version(data)))
        except DomainError as exc:
            return await row_answer(request, order_id, data, exc.message, "error")
        level = "success" if answer.level == SENDING else answer.level
        response = await row_answer(request, order_id, data, answer.message, level)
        if answer.level == SENDING:
            response.background = BackgroundTask(deliver_decision, order_id)
        return response

    @post("/reject", guards=[require_operator])
    async def reject(self, request: Request, order_id: FromPath[int], data: FORM) -> Template:
        reason, text = _reason(data)
        return await self._decide(
            request,
            order_id,
            lambda: reject_order(order_id, actor_of(request), reason, text, form_version(data)),
            {"open": "reject-order", "values": {"reason": reason, "reason_text": text}},
        )

    @post("/lines/{line_id:int}/accept", guards=[require_operator])
    async def accept_line(
        self, request: Request, order_id: FromPath[int], line_id: FromPath[int], data: FORM
    ) -> Template:
        return await self._decide(
            request,
            order_id,
            lambda: decide_line(order_id, line_id, True, actor_of(request), expected_version=form_version(data)),
            {},
        )

    @post("/lines/{line_id:int}/reject", guards=[require_operator])
    async def reject_line(
        self, request: Request, order_id: FromPath[int], line_id: FromPath[int], data: FORM
    ) -> Template:
        reason, text = _reason(data)
        return await self._decide(
            request,
            order_id,
            lambda: decide_line(order_id, line_id, False, actor_of(request), reason, text, form_version(data)),
            {"open": f"reject-{line_id}", "values": {"reason": reason, "reason_text": text}},
        )

    @post("/lines/{line_id:int}/edit", guards=[require_operator])
    async def edit_line(
        self, request: Request, order_id: FromPath[int], line_id: FromPath[int], data: FORM
    ) -> Template:
        raw = str(data.get("quantity", ""))

        async def edit():
            return await edit_line_quantity(order_id, line_id, _quantity(raw), actor_of(request), form_version(data))

        return await self._decide(request, order_id, edit, {"open": f"edit-{line_id}", "values": {"quantity": raw}})

    @get("/decision-answer", guards=[require_operator])
    async def channel_answer(self, request: Request, order_id: FromPath[int], attempt: PollCount = 1) -> Template:
        """The channel's answer to a decision being sent: asked again shortly while it is on its way;
        once it is there, the summary and order history are brought up to date with it."""
        reply = await decision_answer(order_id)
        if reply is None:
            raise NotFoundException(f"Order {order_id} does not exist.")
        if reply.said is None:
            sending = sending_state(reply.channel, attempt + 1, waited_enough=attempt >= ANSWER_POLLS)
            return await fragment(request, "orders/_decision_answer.html", sending=sending, order_id=order_id)
        detail = await load_detail(order_id)
        message, level = reply.said
        return await fragment(
            request, "orders/_decision_answer.html", message=message, level=level, d=detail, o=detail.order
        )

    @get("/acceptance", guards=[require_operator])
    async def acceptance_card(
        self, request: Request, order_id: FromPath[int], line_form: FromQuery[str] = ""
    ) -> Template:
        """The acceptance card with one line's Edit or Reject form open (`line_form`: edit-<id>, reject-<id>)."""
        detail = await load_detail(order_id)
        acceptance = {"open": line_form}
        if not is_htmx(request):
            return await render_order_page(request, detail, acceptance=acceptance)
        return await fragment(request, "orders/_acceptance.html", d=detail, o=detail.order, acceptance=acceptance)
