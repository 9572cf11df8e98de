"""What a stock push did: offers the channel confirmed, SKUs it does not know, pushes that fail."""

from __future__ import annotations

from typing import Any

from models import db
from models.core.clock import now
from models.db.tables import ChannelOffer, StockEvent
from models.stock.sync import FAILING, OK, QUEUED, UNKNOWN, _bulk_set
from models.stock.unknown_skus import refresh_unknown_sku_issue


async def offers_to_send(channel_id: int, skus: list[str]) -> list[dict[str, Any]]:
    """The message's offers still waiting to be sent, with their quantity as it is now."""
    if not skus:
        return []
    return (
        await ChannelOffer.select(ChannelOffer.id, ChannelOffer.sku, ChannelOffer.quantity, ChannelOffer.sent_quantity)
        .where((ChannelOffer.channel == channel_id) & ChannelOffer.sku.is_in(skus) & (ChannelOffer.state == QUEUED))
        .order_by(ChannelOffer.sku)
    )


async def record_pushed(channel: dict[str, Any], sent: list[dict[str, Any]], unknown: dict[str, str]) -> None:
    """The channel took these quantities, except for the SKUs it does not know (not retried on their own:
    they stay `unknown`, and the channel's unknown-SKU issue lists them until a push gets through)."""
    stamp = now()
    confirmed = [o for o in sent if o["sku"] not in unknown]
    missing = [o for o in sent if o["sku"] in unknown]
    # Each push the channel took is a line, its first one included; only the same quantity confirmed
    # again (*Push now* on an unchanged offer) adds none.
    events = [
        StockEvent(
            sku=o["sku"],
            channel=channel["id"],
            at=stamp,
            kind="pushed",
            message=f"{channel['name']} now offers {o['quantity']}",
        )
        for o in confirmed
        if o["sent_quantity"] != o["quantity"]
    ] + [
        StockEvent(
            sku=o["sku"],
            channel=channel["id"],
            at=stamp,
            kind="unknown_sku",
            message=f"{channel['name']} does not know this SKU: {unknown[o['sku']]}",
        )
        for o in missing
    ]
    async with db.transaction():
        await _bulk_set("channel_offer", "sent_quantity", [(o["id"], o["quantity"]) for o in confirmed])
        ids = [o["id"] for o in confirmed]
        for start in range(0, len(ids), 2_000):
            # A quantity changed during the send stays `ok` with a different sent quantity: planning sends it again.
            await ChannelOffer.update(
                {ChannelOffer.state: OK, ChannelOffer.message: "", ChannelOffer.sent_at: stamp}
            ).where(ChannelOffer.id.is_in(ids[start : start + 2_000]) & (ChannelOffer.state == QUEUED))
        for offer in missing:
            await ChannelOffer.update(
                {ChannelOffer.state: UNKNOWN, ChannelOffer.message: unknown[offer["sku"]][:2000]}
            ).where(ChannelOffer.id == offer["id"])
        await db.insert_chunked(events)
    await refresh_unknown_sku_issue(channel, found_unknown=bool(missing))


async def record_push_failing(
    channel: dict[str, Any], offers: list[dict[str, Any]], message: str, gave_up: bool
) -> None:
    """Keep the channel's words on each offer; an offer whose push gave up is `failing` until it is sent again."""
    ids = [o["id"] for o in offers]
    stamp = now()
    values: dict[Any, Any] = {ChannelOffer.message: message[:2000]}
    if gave_up:
        values[ChannelOffer.state] = FAILING
    async with db.transaction():
        for start in range(0, len(ids), 2_000):
            await ChannelOffer.update(values).where(ChannelOffer.id.is_in(ids[start : start + 2_000]))
        if gave_up:
            await db.insert_chunked(
                [
                    StockEvent(
                        sku=o["sku"],
                        channel=channel["id"],
                        at=stamp,
                        kind="push_failed",
                        message=f"{channel['name']}: {message}",
                    )
                    for o in offers
                ]
            )
    await refresh_unknown_sku_issue(channel, found_unknown=False)  # an unknown offer may be failing now
