"""The connection issue for offers a channel does not know (no listing for the SKU there).

A push the channel answers with "unknown SKU" is not retried on its own: the merchant has to create the
offer at the channel first. The issue is therefore kept in line with the channel's offers in the
`unknown` state rather than with one push: one open issue per channel, whose message lists those offers
as the last push found them, resolved once none is left. Retry pushes them again (see
`jobs.stock_jobs.retry_unknown_skus`) and so either resolves it or leaves it open with the channel's
fresh words.
"""

from __future__ import annotations

from typing import Any

from models.channels.sync_issues import record_issue
from models.core.clock import now
from models.db.tables import ChannelOffer, SyncIssue
from models.stock.sync import UNKNOWN

#: The operation of stock push issues; those of a message that failed to go out carry its outbox id.
OPERATION = "stock_update"
LISTED = 20


def is_unknown_sku_issue(issue: dict[str, Any]) -> bool:
    return issue["integration_kind"] == "channel" and issue["operation"] == OPERATION and not issue["outbox"]


def _open(channel_id: int) -> Any:
    return (
        (SyncIssue.integration_kind == "channel")
        & (SyncIssue.integration_id == channel_id)
        & (SyncIssue.operation == OPERATION)
        & SyncIssue.outbox.is_null()
        & SyncIssue.resolved_at.is_null()
    )


async def unknown_offers(channel_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    """The channel's offers it said it does not know, by SKU."""
    query = (
        ChannelOffer.select(ChannelOffer.sku, ChannelOffer.message)
        .where((ChannelOffer.channel == channel_id) & (ChannelOffer.state == UNKNOWN))
        .order_by(ChannelOffer.sku)
    )
    return await (query.limit(limit) if limit else query)


async def refresh_unknown_sku_issue(channel: dict[str, Any], found_unknown: bool = True) -> None:
    """Open, update or resolve the channel's issue after a push. `found_unknown`: the push met an
    unknown SKU; without one and without an open issue there is nothing to look at (the usual case)."""
    open_issues = await SyncIssue.select(SyncIssue.id).where(_open(channel["id"]))
    if not found_unknown and not open_issues:
        return
    offers = await unknown_offers(channel["id"], LISTED + 1)
    if not offers:
        if open_issues:
            await SyncIssue.update({SyncIssue.resolved_at: now(), SyncIssue.retry_succeeded: True}).where(
                _open(channel["id"])
            )
        return
    listed = "; ".join(f"{o['sku']}: {o['message']}" for o in offers[:LISTED])
    count = (
        len(offers)
        if len(offers) <= LISTED
        else await ChannelOffer.count().where((ChannelOffer.channel == channel["id"]) & (ChannelOffer.state == UNKNOWN))
    )
    more = f" and {count - LISTED} more" if count > LISTED else ""
    message = (
        f"{channel['name']} has no offer for {count} SKU(s), so their stock was not updated "
        f"(create the offers there, then use Retry or Push now): {listed}{more}"
    )
    if open_issues:
        await SyncIssue.update({SyncIssue.remote_message: message[:4000], SyncIssue.at: now()}).where(
            _open(channel["id"])
        )
    else:
        await record_issue("channel", channel["id"], OPERATION, message)
