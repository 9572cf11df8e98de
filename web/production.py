"""The app `waybill serve` runs: settings from the environment, the scheduler and its jobs, JSON request logs.

A module-level factory so that uvicorn can build one app per worker process (`--workers N`): each
worker is a full instance with its own event loop, database pool and scheduler, and the jobs claim
their work with leases, so running them in every worker is safe.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.types import ASGIApp

from web.settings import LISTEN_HOST_ENV, LISTEN_PORT_ENV, Settings


def production_app() -> ASGIApp:
    """Build the served app from the environment (called once per worker process)."""
    from jobs.channel_jobs import install_channel_jobs
    from jobs.notification_jobs import notification_jobs
    from jobs.scheduler import scheduler_lifespan
    from jobs.stock_jobs import install_stock_jobs
    from jobs.supplier_jobs import install_supplier_jobs
    from web.app import create_app
    from web.request_log import log_requests_as_json_lines, request_logging

    if not logging.getLogger().handlers:  # a worker process started by uvicorn, not by the `waybill` command
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for noisy in ("apscheduler", "httpx"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings.from_env()
    host = os.environ.get(LISTEN_HOST_ENV, "127.0.0.1")
    port = int(os.environ.get(LISTEN_PORT_ENV, "8000"))
    installers = [
        install_channel_jobs,
        install_supplier_jobs,
        lambda scheduler: install_stock_jobs(scheduler, every_s=settings.stock_sync_s),
        notification_jobs(settings.smtp(), settings.link_base(host, port)),
    ]
    hooks = [scheduler_lifespan(installers, settings.job_intervals)] if settings.scheduler_enabled else []
    hooks.append(settle_after_start_up)
    log_requests_as_json_lines()  # one JSON line per request replaces uvicorn's access log
    return request_logging(create_app(settings, lifespan_hooks=hooks))  # outside the router: 404s too


@contextlib.asynccontextmanager
async def settle_after_start_up(app: Litestar) -> AsyncIterator[None]:
    """Compile every template, then exclude everything alive after start-up from garbage collection.

    Python's full collections walk every object the process holds (modules, compiled templates, locale
    data): over 100 ms here, during which the worker answers nothing, and a few a minute under load.
    What exists once the app has started lives as long as the process, so `gc.freeze()` takes it out
    of those walks; the objects of each request are still collected as before."""
    engine = app.template_engine.engine  # type: ignore[union-attr]
    for name in engine.list_templates(extensions=["html"]):
        engine.get_template(name)
    gc.collect()
    gc.freeze()
    yield
