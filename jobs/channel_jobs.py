"""Scheduled channel work: one import job per active channel at its interval, and the dispatcher."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from connectors.registry import channel_kinds
from jobs.dispatcher import dispatch_due
from jobs.http import http_client
from jobs.importer import sync_channel
from models.channels.import_runs import channels_due

log = logging.getLogger(__name__)

RECONCILE_EVERY_S = 15
DISPATCH_EVERY_S = 2


async def import_channel(channel_id: int) -> None:
    run = await sync_channel(channel_id, http_client())
    log.info("channel %s import: %s", channel_id, run.summary)


async def dispatch() -> None:
    # Drain what is due, in batches, without holding the scheduler for long.
    for _ in range(10):
        if await dispatch_due(http_client()) == 0:
            return


async def reconcile_import_jobs(scheduler: AsyncIOScheduler) -> None:
    """Keep one import job per active channel, following interval changes and removals."""
    kinds = channel_kinds()
    wanted = {f"import-{c['id']}": c for c in await channels_due() if c["kind"] in kinds}
    for job in scheduler.get_jobs():
        if job.id.startswith("import-") and job.id not in wanted:
            job.remove()
    for job_id, channel in wanted.items():
        interval = int(channel["poll_interval_s"])
        job = scheduler.get_job(job_id)
        if job is None:
            scheduler.add_job(
                import_channel, "interval", seconds=interval, args=[channel["id"]], id=job_id, next_run_time=_soon()
            )
        elif job.trigger.interval.total_seconds() != interval:
            job.reschedule("interval", seconds=interval)


def _soon():
    from models.core.clock import now

    return now()


def install_channel_jobs(scheduler: AsyncIOScheduler) -> None:
    scheduler.add_job(
        reconcile_import_jobs,
        "interval",
        seconds=RECONCILE_EVERY_S,
        args=[scheduler],
        id="reconcile-imports",
        next_run_time=_soon(),
    )
    scheduler.add_job(dispatch, "interval", seconds=DISPATCH_EVERY_S, id="outbox-dispatch")
