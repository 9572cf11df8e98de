"""Dashboard benchmark: server-side latency of the order pages on a database of 1,000,000 orders.

    uv run python -m bench.dashboard                      # SQLite, 1,000,000 orders (filled once, then reused)
    uv run python -m bench.dashboard --orders 100000      # a smaller run
    uv run python -m bench.dashboard --database postgres://user:pass@host/db

Requests go through the real Litestar app (`web.app.create_app`), in-process over ASGI, logged in as a
real user; a bare Litestar endpoint is measured in the same run as the baseline. The time measured is
the server side: from the moment the app is called until it has sent the whole response.
See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from litestar import Litestar, get

from bench.fill import catalogue
from bench.load import BENCH_PASSWORD, BENCH_USERNAME, SEED, log, prepare_postgres, prepare_sqlite
from models import db
from web.app import create_app
from web.settings import Settings

DEFAULT_ORDERS = 1_000_000
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / ".data"
PAGE_TARGET_MS = 50.0
BADGE_TARGET_MS = 5.0
TABS = [
    "pending_review",
    "awaiting_acceptance",
    "awaiting_fulfillment",
    "processing",
    "shipped",
    "delivered",
    "closed",
    "all",
]
COMMON_SURNAME = "Müller"


class TimedApp:
    """ASGI wrapper recording how long the app takes to answer each HTTP request (server side): wall-clock
    time, and the CPU time the whole process (event loop and database threads) spent on it."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.last = 0.0
        self.last_cpu = 0.0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cpu = time.process_time()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.perf_counter() - started
            self.last_cpu = time.process_time() - cpu


@get("/ping", sync_to_thread=False)
def ping() -> str:
    return "pong"


@dataclass
class Row:
    name: str
    client: str  # "app" or "baseline"
    path: str
    target_ms: float | None
    samples: list[float] = field(default_factory=list)
    cpu_samples: list[float] = field(default_factory=list)
    note: str = ""

    def quantile(self, q: float, cpu: bool = False) -> float:
        ordered = sorted(self.cpu_samples if cpu else self.samples)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return self.quantile(0.95)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def cpu_p50(self) -> float:
        return statistics.median(self.cpu_samples)

    @property
    def cpu_p95(self) -> float:
        return self.quantile(0.95, cpu=True)


