"""Backfill benchmark: 100,000 orders from a sandbox Mirakl channel, three ways, in one run.

    uv run python -m bench.import_backfill [--orders 100000] [--database URL]

A Mirakl sandbox holding the orders is served by uvicorn on loopback in a child process (its own
interpreter, so the server does not compete with the importer for the GIL). Then:

- *fetch + parse*: the Mirakl connector reads every page over HTTP and parses it (no database);
  the pages are kept in memory for the next step. Informational.
- *import step*: `models.channels.importing.import_orders` over those pages, in the batches `sync_channel`
  stores (pages gathered up to `IMPORT_BATCH` orders, one transaction each), into an empty migrated
  database: only the import is timed.
- *raw SQLite insert* (the baseline): the very rows the import step wrote (orders, lines, search
  terms, events, raw payloads, review issues, outbox messages), read back and inserted with plain
  `sqlite3` `executemany` in one transaction into a fresh migrated SQLite file (same indexes and
  counter triggers). Also, for information, the same rows in one transaction per `IMPORT_BATCH`
  orders, which is how the import step commits them.
- *end to end over HTTP*: `jobs.importer.sync_channel` imports every order from the sandbox into an
  empty database: listing, HTTP, parsing, filtering, import, cursor and lease, as the scheduler runs it.

`--database` (SQLite path/URL or PostgreSQL URL) is where the import step and the end-to-end run
write; it must hold no orders and is emptied after each step. Without it, each step uses a fresh
SQLite file in a temporary directory. The raw baseline uses the same engine as the import step: plain
`sqlite3` `executemany` into a fresh SQLite file, or, on PostgreSQL, asyncpg `COPY` of the same rows into
the emptied database (the import itself writes its rows with `COPY` there), committed per `IMPORT_BATCH`
orders as the import commits them. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import io
import multiprocessing
import os
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from jobs.importer import IMPORT_BATCH

DEFAULT_ORDERS = 100_000
SEED = 20261122
API_KEY = "bench-mirakl-key"
TARGET_IMPORT = 5_000
TARGET_END_TO_END = 2_000
#: Tables an import writes, in foreign-key order.
IMPORT_TABLES = ("orders", "order_line", "review_issue", "event", "order_search_term", "raw_payload", "outbox_message")
#: Rows the import tables refer to: copied before the raw baseline's clock starts.
REFERENCE_TABLES = ("channel",)
#: The orders' update dates are spread over this window, inside the first poll's 30-day look-back.
ORDER_SPAN = dt.timedelta(days=20)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the sandbox marketplace, in a child process ----------------------------------------------


def ticking_clock(count: int) -> Callable[[], dt.datetime]:
    """A clock for the sandbox that moves forward on every reading, so orders get distinct dates."""
    start = (dt.datetime.now(dt.UTC) - ORDER_SPAN).replace(microsecond=0)
    step = ORDER_SPAN / max(1, 2 * count)
    readings = iter(range(10**12))
    return lambda: start + step * next(readings)


def serve_sandbox(orders: int, seed: int, channel: Connection) -> None:
    """Child process: generate the orders, serve the Mirakl sandbox, report the port."""
    import uvicorn
    from litestar import Litestar

    from connectors.sandbox.mirakl import MiraklSandbox

    started = time.perf_counter()
    sandbox = MiraklSandbox(seed=seed, api_key=API_KEY, clock=ticking_clock(orders))
    sandbox.generate_orders(orders)
    generated = time.perf_counter() - started
    app = Litestar(route_handlers=[sandbox.router()], openapi_config=None)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    channel.send((sock.getsockname()[1], generated))
    uvicorn.Server(config).run(sockets=[sock])


@contextlib.contextmanager
def sandbox_server(orders: int, seed: int):
    """Serve the sandbox in a child process for the duration of the block; yield its base URL."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=serve_sandbox, args=(orders, seed, sender), daemon=True)
    process.start()
    try:
        while not receiver.poll(1):
            if not process.is_alive():
                raise RuntimeError("the sandbox process stopped before serving")
        port, generated = receiver.recv()
        log(f"sandbox: {orders:,} Mirakl orders generated in {generated:.1f} s, serving on port {port}")
        base_url = f"http://127.0.0.1:{port}/sandbox/mirakl"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base_url}/_control/faults", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or not process.is_alive():
                    raise
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        process.join(10)


# -- databases ----------------------------------------------------------------------------------


