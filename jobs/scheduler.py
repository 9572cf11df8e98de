"""APScheduler wiring: one AsyncIOScheduler per instance, started with the web app."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from litestar import Litestar

from models import db

log = logging.getLogger(__name__)

JobInstaller = Callable[[AsyncIOScheduler], None]


def in_the_background(job: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A job's reads go to worker threads: a job that reads many rows (stock plans, supplier
    follow-ups at a million orders) must not hold up the requests the same event loop serves."""

    @functools.wraps(job)
    async def run(*args: Any, **kwargs: Any) -> Any:
        with db.reads_in_threads():
            return await job(*args, **kwargs)

    return run


def scheduler_lifespan(installers: list[JobInstaller], intervals: Mapping[str, float] | None = None):
    """A Litestar lifespan hook that runs the given jobs while the app is up.

    `intervals` (job id → seconds) overrides the jobs' own intervals, e.g. to run a test or a
    benchmark faster than production needs."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        for install in installers:
            install(scheduler)
        for job in scheduler.get_jobs():
            if inspect.iscoroutinefunction(job.func):
                job.modify(func=in_the_background(job.func))
        for job_id, seconds in (intervals or {}).items():
            if scheduler.get_job(job_id) is None:
                log.warning("no scheduled job %r: its interval is ignored", job_id)
            else:
                scheduler.reschedule_job(job_id, trigger="interval", seconds=seconds)
        scheduler.start()
        app.state.scheduler = scheduler
        log.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)

    return lifespan
