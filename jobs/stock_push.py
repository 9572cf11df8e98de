"""Deliver stock pushes from the outbox: the latest quantity of each queued offer, in one batch."""

from __future__ import annotations

import json
from typing import Any

import httpx

from jobs.connections import channel_connector
from models.channels.outbox import give_up, mark_done, schedule_retry
from models.db.tables import Channel
from models.ports import RemoteError, StockUpdate
from models.stock.push import offers_to_send, record_push_failing, record_pushed


async def deliver_stock(message: dict[str, Any], client: httpx.AsyncClient, owner: str) -> None:
    channel = await Channel.select().where(Channel.id == message["target_id"]).first()
    if channel is None:
        await give_up(message, owner, "The channel no longer exists.")
        return
    payload = json.loads(message["payload"]) if isinstance(message["payload"], str) else message["payload"]
    offers = await offers_to_send(channel["id"], list(payload.get("skus", [])))
    if not offers:  # sent meanwhile by a newer push (Push now)
        await mark_done(message, owner)
        return
    try:
        connector = channel_connector(channel, client)
        unknown = await connector.push_stock([StockUpdate(o["sku"], o["quantity"]) for o in offers])
    except RemoteError as exc:
        if exc.retryable:
            kept = await schedule_retry(message, owner, exc.message, ambiguous=False, retry_after=exc.retry_after)
            await record_push_failing(channel, offers, exc.message, gave_up=not kept)
        else:
            await give_up(message, owner, f"{channel['name']} refused the stock update: {exc.message}")
            await record_push_failing(channel, offers, exc.message, gave_up=True)
        return
    await record_pushed(channel, offers, unknown)
    await mark_done(message, owner)