class Databases:
    """Where each step writes: fresh SQLite files in a temporary directory, or the `--database` given."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.workdir = Path(tempfile.mkdtemp(prefix="waybill-backfill-"))
        self._count = 0

    def fresh_sqlite(self, name: str) -> str:
        self._count += 1
        return f"sqlite:///{self.workdir / f'{self._count:02d}-{name}.sqlite3'}"

    def for_step(self, name: str) -> str:
        return self.url or self.fresh_sqlite(name)

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


async def open_database(url: str) -> None:
    """Migrate and bind `url`; refuse a database that already holds orders."""
    from models import db
    from models.db.migrate import migrate
    from models.db.tables import Channel, Order

    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo's migration chatter
        await migrate(db.engine_for(url))
    db.bind(db.engine_for(url))
    await db.start_pool()
    if await Order.count() or await Channel.count():
        await db.close_pool()
        raise SystemExit(f"{url} already holds channels or orders; the benchmark needs an empty database.")


async def empty_database() -> None:
    """Remove what a step wrote (only used on a `--database` given by the caller)."""
    from models import db
    from models.db.tables import ALL_TABLES

    names = [table._meta.tablename for table in ALL_TABLES]
    if db.is_sqlite():
        async with db.transaction():
            for name in reversed(names):
                await db.fetch(f'DELETE FROM "{name}"')
    else:
        await db.fetch(f"TRUNCATE {', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)} RESTART IDENTITY")


async def close_database(empty: bool) -> None:
    from models import db

    if empty:
        await empty_database()
    await db.close_pool()


async def make_channel(base_url: str = "") -> dict:
    from models.accounts import credentials
    from models.core.clock import now
    from models.db.tables import Channel

    await Channel.insert(
        Channel(
            name="Mirakl backfill",
            kind="mirakl",
            base_url=base_url,
            credentials=credentials.encrypt({"api_key": API_KEY}),
            created_at=now(),
        )
    )
    return await Channel.select().where(Channel.name == "Mirakl backfill").first()


async def row_counts() -> dict[str, int]:
    from models import db

    counts = {}
    for name in IMPORT_TABLES:
        rows = await db.fetch(f'SELECT COUNT(*) AS n FROM "{name}"')
        counts[name] = int(rows[0]["n"])
    return counts


# -- the figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    step: str
    orders: int
    seconds: float
    cpu_seconds: float
    rows: int = 0
    target: int | None = None

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class Timer:
    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


# -- the steps ----------------------------------------------------------------------------------


async def fetch_pages(base_url: str) -> tuple[list[list], Figure]:
    """Every page the connector reads from the sandbox, parsed, as `sync_channel` would read them."""
    from connectors.mirakl import MiraklConnector
    from models.channels.import_runs import FIRST_SYNC_LOOKBACK

    pages = []
    async with httpx.AsyncClient() as client:
        connector = MiraklConnector(base_url, {"api_key": API_KEY}, client)
        since = dt.datetime.now(dt.UTC) - FIRST_SYNC_LOOKBACK
        with Timer() as timer:
            async for page in connector.fetch_orders(since, include_closed=True):
                if page.rejects:
                    raise RuntimeError(f"the connector refused orders: {page.rejects[0].message}")
                if page.orders:
                    pages.append(page.orders)
    count = sum(map(len, pages))
    return pages, Figure("fetch + parse over HTTP, no database", count, timer.wall, timer.cpu)


async def import_step(url: str, pages: list[list], empty: bool) -> tuple[Figure, dict[str, list[tuple]]]:
    """Time `import_orders` alone over the pages; return the figure and the rows it wrote."""
    from models.channels.importing import import_orders

    await open_database(url)
    channel = await make_channel()
    expected = sum(map(len, pages))
    batches, batch = [], []
    for page in pages:
        batch.extend(page)
        if len(batch) >= IMPORT_BATCH:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    with Timer() as timer:
        for batch in batches:
            result = await import_orders(channel, batch)
            if result.failed or result.created != len(batch):
                raise RuntimeError(f"import step: {result.summary()}")
    counts = await row_counts()
    if counts["orders"] != expected:
        raise RuntimeError(f"import step stored {counts['orders']:,} orders, expected {expected:,}")
    rows = await read_rows()
    await close_database(empty)
    figure = Figure("import step (import_orders, per batch)", expected, timer.wall, timer.cpu, sum(counts.values()))
    figure.target = TARGET_IMPORT
    return figure, rows


async def read_rows() -> dict[str, list[tuple]]:
    """Every row of the import tables, all columns, in id order, as the driver returns them."""
    from models import db

    engine = db.engine()
    rows: dict[str, list[tuple]] = {}
    if db.is_sqlite():
        with contextlib.closing(sqlite3.connect(engine.path)) as conn:  # stored values, unconverted
            for name in REFERENCE_TABLES + IMPORT_TABLES:
                cursor = conn.execute(f'SELECT * FROM "{name}" ORDER BY id')
                rows[name] = [tuple(d[0] for d in cursor.description), *cursor.fetchall()]
    else:
        async with engine.transaction() as transaction:
            for name in REFERENCE_TABLES + IMPORT_TABLES:
                records = await transaction.connection.fetch(f'SELECT * FROM "{name}" ORDER BY id')
                columns = tuple(records[0].keys()) if records else ()
                rows[name] = [columns, *(tuple(r) for r in records)]
    return rows


def _connect(path: str) -> sqlite3.Connection:
    """A plain sqlite3 connection set up as Waybill's own (foreign keys on, NORMAL sync)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = 1")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _insert(conn: sqlite3.Connection, name: str, columns: tuple[str, ...], values: list[tuple]) -> int:
    if values:
        quoted = ", ".join(f'"{c}"' for c in columns)
        conn.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({", ".join("?" * len(columns))})', values)
    return len(values)


