"""Acceptance decisions as the order page and the API run them: decide, send, say what happened.

The decision itself is one domain operation (`models.acceptance`). When it queued a message for the
channel, the message is delivered at once through the outbox (as the dispatcher job would), so the
merchant sees the channel's answer with the decision; a channel that does not answer is retried by
the job, and a refusal is shown here and under Connection issues.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from connectors.registry import channel_kinds
from jobs.dispatcher import dispatch_channel_order_now
from jobs.http import http_client
from models.acceptance import DecisionOutcome
from models.lifecycle import OrderStatus
from models.outbox import DONE, PENDING
from models.tables import Order

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecisionAnswer:
    message: str
    #: Flash level: success, info (the channel has not answered yet) or error (the channel refused).
    level: str
    status: OrderStatus


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


async def decide_and_send(order_id: int, decision: Callable[[], Awaitable[DecisionOutcome]]) -> DecisionAnswer:
    """Run `decision`; deliver what it queued for the channel now. Domain errors propagate unchanged."""
    outcome = await decision()
    if not outcome.sent_to_channel:
        return DecisionAnswer(outcome.message, "success", outcome.status)
    channel = await Order.select(Order.channel.name, Order.channel.kind).where(Order.id == order_id).first()
    if channel is None or channel["channel.kind"] not in channel_kinds():
        return DecisionAnswer(outcome.message, "success", outcome.status)
    try:
        delivered = await dispatch_channel_order_now(order_id, http_client())
    except Exception:  # the decision is saved; the dispatcher job delivers it
        log.exception("sending the decision on order %s at once failed", order_id)
        delivered = []
    said, level = channel_answer(channel["channel.name"], delivered)
    return DecisionAnswer(f"{outcome.message} {said}", level, outcome.status)