def _next_href(page: str) -> str | None:
    match = re.search(r'rel="next" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


async def _login(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    if not token:
        raise SystemExit("The log-in page has no CSRF token; cannot log in.")
    response = await client.post(
        "/login",
        data={"username": BENCH_USERNAME, "password": BENCH_PASSWORD, "_csrf_token": token.group(1), "next": "/orders"},
    )
    if response.status_code not in (302, 303) or "waybill_session" not in client.cookies:
        raise SystemExit(f"Log-in as {BENCH_USERNAME!r} failed (HTTP {response.status_code}).")


async def _deep_page(client: httpx.AsyncClient, tab: str, pages: int) -> tuple[str, int]:
    """Follow "Older orders" links `pages` times; the URL of the page reached and its depth."""
    path = f"/orders?tab={tab}"
    depth = 1
    while depth < pages:
        response = await client.get(path)
        href = _next_href(response.text)
        if not href:
            break
        path = href
        depth += 1
    return path, depth


async def _targets(orders: int) -> dict[str, object]:
    """Orders, names and SKUs to look up, chosen from the data (not timed)."""
    middle = max(1, orders // 2)
    row = (await db.fetch("SELECT channel_order_id FROM orders WHERE id >= {} ORDER BY id LIMIT 1", middle))[0]
    rng = random.Random(SEED)
    ids = sorted({rng.randrange(1, orders + 1) for _ in range(64)})
    detail_ids = [
        r["id"] for r in await db.fetch("SELECT id FROM orders WHERE id IN (" + ",".join(map(str, ids)) + ")")
    ]
    top_sku = catalogue(random.Random(SEED + 1))[0].sku
    return {"order_id": row["channel_order_id"], "detail_ids": detail_ids, "sku": top_sku}


async def _match_count(words: str) -> int:
    """How many orders a search matches (for the report; not timed)."""
    from models.core.search_terms import prefix_upper_bound, query_words

    clauses, args = [], []
    for word in query_words(words):
        clauses.append('o.id IN (SELECT t."order" FROM order_search_term t WHERE t.term >= {} AND t.term < {})')
        args.extend([word, prefix_upper_bound(word)])
    rows = await db.fetch("SELECT COUNT(*) AS n FROM orders o WHERE " + " AND ".join(clauses), *args)
    return int(rows[0]["n"])


async def _profile(rows: list[Row], name: str, request, count: int) -> None:
    """Profile the requests of the rows whose name contains `name` (needs pyinstrument)."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("--profile needs pyinstrument: uv run --with pyinstrument python -m bench.dashboard") from None
    chosen = [row for row in rows if name.lower() in row.name.lower()]
    if not chosen:
        raise SystemExit(f"No row matches {name!r}; rows: " + ", ".join(r.name for r in rows))
    profiler = Profiler(interval=0.0005, async_mode="enabled")
    profiler.start()
    for i in range(count):
        for row in chosen:
            await request(row, i)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False))


def _status(row: Row, postgres: bool) -> str:
    if row.target_ms is None:
        return "baseline"
    if postgres:
        return "(info)"
    return "ok" if row.p95 <= row.target_ms else "MISSED"


COLUMNS = ("what", "p50 ms", "p95 ms", "max ms", "p95 × base", "CPU p50", "CPU p95", "target p95", "result")


def _cells(row: Row, baseline: Row, postgres: bool) -> list[str]:
    ratio = row.p95 / baseline.p95 if baseline.p95 else float("nan")
    return [
        row.name,
        f"{row.p50:.2f}",
        f"{row.p95:.2f}",
        f"{row.max:.2f}",
        f"{ratio:.1f}",
        f"{row.cpu_p50:.2f}",
        f"{row.cpu_p95:.2f}",
        f"≤ {row.target_ms:g} ms" if row.target_ms else "",
        _status(row, postgres),
    ]


def print_table(rows: list[Row], postgres: bool, out=sys.stdout) -> None:
    baseline = next(r for r in rows if r.client == "baseline")
    table = [list(COLUMNS)] + [_cells(row, baseline, postgres) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    for n, line in enumerate(table):
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:-1], widths[1:-1], strict=True)]
        print("  ".join([*cells, line[-1]]), file=out)
        if n == 0:
            print("-" * (sum(widths) + 2 * len(widths)), file=out)
    notes = [f"  {r.name}: {r.note}" for r in rows if r.note]
    if notes:
        print("\n".join(["", "Notes:", *notes]), file=out)


def markdown_table(rows: list[Row], postgres: bool) -> str:
    baseline = next(r for r in rows if r.client == "baseline")
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * (len(COLUMNS) - 2) + "---|"]
    lines += ["| " + " | ".join(_cells(row, baseline, postgres)) + " |" for row in rows]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    postgres = bool(args.database) and db.is_postgres_url(args.database)
    if postgres:
        url = await prepare_postgres(args.database, args.orders, refill=args.refill)
    elif args.database:
        raise SystemExit("--database takes a postgres:// URL; SQLite files live in --data-dir.")
    else:
        url = await prepare_sqlite(Path(args.data_dir), args.orders, refill=args.refill)

    settings = Settings(database_url=url, secret_key="bench-" * 8, scheduler_enabled=False)
    app = create_app(settings)
    timed_app = TimedApp(app)
    baseline_app = Litestar(route_handlers=[ping])
    timed_baseline = TimedApp(baseline_app)

    async with app.lifespan():
        transport = httpx.ASGITransport(app=timed_app)
        base_transport = httpx.ASGITransport(app=timed_baseline)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client,
            httpx.AsyncClient(transport=base_transport, base_url="http://bench.local") as base_client,
        ):
            await _login(client)
            targets = await _targets(args.orders)
            log(f"Following {args.deep} pages of the All tab for the deep page")
            deep_path, depth = await _deep_page(client, "all", args.deep)

            rows = [Row("bare Litestar endpoint (baseline)", "baseline", "/ping", None)]
            for tab in TABS:
                rows.append(Row(f"tab {tab}, first page", "app", f"/orders?tab={tab}", PAGE_TARGET_MS))
            rows.append(
                Row(f"tab all, page {depth} (keyset cursor)", "app", deep_path, PAGE_TARGET_MS, note=f"{deep_path}")
            )
            searches = [
                ("search by order id", str(targets["order_id"])),
                ("search by customer name", COMMON_SURNAME),
                ("search by SKU", str(targets["sku"])),
            ]
            for name, query in searches:
                count = await _match_count(query)
                rows.append(
                    Row(
                        name,
                        "app",
                        "/orders?" + httpx.QueryParams({"q": query}).__str__(),
                        PAGE_TARGET_MS,
                        note=f"q={query!r} matches {count:,} orders",
                    )
                )
            detail_ids = list(targets["detail_ids"])
            rows.append(
                Row(
                    "order page /orders/{id}",
                    "app",
                    "/orders/{id}",
                    PAGE_TARGET_MS,
                    note=f"rotates over {len(detail_ids)} random orders",
                )
            )
            rows.append(Row("badge count /orders/badge", "app", "/orders/badge?nav=orders", BADGE_TARGET_MS))

            async def request(row: Row, i: int) -> None:
                path = row.path.replace("{id}", str(detail_ids[i % len(detail_ids)]))
                timed = timed_baseline if row.client == "baseline" else timed_app
                response = await (base_client if row.client == "baseline" else client).get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{path} answered HTTP {response.status_code}: {response.text[:300]}")
                row.samples.append(timed.last * 1000)
                row.cpu_samples.append(timed.last_cpu * 1000)

            log(f"Warming up ({args.warmup} requests per row)")
            for i in range(args.warmup):
                for row in rows:
                    await request(row, i)
                    row.samples.clear()
                    row.cpu_samples.clear()
            if args.profile:
                await _profile(rows, args.profile, request, args.requests)
                return 0
            log(f"Measuring {args.requests} requests per row, rows interleaved")
            load_before = os.getloadavg()
            for i in range(args.requests):
                for row in rows:
                    await request(row, i)
            load_after = os.getloadavg()

    engine = "PostgreSQL" if postgres else "SQLite"
    print()
    print(
        f"Waybill dashboard benchmark: {args.orders:,} orders on {engine}, {args.requests} requests per row, "
        f"{os.cpu_count()} CPU cores, load average {load_before[0]:.1f} → {load_after[0]:.1f}"
    )
    print()
    print_table(rows, postgres)
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(rows, postgres) + "\n", encoding="utf-8")
        log(f"Markdown table written to {args.markdown}")
    missed = [r for r in rows if _status(r, postgres) == "MISSED"]
    return 1 if missed and args.strict else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="orders in the database (default 1,000,000)")
    parser.add_argument("--database", default="", help="a postgres:// URL (default: a SQLite file in --data-dir)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="where filled SQLite files are cached")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per row first (default 5)")
    parser.add_argument("--deep", type=int, default=200, help="page depth of the deep-page row (default 200)")
    parser.add_argument("--refill", action="store_true", help="rebuild the database even if a filled one exists")
    parser.add_argument("--markdown", default="", help="also write the table as Markdown to this file")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    parser.add_argument("--profile", default="", help="profile the rows whose name contains this text, print it")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.orders < 1:
        raise SystemExit("--orders must be at least 1")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
