"""WAYBILL_JOB_INTERVALS: the scheduler's intervals set for a run, and its refusals."""

from __future__ import annotations

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from litestar import Litestar

from jobs.channel_jobs import install_channel_jobs
from jobs.scheduler import scheduler_lifespan
from jobs.supplier_jobs import install_supplier_jobs
from web.settings import parse_job_intervals


def test_intervals_are_read_as_job_equals_seconds():
    assert parse_job_intervals("") == {}
    assert parse_job_intervals("outbox-dispatch=1, supplier-tracking=2.5,") == {
        "outbox-dispatch": 1.0,
        "supplier-tracking": 2.5,
    }
    with pytest.raises(ValueError, match="not job=seconds"):
        parse_job_intervals("outbox-dispatch")
    with pytest.raises(ValueError, match="must be above 0"):
        parse_job_intervals("auto-process=0")


async def test_the_scheduler_runs_the_jobs_at_the_intervals_given():
    app = Litestar(route_handlers=[])
    lifespan = scheduler_lifespan(
        [install_channel_jobs, install_supplier_jobs], {"supplier-tracking": 3, "auto-process": 1.5, "nothing": 9}
    )
    async with lifespan(app):
        scheduler: AsyncIOScheduler = app.state.scheduler
        assert scheduler.get_job("supplier-tracking").trigger.interval.total_seconds() == 3
        assert scheduler.get_job("auto-process").trigger.interval.total_seconds() == 1.5
        assert scheduler.get_job("supplier-dispatch").trigger.interval.total_seconds() == 2  # untouched


async def test_jobs_read_on_worker_threads_and_requests_on_the_event_loop():
    from models import db

    seen: list[bool] = []

    async def probe() -> None:
        seen.append(db.reading_in_threads())

    app = Litestar(route_handlers=[])
    lifespan = scheduler_lifespan([lambda scheduler: scheduler.add_job(probe, "interval", seconds=60, id="probe")])
    async with lifespan(app):
        await app.state.scheduler.get_job("probe").func()
    assert seen == [True]
    assert db.reading_in_threads() is False  # outside a job