def by_page(rows: dict[str, list[tuple]], page_size: int) -> list[dict[str, list[tuple]]]:
    """The rows of each page of `page_size` orders (in id order), as the import step wrote them."""
    columns, *orders = rows["orders"]
    id_at, key_at = columns.index("id"), columns.index("channel_order_id")
    page_of_id = {row[id_at]: i // page_size for i, row in enumerate(orders)}
    page_of_key = {row[key_at]: i // page_size for i, row in enumerate(orders)}
    pages: list[dict[str, list[tuple]]] = [
        {name: [] for name in IMPORT_TABLES} for _ in range(len(orders) // page_size + 1)
    ]
    for name in IMPORT_TABLES:
        columns, *values = rows[name]
        if not values:
            continue
        if name == "orders":
            at, page_of = id_at, page_of_id
        elif "order" in columns:
            at, page_of = columns.index("order"), page_of_id
        else:
            at, page_of = columns.index("channel_order_id"), page_of_key
        for row in values:
            pages[page_of[row[at]]][name].append(row)
    return [page for page in pages if page["orders"]]


async def raw_baseline(url: str, rows: dict[str, list[tuple]], orders: int, page_size: int | None = None) -> Figure:
    """The same rows with plain sqlite3 `executemany` into a fresh migrated file: in one transaction,
    or with `page_size` in one transaction per `page_size` orders, as the import step commits them."""
    from models import db
    from models.db.migrate import migrate

    engine = db.engine_for(url)
    with contextlib.redirect_stdout(io.StringIO()):
        await migrate(engine)
    path = engine.path
    total = 0
    pages = in_transactions(rows, page_size)
    with contextlib.closing(_connect(path)) as conn:  # also keeps the WAL open between page connections
        for name in REFERENCE_TABLES:
            _insert(conn, name, rows[name][0], rows[name][1:])
        with Timer() as timer:
            for page in pages:
                conn.execute("BEGIN IMMEDIATE")
                for name in IMPORT_TABLES:
                    total += _insert(conn, name, rows[name][0], page[name])
                conn.execute("COMMIT")
        stored = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    step = "raw SQLite insert (executemany, baseline)"
    if page_size is not None:
        step = f"raw SQLite insert, a transaction per {page_size}"
    return checked_figure(step, stored, orders, timer, total)


def in_transactions(rows: dict[str, list[tuple]], page_size: int | None) -> list[dict[str, list[tuple]]]:
    """The rows of each transaction: all in one, or a transaction per `page_size` orders."""
    if page_size is None:
        return [{name: rows[name][1:] for name in IMPORT_TABLES}]
    return by_page(rows, page_size)


def checked_figure(step: str, stored: int, orders: int, timer: Timer, rows: int) -> Figure:
    if stored != orders:
        raise RuntimeError(f"{step}: stored {stored:,} orders, expected {orders:,}")
    return Figure(step, orders, timer.wall, timer.cpu, rows)


async def raw_postgres_baseline(
    url: str, rows: dict[str, list[tuple]], orders: int, page_size: int | None = None
) -> Figure:
    """The same rows with plain asyncpg `COPY` (`copy_records_to_table`) into the emptied database:
    in one transaction, or in one per `page_size` orders as the import step commits them."""
    from models import db

    await open_database(url)
    total = 0
    pages = in_transactions(rows, page_size)
    async with db.engine().transaction() as transaction:
        for name in REFERENCE_TABLES:
            await _copy(transaction.connection, name, rows[name][0], rows[name][1:])
    with Timer() as timer:
        for page in pages:
            async with db.engine().transaction() as transaction:
                for name in IMPORT_TABLES:
                    total += await _copy(transaction.connection, name, rows[name][0], page[name])
    stored = (await db.fetch("SELECT COUNT(*) AS n FROM orders"))[0]["n"]
    await close_database(empty=True)
    step = "raw PostgreSQL insert, all in one transaction"
    if page_size is not None:
        step = f"raw PostgreSQL insert (COPY, a transaction per {page_size}, baseline)"
    return checked_figure(step, stored, orders, timer, total)


async def _copy(connection: Any, name: str, columns: tuple[str, ...], values: list[tuple]) -> int:
    if values:
        await connection.copy_records_to_table(name, records=values, columns=list(columns))
    return len(values)


async def end_to_end(url: str, base_url: str, orders: int, empty: bool) -> Figure:
    """`sync_channel` over HTTP from the sandbox into an empty database, as the scheduler runs it."""
    from jobs.importer import sync_channel

    await open_database(url)
    channel = await make_channel(base_url)
    async with httpx.AsyncClient() as client:
        with Timer() as timer:
            run = await sync_channel(channel["id"], client)
    counts = await row_counts()
    await close_database(empty)
    if not run.ok or counts["orders"] != orders:
        raise RuntimeError(f"end to end: {run.summary} ({counts['orders']:,} orders stored, expected {orders:,})")
    figure = Figure("end to end over HTTP (sync_channel)", orders, timer.wall, timer.cpu, sum(counts.values()))
    figure.target = TARGET_END_TO_END
    return figure


# -- the report ---------------------------------------------------------------------------------


def report(figures: list[Figure], baseline: Figure) -> str:
    header = ("step", "orders", "seconds", "CPU s", "orders/s", "rows/s", "vs raw", "target", "")
    lines = []
    for f in figures:
        verdict = ""
        if f.target:
            verdict = "met" if f.orders_per_s >= f.target else "missed"
        lines.append(
            (
                f.step,
                f"{f.orders:,}",
                f"{f.seconds:.2f}",
                f"{f.cpu_seconds:.2f}",
                f"{f.orders_per_s:,.0f}",
                f"{f.rows_per_s:,.0f}" if f.rows else "",
                f"{f.orders_per_s / baseline.orders_per_s:.2f}×" if baseline.orders_per_s else "",
                f"≥ {f.target:,}" if f.target else "",
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *map(fmt, lines)])


async def run(orders: int, url: str | None, seed: int, keep: bool) -> None:
    from models.accounts import credentials

    credentials.configure("waybill-backfill-benchmark")
    databases = Databases(url)
    try:
        with sandbox_server(orders, seed) as base_url:
            pages, fetched = await fetch_pages(base_url)
            if fetched.orders != orders:
                raise RuntimeError(f"the sandbox listed {fetched.orders:,} orders, expected {orders:,}")
            log(f"fetch + parse: {fetched.orders:,} orders in {fetched.seconds:.1f} s ({len(pages):,} pages)")
            # The pages stay in memory for the import step only: keep the collector off them.
            gc.collect()
            gc.freeze()
            imported, rows = await import_step(databases.for_step("import"), pages, empty=url is not None)
            log(f"import step: {imported.orders_per_s:,.0f} orders/s")
            del pages
            if url and url.startswith("postgres"):
                # On PostgreSQL the baseline commits per IMPORT_BATCH, as the import does: in a single
                # transaction, the per-row status counter trigger updates one row 100,000 times, and
                # every update walks the versions the same transaction left behind (information).
                baseline = await raw_postgres_baseline(url, rows, orders, page_size=IMPORT_BATCH)
                paged = await raw_postgres_baseline(url, rows, orders)
            else:
                baseline = await raw_baseline(databases.fresh_sqlite("raw"), rows, orders)
                paged = await raw_baseline(databases.fresh_sqlite("raw-paged"), rows, orders, page_size=IMPORT_BATCH)
            log(f"raw baseline: {baseline.orders_per_s:,.0f} orders/s ({baseline.rows:,} rows)")
            log(f"raw, a transaction per {IMPORT_BATCH:,} orders: {paged.orders_per_s:,.0f} orders/s")
            del rows
            gc.unfreeze()
            gc.collect()
            end = await end_to_end(databases.for_step("e2e"), base_url, orders, empty=url is not None)
            log(f"end to end: {end.orders_per_s:,.0f} orders/s")
    finally:
        if not keep:
            databases.cleanup()
    engine = f"database {url}" if url else "SQLite"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print()
    print(f"Backfill of {orders:,} orders from a Mirakl sandbox, {engine}, {os.cpu_count()} CPUs, load {load}")
    if url and url.startswith("postgres"):  # the orders/s targets are SQLite's (the embedded default)
        imported.target = end.target = None
    print(report([baseline, imported, end, paged, fetched], baseline))
    if keep:
        print(f"\nSQLite files kept in {databases.workdir}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_backfill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="orders to backfill (default 100,000)")
    parser.add_argument("--database", help="SQLite path/URL or PostgreSQL URL for the import and end-to-end steps")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the generated orders")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files of the steps (without --database)")
    args = parser.parse_args()
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    asyncio.run(run(args.orders, args.database, args.seed, args.keep))


if __name__ == "__main__":
    main()
