"""The import job: poll one channel for changed orders and import them idempotently."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from connectors.base import ChannelConnector
from jobs.connections import channel_connector
from jobs.instance import INSTANCE_ID
from jobs.stock_jobs import reserve_imported
from models.channels.import_runs import claim_import, finish_import, poll_start, renew_import
from models.channels.importing import ImportResult, import_orders
from models.channels.status import follow_channel_states, only_open_or_known
from models.channels.sync_issues import record_issue, resolve_import_issues
from models.ports import IncomingOrder, OrderPage, RemoteError

log = logging.getLogger(__name__)

#: Orders stored per transaction. A backfill reads pages of 50–100 orders; committing each alone
#: rewrites the same index pages over and over (on SQLite, the import then runs at half speed).
IMPORT_BATCH = 1_000


def _fetch(connector: ChannelConnector, since: dt.datetime) -> AsyncIterator[OrderPage]:
    """Also read orders that left the open states, where the connector can, to follow them."""
    if "include_closed" in inspect.signature(connector.fetch_orders).parameters:
        return connector.fetch_orders(since, include_closed=True)
    return connector.fetch_orders(since)


@dataclass
class ImportRun:
    ok: bool
    summary: str
    result: ImportResult


async def sync_channel(channel_id: int, client: httpx.AsyncClient, owner: str = INSTANCE_ID) -> ImportRun:
    """Fetch changed orders from the channel and import them; failures become connection issues."""
    channel = await claim_import(channel_id, owner)
    if channel is None:
        return ImportRun(False, "Another Waybill instance is importing this channel right now.", ImportResult())
    result = ImportResult()
    cursor = channel["import_cursor"]
    ok, error = True, ""
    batch: list[IncomingOrder] = []
    batch_cursor = cursor

    async def store_batch() -> None:
        """Import what was read so far in one transaction, then move the cursor past it."""
        nonlocal cursor
        if batch:
            result.merge(await import_orders(channel, batch))
            await follow_channel_states(channel, batch, connector.pairing.to_internal)
            await reserve_imported({line.sku for order in batch for line in order.lines})
            batch.clear()
        cursor = batch_cursor
        await renew_import(channel_id, owner)

    try:
        connector = channel_connector(channel, client)
        async for page in _fetch(connector, poll_start(channel)):
            batch.extend(await only_open_or_known(channel, page.orders, connector.pairing.importable))
            for reject in page.rejects:
                await record_issue(
                    "channel",
                    channel_id,
                    "order_import",
                    f"Order {reject.channel_order_id or '(no id)'} could not be read: {reject.message}",
                    payload=reject.raw,
                )
            if page.max_updated_at and (batch_cursor is None or page.max_updated_at > batch_cursor):
                batch_cursor = page.max_updated_at
            if len(batch) >= IMPORT_BATCH:
                await store_batch()
        await store_batch()
    except RemoteError as exc:
        ok, error = False, exc.message
        await record_issue("channel", channel_id, "order_import", exc.message)
    except Exception as exc:  # a connector bug must not kill the scheduler; it is shown, not hidden
        log.exception("import from channel %s failed", channel_id)
        ok, error = False, f"Unexpected error while importing: {type(exc).__name__}: {exc}"
        await record_issue("channel", channel_id, "order_import", error)
    if batch:  # orders read before the failure are stored all the same
        try:
            await store_batch()
        except Exception:
            log.exception("storing the orders read from channel %s failed", channel_id)
    for order_id, message in result.failed:
        await record_issue("channel", channel_id, "order_import", f"Order {order_id} could not be stored: {message}")
    summary = result.summary() if ok else f"Failed: {error} ({result.summary()} before the failure)"
    await finish_import(channel_id, owner, ok=ok, summary=summary, cursor=cursor)
    if ok:
        await resolve_import_issues(channel_id)
    return ImportRun(ok, summary, result)
