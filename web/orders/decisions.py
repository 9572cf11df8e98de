"""Acceptance decisions as the order page and the API run them: decide, send, say what happened.

The decision itself is one domain operation (`models.orders.acceptance`). When it queued a message for the
channel, the merchant gets the answer at once and the message is delivered right after it
(`deliver_decision`, a background task of that response), as the dispatcher job would: a
marketplace's answer time never holds up the click. The order page then asks for the channel's
answer (`decision_answer`); a channel that does not answer is retried by the job, and a refusal is
shown there and under Connection issues. Callers that must have the channel's answer in the same
response (a form posted without JavaScript, an API client asking to wait) use `decide_and_send`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from connectors.registry import channel_kinds
from jobs.dispatcher import dispatch_channel_order_now
from jobs.http import http_client
from models.channels.outbox import DONE, PENDING
from models.db.tables import Order, OutboxMessage
from models.orders.acceptance import DecisionOutcome
from models.orders.lifecycle import OrderStatus

log = logging.getLogger(__name__)

#: Flash level of a decision still on its way to the channel (the API's `channel_outcome`).
SENDING = "sending"


@dataclass(frozen=True)
class DecisionAnswer:
    message: str
    #: Flash level: success, info (the channel has not answered yet), error (the channel refused) or
    #: `SENDING` (delivered right after this answer).
    level: str
    status: OrderStatus
    #: The decision alone, without what the channel said or is being told.
    decision: str = ""
    #: The channel's name when a message to it was queued (and is being or was sent).
    channel: str = ""


def channel_answer(channel_name: str, messages: list[dict[str, Any]]) -> tuple[str, str]:
    """What the channel did with the decision just sent: a sentence and a flash level."""
    if not messages:
        return f"The decision is on its way to {channel_name}.", "success"
    refused = [m for m in messages if m["state"] not in (DONE, PENDING)]
    waiting = [m for m in messages if m["state"] == PENDING]
    if refused:
        return (
            f"{channel_name} did not take the decision: {refused[0]['last_error']} "
            "Fix the cause, then use Retry on the Connection issues page.",
            "error",
        )
    if waiting:
        return (
            f"{channel_name} did not answer yet ({waiting[0]['last_error']}); Waybill keeps trying and lists "
            "the exchange under Connection issues until it succeeds.",
            "info",
        )
    return f"{channel_name} has the decision.", "success"


def sending_sentence(channel_name: str) -> str:
    return f"Sending the decision to {channel_name}…"


async def _decided(decision: Callable[[], Awaitable[DecisionOutcome]], order_id: int) -> tuple[DecisionOutcome, str]:
    """Run `decision`; also the name of the channel it queued a message for, if that channel has a connector."""
    outcome = await decision()
    if not outcome.sent_to_channel:
        return outcome, ""
    channel = await Order.select(Order.channel.name, Order.channel.kind).where(Order.id == order_id).first()
    if channel is None or channel["channel.kind"] not in channel_kinds():
        return outcome, ""
    return outcome, channel["channel.name"]


async def decide(order_id: int, decision: Callable[[], Awaitable[DecisionOutcome]]) -> DecisionAnswer:
    """Run `decision` and answer at once; when it queued a message for the channel, the level is
    `SENDING` and the caller delivers it after answering (`deliver_decision`). Domain errors propagate."""
    outcome, channel = await _decided(decision, order_id)
    if not channel:
        return DecisionAnswer(outcome.message, "success", outcome.status, outcome.message)
    said = sending_sentence(channel)
    return DecisionAnswer(f"{outcome.message} {said}", SENDING, outcome.status, outcome.message, channel)


async def deliver_decision(order_id: int) -> None:
    """Deliver the order's queued channel messages now; a failure is left to the dispatcher job."""
    try:
        await dispatch_channel_order_now(order_id, http_client())
    except Exception:  # the decision is saved; the dispatcher job delivers it
        log.exception("sending the decision on order %s at once failed", order_id)


async def decide_and_send(order_id: int, decision: Callable[[], Awaitable[DecisionOutcome]]) -> DecisionAnswer:
    """Run `decision` and deliver what it queued for the channel before answering, with the channel's
    answer in the message. Domain errors propagate unchanged."""
    outcome, channel = await _decided(decision, order_id)
    if not channel:
        return DecisionAnswer(outcome.message, "success", outcome.status, outcome.message)
    try:
        delivered = await dispatch_channel_order_now(order_id, http_client())
    except Exception:  # the decision is saved; the dispatcher job delivers it
        log.exception("sending the decision on order %s at once failed", order_id)
        delivered = []
    said, level = channel_answer(channel, delivered)
    return DecisionAnswer(f"{outcome.message} {said}", level, outcome.status, outcome.message, channel)


@dataclass(frozen=True)
class ChannelReply:
    channel: str
    #: What the channel said (a sentence and a flash level), or None while a decision is being sent.
    said: tuple[str, str] | None


async def decision_answer(order_id: int) -> ChannelReply | None:
    """What the channel said about the order's decisions; None when there is no such order."""
    order = await Order.select(Order.channel.name).where(Order.id == order_id).first()
    if order is None:
        return None
    messages = (
        await OutboxMessage.select(
            OutboxMessage.id, OutboxMessage.state, OutboxMessage.attempts, OutboxMessage.last_error
        )
        .where(
            (OutboxMessage.order == order_id)
            & (OutboxMessage.target_kind == "channel")
            & (OutboxMessage.action == "accept")
        )
        .order_by(OutboxMessage.id)
    )
    channel = order["channel.name"]
    if any(m["state"] == PENDING and m["attempts"] == 0 for m in messages):  # not tried yet, or in flight
        return ChannelReply(channel, None)
    return ChannelReply(channel, channel_answer(channel, messages))
