"""Scheduled supplier work: auto-process, send queued supplier orders, follow their progress."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from jobs.http import http_client
from jobs.supplier_dispatch import dispatch_supplier_due, poll_supplier_orders
from models.core.actors import Actor
from models.core.errors import DomainError
from models.suppliers.dispatch import orders_to_auto_process, process_order

log = logging.getLogger(__name__)

DISPATCH_EVERY_S = 2
AUTO_PROCESS_EVERY_S = 5
TRACKING_EVERY_S = 60


async def auto_process() -> int:
    """Process what auto-process channels accepted; returns how many orders were processed."""
    done = 0
    for order_id in await orders_to_auto_process():
        try:
            await process_order(order_id, Actor.job("auto-process"))
            done += 1
        except DomainError as exc:  # changed meanwhile (a conflict) or no longer processable
            log.info("auto-process of order %s skipped: %s", order_id, exc.message)
    return done


async def dispatch_suppliers() -> None:
    for _ in range(10):  # drain what is due in batches without holding the scheduler for long
        if await dispatch_supplier_due(http_client()) == 0:
            return


async def follow_suppliers() -> None:
    await poll_supplier_orders(http_client())


def install_supplier_jobs(scheduler: AsyncIOScheduler, tracking_every_s: int = TRACKING_EVERY_S) -> None:
    scheduler.add_job(auto_process, "interval", seconds=AUTO_PROCESS_EVERY_S, id="auto-process")
    scheduler.add_job(dispatch_suppliers, "interval", seconds=DISPATCH_EVERY_S, id="supplier-dispatch")
    scheduler.add_job(follow_suppliers, "interval", seconds=tracking_every_s, id="supplier-tracking")
