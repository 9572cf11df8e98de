"""Stock sync on the scheduler and on demand: read every supplier's stock, plan the offers, push them."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from connectors.registry import channel_kinds, supplier_kinds
from jobs.connections import supplier_connector
from jobs.dispatcher import _deliver_all
from jobs.http import http_client
from jobs.instance import INSTANCE_ID
from models.accounts.credentials import CredentialsUnreadable
from models.channels.outbox import claim_ids
from models.core.clock import now
from models.db.tables import Channel, Supplier
from models.ports import RemoteError
from models.stock.issues import record_pull_issue, resolve_pull_issues
from models.stock.sync import PlanResult, plan_offers, record_supplier_stock
from models.stock.unknown_skus import refresh_unknown_sku_issue, unknown_offers
from models.suppliers.supplier import refresh_wallet

log = logging.getLogger(__name__)

#: How often every instance reads supplier stock and plans the offers (the work is claimed from rows,
#: so several instances doing it is harmless, only wasted).
STOCK_SYNC_EVERY_S = 300


@dataclass
class StockSync:
    pulled: list[str]
    failed: list[str]
    plan: PlanResult

    def summary(self) -> str:
        parts = [f"Stock read from {', '.join(self.pulled) or 'no supplier'}"]
        if self.failed:
            parts.append(f"could not read {'; '.join(self.failed)}")
        parts.append(self.plan.summary())
        return "; ".join(parts) + "."


def batch_sizes() -> dict[str, int]:
    return {kind: cls.stock_batch_size for kind, cls in channel_kinds().items()}


async def pull_supplier(supplier: dict, client: httpx.AsyncClient) -> str:
    """Read one supplier's stock (and its wallet where a minimum applies); '' when it worked, else why not."""
    try:
        connector = supplier_connector(supplier, client)
    except ValueError as exc:
        return str(exc)
    except CredentialsUnreadable:  # saved with another instance's key: said, and the other suppliers still pulled
        problem = f"The credentials of {supplier['name']} cannot be decrypted with this instance's secret key."
        await record_pull_issue(supplier["id"], problem)
        return problem
    if supplier["prepaid"] and supplier["stock_min_wallet"] is not None:
        await refresh_wallet(supplier["id"], lambda row: supplier_connector(row, client))
    try:
        levels = await connector.stock()
    except RemoteError as exc:
        await record_pull_issue(supplier["id"], exc.message)
        return exc.message
    await record_supplier_stock(supplier["id"], levels)
    await resolve_pull_issues(supplier["id"])
    return ""


async def sync_stock(client: httpx.AsyncClient, *, deliver: bool = False) -> StockSync:
    """Pull every active supplier's stock, then queue the offers that changed (and send them at once
    with `deliver`, for the *Sync stock now* button)."""
    pulled, failed = [], []
    kinds = supplier_kinds()
    for supplier in await Supplier.select().where(Supplier.active == True).order_by(Supplier.name):  # noqa: E712
        if supplier["kind"] not in kinds:
            continue  # a supplier Waybill has no API for: its SKUs are not offered from here
        problem = await pull_supplier(supplier, client)
        (failed if problem else pulled).append(
            f"{supplier['name']} ({problem.rstrip('.')})" if problem else supplier["name"]
        )
    plan = await plan_offers(batch_sizes=batch_sizes())
    if deliver:
        await send_now(plan.message_ids, client)
    log.info("stock sync at %s: %s", now().isoformat(timespec="seconds"), plan.summary())
    return StockSync(pulled, failed, plan)


async def push_now(skus: Iterable[str], client: httpx.AsyncClient) -> PlanResult:
    """*Push now*: send these SKUs' offers to every channel at once, even unchanged, unknown or failing ones."""
    plan = await plan_offers(skus=list(skus), batch_sizes=batch_sizes(), force=True)
    await send_now(plan.message_ids, client)
    return plan


async def retry_unknown_skus(channel_id: int, client: httpx.AsyncClient) -> PlanResult:
    """Retry on a channel's unknown-SKU issue: push the offers it did not know to that channel again,
    now. The push resolves the issue when the channel knows them by now, or leaves it open with the
    channel's fresh words; the other channels are left alone."""
    skus = [offer["sku"] for offer in await unknown_offers(channel_id)]
    plan = PlanResult()
    if skus:
        plan = await plan_offers(skus=skus, batch_sizes=batch_sizes(), force=True, channel_ids=[channel_id])
        await send_now(plan.message_ids, client)
    channel = await Channel.select(Channel.id, Channel.name).where(Channel.id == channel_id).first()
    if channel is not None:
        await refresh_unknown_sku_issue(channel, found_unknown=False)
    return plan


async def send_now(message_ids: list[int], client: httpx.AsyncClient) -> None:
    await _deliver_all(await claim_ids(INSTANCE_ID, message_ids), client, INSTANCE_ID)


async def reserve_imported(skus: Iterable[str]) -> None:
    """Orders were imported: plan their SKUs now, so the stock they hold is already off the next push."""
    try:
        await plan_offers(skus=set(skus), batch_sizes=batch_sizes())
    except Exception:  # the periodic sync catches up; an import never fails for this
        log.exception("planning offers after an import failed")


async def scheduled_sync() -> None:
    await sync_stock(http_client())


def install_stock_jobs(scheduler: AsyncIOScheduler, every_s: int = STOCK_SYNC_EVERY_S) -> None:
    scheduler.add_job(scheduled_sync, "interval", seconds=every_s, id="stock-sync", next_run_time=now())
