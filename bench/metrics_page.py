"""Metrics page benchmark: how long the figures take to compute, next to a plain COUNT of the same orders.

    uv run python -m bench.metrics_page                       # SQLite, 200,000 orders (filled once, reused)
    uv run python -m bench.metrics_page --orders 1000000
    uv run python -m bench.metrics_page --database postgres://user:pass@host/db

For each period (last 7, 30 and 90 days, and a year shown week by week) and scope (all channels, the
busiest channel) it times `models.metrics.figures.compute_metrics` and, as the baseline, a bare
`SELECT COUNT(*)` over the very same orders (same channels, same placed-at range, same index). It also
times the whole page through the app (`GET /metrics?…`: log-in session, computation, charts, template).
The periods end on the day of the newest order, so a database filled some time ago still has data in
them. It prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.dashboard import TimedApp, _login
from bench.load import log, prepare_postgres, prepare_sqlite
from models import db
from models.core.app_settings import merchant_timezone
from models.core.clock import frozen_at
from models.metrics.figures import MetricsQueries, Period, channel_scopes, compute_metrics
from web.app import create_app
from web.settings import Settings

DEFAULT_ORDERS = 200_000
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / ".data"
PERIODS = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "365 days, weekly")]


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_p50(self) -> float:
        return statistics.median(self.cpu)

    @property
    def p95(self) -> float:
        ordered = sorted(self.wall)
        return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


async def timed(work: Callable[[], Awaitable[Any]], timing: Timing) -> Any:
    cpu, started = time.process_time(), time.perf_counter()
    result = await work()
    timing.wall.append((time.perf_counter() - started) * 1000)
    timing.cpu.append((time.process_time() - cpu) * 1000)
    return result


@dataclass
class Case:
    name: str
    period: Period
    channel_id: int | None
    orders: int = 0
    compute: Timing = field(default_factory=Timing)
    count: Timing = field(default_factory=Timing)

    async def queries(self, moment: dt.datetime) -> MetricsQueries:
        return MetricsQueries(self.period, self.period.buckets(), await channel_scopes(self.channel_id), moment)


async def _cases(tz) -> tuple[list[Case], dt.datetime]:
    newest = (await db.fetch("SELECT MAX(placed_at) AS at FROM orders"))[0]["at"]
    if isinstance(newest, str):
        newest = dt.datetime.fromisoformat(newest)
    today = newest.astimezone(tz).date()
    busiest = (
        await db.fetch("SELECT channel, COUNT(*) AS n FROM orders GROUP BY channel ORDER BY COUNT(*) DESC LIMIT 1")
    )[0]["channel"]
    names = {c.id: c.name for c in await channel_scopes()}
    cases = []
    for days, label in PERIODS:
        period = Period.last_days(days, tz, today)
        cases.append(Case(f"{label}, all channels", period, None))
        cases.append(Case(f"{label}, {names[busiest]}", period, busiest))
    moment = dt.datetime.combine(today, dt.time(23, 59), tzinfo=tz).astimezone(dt.UTC)
    return cases, moment


async def run(args: argparse.Namespace) -> None:
    postgres = bool(args.database) and db.is_postgres_url(args.database)
    if postgres:
        url = await prepare_postgres(args.database, args.orders, refill=args.refill)
    elif args.database:
        raise SystemExit("--database takes a postgres:// URL; SQLite files live in --data-dir.")
    else:
        url = await prepare_sqlite(Path(args.data_dir), args.orders, refill=args.refill)

    app = create_app(Settings(database_url=url, secret_key="bench-" * 8, scheduler_enabled=False))
    timed_app = TimedApp(app)
    pages: list[tuple[str, str, Timing]] = []
    async with app.lifespan():
        tz = await merchant_timezone()
        cases, moment = await _cases(tz)
        transport = httpx.ASGITransport(app=timed_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
            await _login(client)
            for days in (30, 90):
                case = next(c for c in cases if c.channel_id is None and c.period.length == days)
                query = f"/metrics?period=custom&from={case.period.first_day}&to={case.period.last_day}"
                pages.append((f"page GET /metrics, {days} days, all channels", query, Timing()))

            with frozen_at(moment):
                for case in cases:
                    case.orders = int((await db.fetch(*(await case.queries(moment)).orders_count()))[0]["n"])
                log(f"Warming up ({args.warmup} rounds)")
                load_before = os.getloadavg()
                for round_ in range(args.warmup + args.repeat):
                    measure = round_ >= args.warmup
                    for case in cases:
                        compute, count = (case.compute, case.count) if measure else (Timing(), Timing())
                        await timed(lambda case=case: compute_metrics(case.period, case.channel_id), compute)
                        baseline = (await case.queries(moment)).orders_count()
                        await timed(lambda baseline=baseline: db.fetch(*baseline), count)
                    for _name, path, timing in pages:
                        response = await client.get(path)
                        if response.status_code != 200:
                            raise SystemExit(f"{path} answered HTTP {response.status_code}: {response.text[:300]}")
                        if measure:
                            timing.wall.append(timed_app.last * 1000)
                            timing.cpu.append(timed_app.last_cpu * 1000)
                load_after = os.getloadavg()

    engine = "PostgreSQL" if postgres else "SQLite"
    print()
    print(
        f"Waybill metrics benchmark: {args.orders:,} orders on {engine}, {args.repeat} runs per row, "
        f"{os.cpu_count()} CPU cores, load average {load_before[0]:.1f} → {load_after[0]:.1f}"
    )
    print()
    header = ("what", "orders", "metrics p50 ms", "p95 ms", "CPU p50", "COUNT p50 ms", "CPU p50", "× COUNT")
    table = [header]
    for case in cases:
        ratio = case.compute.p50 / case.count.p50 if case.count.p50 else float("nan")
        table.append(
            (
                case.name,
                f"{case.orders:,}",
                f"{case.compute.p50:.1f}",
                f"{case.compute.p95:.1f}",
                f"{case.compute.cpu_p50:.1f}",
                f"{case.count.p50:.2f}",
                f"{case.count.cpu_p50:.2f}",
                f"{ratio:.0f}",
            )
        )
    for name, _path, timing in pages:
        table.append((name, "", f"{timing.p50:.1f}", f"{timing.p95:.1f}", f"{timing.cpu_p50:.1f}", "", "", ""))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print("  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]))
        if n == 0:
            print("-" * (sum(widths) + 2 * len(widths)))
    print()
    print("metrics: models.metrics.figures.compute_metrics (every figure and chart series of the page);")
    print("COUNT: SELECT COUNT(*) over the same orders (same channels and placed-at range, same index).")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_page", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="orders in the database (default 200,000)")
    parser.add_argument("--database", default="", help="a postgres:// URL (default: a SQLite file in --data-dir)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="where filled SQLite files are cached")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per row (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--refill", action="store_true", help="rebuild the database even if a filled one exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
