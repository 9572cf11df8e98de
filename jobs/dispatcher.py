"""The outbox dispatcher: deliver queued messages to channels, exactly once.

Each message is leased before sending. After a failure that may have reached the channel (a
timeout, a 5xx, a malformed answer) the channel's state is read before anything is sent again, so a
retry never applies a change twice. A step the channel does not accept in its current state is
refused before sending, with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import httpx

from connectors.base import ChannelConnector
from connectors.registry import channel_kinds
from jobs.connections import channel_connector
from jobs.instance import INSTANCE_ID
from models.channels.outbox import claim_due, claim_for_order, give_up, mark_done, schedule_retry
from models.core.links import web_link
from models.db.tables import Channel, Order, OutboxMessage
from models.ports import LineDecision, RemoteError, TrackingInfo

log = logging.getLogger(__name__)

#: For steps whose effect shows in the channel's order state: the states (in our terms) that prove
#: the step has happened. Tracking updates are not listed: sending the same tracking again is harmless.
APPLIED_WHEN = {
    "accept": frozenset(
        {"awaiting_fulfillment", "processing", "partially_shipped", "shipped", "delivered", "rejected"}
    ),
    "ship": frozenset({"shipped", "delivered"}),
    "cancel": frozenset({"cancelled"}),
    "delivered": frozenset({"delivered"}),
    "returned": frozenset({"returned"}),
}


async def dispatch_due(client: httpx.AsyncClient, owner: str = INSTANCE_ID, limit: int = 20) -> int:
    """Deliver up to `limit` due channel messages; returns how many were attempted."""
    messages = await claim_due(owner, limit, target_kind="channel")
    await _deliver_all(messages, client, owner)
    return len(messages)


async def _deliver_all(messages: list[dict[str, Any]], client: httpx.AsyncClient, owner: str) -> None:
    for message in messages:
        try:
            await deliver(message, client, owner)
        except Exception as exc:  # never lose the lease silently: record and retry later
            log.exception("delivering outbox message %s failed", message["id"])
            await schedule_retry(message, owner, f"Unexpected error: {type(exc).__name__}: {exc}", ambiguous=True)


async def dispatch_channel_order_now(
    order_id: int, client: httpx.AsyncClient, owner: str = INSTANCE_ID
) -> list[dict[str, Any]]:
    """Deliver one order's due channel messages at once, oldest first (a merchant waits to see the
    channel's answer). Returns those messages as they are afterwards (state, last error).

    A channel without a connector (none registered for its kind) is left to the scheduled dispatcher."""
    order = await Order.select(Order.channel.kind).where(Order.id == order_id).first()
    if order is None or order["channel.kind"] not in channel_kinds():
        return []
    messages = await claim_for_order(owner, order_id, target_kind="channel")
    await _deliver_all(messages, client, owner)
    if not messages:
        return []
    return (
        await OutboxMessage.select(
            OutboxMessage.id, OutboxMessage.action, OutboxMessage.state, OutboxMessage.last_error
        )
        .where(OutboxMessage.id.is_in([m["id"] for m in messages]))
        .order_by(OutboxMessage.id)
    )


def already_applied(
    connector: ChannelConnector, action: str, channel_state: str, payload: dict[str, Any] | None = None
) -> bool:
    """The channel's state shows that this step has already happened there."""
    internal = connector.pairing.to_internal.get(channel_state, "")
    applied = APPLIED_WHEN.get(action, frozenset())
    if action == "accept" and payload and not any(line.get("accepted") for line in payload.get("lines", [])):
        # Refusing every line ends the order on some channels (MALL cancels it).
        applied = applied | {"cancelled"}
    return internal in applied


