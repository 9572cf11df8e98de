"""The channel's own versions of an order, kept for diagnosis and replay."""

from __future__ import annotations

from typing import Any

from models.db.tables import Order, RawPayload


async def payload_versions(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Every distinct version received, newest first (without bodies)."""
    return (
        await RawPayload.select(RawPayload.id, RawPayload.received_at, RawPayload.digest)
        .where((RawPayload.channel == order["channel"]) & (RawPayload.channel_order_id == order["channel_order_id"]))
        .order_by(RawPayload.received_at, ascending=False)
        .order_by(RawPayload.id, ascending=False)
    )


async def payload_for_order(order_id: int, payload_id: int) -> dict[str, Any] | None:
    """One stored version, only if it belongs to that order."""
    order = await Order.select(Order.channel, Order.channel_order_id).where(Order.id == order_id).first()
    if order is None:
        return None
    return (
        await RawPayload.select()
        .where(
            (RawPayload.id == payload_id)
            & (RawPayload.channel == order["channel"])
            & (RawPayload.channel_order_id == order["channel_order_id"])
        )
        .first()
    )
