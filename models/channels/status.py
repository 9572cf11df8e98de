"""Follow what the channel says happened to an order on its side (e.g. the customer cancelled)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.core.actors import Actor
from models.core.errors import DomainError
from models.db.tables import Order
from models.orders.closing import cancel_order
from models.orders.lifecycle import OrderStatus, is_allowed
from models.ports import IncomingOrder


async def follow_channel_states(
    channel: dict[str, Any], incoming: list[IncomingOrder], to_internal: Mapping[str, str]
) -> int:
    """Cancel local orders the channel reports as cancelled, where our lifecycle still allows it.

    Returns how many orders were cancelled. Anything else the channel reports is kept as its
    confirmed status beside ours (done by the import) and never overrides the merchant's work.
    """
    cancelled_ids = [o.channel_order_id for o in incoming if to_internal.get(o.channel_status) == "cancelled"]
    if not cancelled_ids:
        return 0
    rows = await Order.select(Order.id, Order.status).where(
        (Order.channel == channel["id"]) & Order.channel_order_id.is_in(cancelled_ids)
    )
    done = 0
    for row in rows:
        if is_allowed(OrderStatus(row["status"]), OrderStatus.CANCELLED):
            try:
                await cancel_order(
                    row["id"], Actor.channel(channel["name"]), "cancelled on the channel", notify_channel=False
                )
                done += 1
            except DomainError:
                continue
    return done


async def only_open_or_known(
    channel: dict[str, Any], incoming: list[IncomingOrder], importable: frozenset[str]
) -> list[IncomingOrder]:
    """Only orders the channel reports as open are imported; closed ones only update known orders.

    An unknown order that is already shipped or closed on the channel (e.g. handled before the
    shop was connected) must never appear as work to do.
    """
    closed = [o.channel_order_id for o in incoming if o.channel_status and o.channel_status not in importable]
    if not closed:
        return incoming
    known = {
        row["channel_order_id"]
        for row in await Order.select(Order.channel_order_id).where(
            (Order.channel == channel["id"]) & Order.channel_order_id.is_in(closed)
        )
    }
    return [
        o for o in incoming if not o.channel_status or o.channel_status in importable or o.channel_order_id in known
    ]