async def deliver(message: dict[str, Any], client: httpx.AsyncClient, owner: str) -> None:
    if message["action"] == "stock":  # about offers, not an order
        from jobs.stock_push import deliver_stock

        await deliver_stock(message, client, owner)
        return
    channel = await Channel.select().where(Channel.id == message["target_id"]).first()
    order = await Order.select(Order.channel_order_id, Order.channel_status).where(Order.id == message["order"]).first()
    if channel is None or order is None:
        await give_up(message, owner, "The channel or order no longer exists.")
        return
    connector = channel_connector(channel, client)
    action = message["action"]
    payload = json.loads(message["payload"]) if isinstance(message["payload"], str) else message["payload"]
    channel_order_id = order["channel_order_id"]
    if action not in connector.pairing.actions:
        # e.g. Mirakl has no "delivered" step: the customer confirms receipt on the marketplace.
        await mark_done(message, owner)
        return
    try:
        if message["ambiguous"]:
            state = await connector.fetch_order_state(channel_order_id)
            if already_applied(connector, action, state, payload):
                await mark_done(message, owner, channel_state=state)
                return
        elif order["channel_status"] and not connector.pairing.allows(action, order["channel_status"]):
            # Our copy of the channel's state may be stale: ask before refusing.
            state = await connector.fetch_order_state(channel_order_id)
            if not connector.pairing.allows(action, state):
                if already_applied(connector, action, state, payload):
                    await mark_done(message, owner, channel_state=state)
                else:
                    await give_up(message, owner, connector.pairing.refusal(action, state))
                return
        await send(connector, action, channel_order_id, payload)
    except RemoteError as exc:
        if exc.retryable:
            # Anything but a refusal at the door (429, no connection) may have been applied.
            ambiguous = exc.ambiguous or exc.status_code not in (429, None)
            await schedule_retry(message, owner, exc.message, ambiguous=ambiguous, retry_after=exc.retry_after)
        elif await _applied_already(connector, action, channel_order_id, payload, message, owner):
            return
        else:
            await give_up(message, owner, f"{connector.label} refused: {exc.message}")
        return
    await mark_done(message, owner, channel_state=await confirmed_state(connector, channel_order_id))


async def _applied_already(
    connector: ChannelConnector, action: str, channel_order_id: str, payload: dict[str, Any], message, owner: str
) -> bool:
    """A refused step the channel shows as done was applied by an earlier attempt whose instance died
    before recording it (or whose answer was lost): it is done, not failed."""
    state = await confirmed_state(connector, channel_order_id)
    if state is None or not already_applied(connector, action, state, payload):
        return False
    await mark_done(message, owner, channel_state=state)
    return True


async def send(connector: ChannelConnector, action: str, channel_order_id: str, payload: dict[str, Any]) -> None:
    if action == "accept":
        decisions = [
            LineDecision(
                channel_line_id=str(line.get("line_id", "")),
                sku=str(line.get("sku", "")),
                accepted=bool(line.get("accepted")),
                quantity=int(line.get("quantity") or 0),
                reason=str(line.get("reason", "")),
            )
            for line in payload.get("lines", [])
        ]
        await connector.accept(channel_order_id, decisions)
    elif action == "tracking":
        await connector.push_tracking(
            channel_order_id,
            TrackingInfo(
                carrier_code=payload.get("carrier_code", ""),
                carrier_name=payload.get("carrier_name", ""),
                tracking_number=payload.get("tracking_number", ""),
                tracking_url=web_link(payload.get("tracking_url", "")),
                lines=payload.get("lines", {}),
                skus=payload.get("skus", {}),
            ),
        )
    elif action == "ship":
        await connector.ship(channel_order_id)
    elif action == "cancel":
        await connector.cancel(channel_order_id, payload.get("reason", ""))
    elif action == "delivered":
        await connector.mark_delivered(channel_order_id, dt.datetime.fromisoformat(payload["delivered_at"]))
    elif action == "returned":
        await connector.mark_returned(channel_order_id)
    else:
        raise RemoteError(f"Unknown outbox action “{action}”.", retryable=False)


async def confirmed_state(connector: ChannelConnector, channel_order_id: str) -> str | None:
    """The channel's state after our change, or None if it cannot be read now (kept for the next poll)."""
    try:
        return await connector.fetch_order_state(channel_order_id)
    except RemoteError:
        return None
