"""Create (or reuse) the benchmark database: real migrations, reference rows, then a bulk load.

SQLite: one file per order count under the bench data dir, built beside its final name and renamed
when complete, so an interrupted fill is never reused. PostgreSQL: the database in the URL; a
marker row records what was loaded so a rerun with the same order count reuses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import data
from bench.fill import (
    COLUMNS,
    FILL_VERSION,
    LOCAL_ID_TABLES,
    Generator,
    Offsets,
    parallel_chunks,
    postgres_timestamp,
    sqlite_timestamp,
)
from models import db
from models.accounts.users import create_user
from models.core.clock import now
from models.db.migrate import migrate
from models.db.tables import ALL_TABLES, Carrier, Channel, Setting, Supplier, User

BENCH_USERNAME = "bench"
BENCH_PASSWORD = "bench-password-2026"
MARKER_KEY = "bench.fill"
MIGRATIONS = Path(__file__).resolve().parent.parent / "models" / "migrations"
SEED = 20261122
CHUNK = 20_000
WORKERS = max(2, min(4, os.cpu_count() or 2))
#: Tables the fill writes, in foreign-key order.
LOAD_ORDER = list(COLUMNS)


def schema_fingerprint() -> str:
    """Changes whenever a migration changes, so a cached database never outlives its schema."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.glob("m*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Marker:
    orders: int
    version: int = FILL_VERSION
    seed: int = SEED
    schema: str = field(default_factory=schema_fingerprint)
    filled_at: str = ""
    seconds: float = 0.0

    def matches(self, other: Marker | None) -> bool:
        def key(m: Marker) -> tuple:
            return (m.orders, m.version, m.seed, m.schema)

        return other is not None and key(other) == key(self)

    def dumps(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def loads(cls, raw: str | None) -> Marker | None:
        if not raw:
            return None
        try:
            return cls(**{"schema": "", **json.loads(raw)})
        except (TypeError, ValueError):
            return None


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def _reference_rows() -> tuple[list[int], list[int], list[int]]:
    """Channels, suppliers, carriers and the log-in, written through the app's own tables."""
    stamp = now()
    for spec in data.CHANNELS:
        await Channel.insert(
            Channel(
                name=spec.name,
                kind=spec.kind,
                currency=spec.currency,
                auto_accept=spec.auto_accept,
                created_at=stamp,
            )
        )
    for name, kind, prepaid, balance, _prefix in data.SUPPLIERS:
        await Supplier.insert(
            Supplier(
                name=name,
                kind=kind,
                prepaid=prepaid,
                wallet_balance=balance,
                wallet_updated_at=stamp if prepaid else None,
                created_at=stamp,
            )
        )
    for name, code, url, pattern, _factory in data.CARRIERS:
        await Carrier.insert(Carrier(name=name, code=code, tracking_url_pattern=url, tracking_number_pattern=pattern))
    if not await User.exists().where(User.username == BENCH_USERNAME):
        await create_user(BENCH_USERNAME, BENCH_PASSWORD, "operator", "bench@example.com")
    channel_ids = [r["id"] for r in await Channel.select(Channel.id).order_by(Channel.id)]
    supplier_ids = [r["id"] for r in await Supplier.select(Supplier.id).order_by(Supplier.id)]
    carrier_ids = [r["id"] for r in await Carrier.select(Carrier.id).order_by(Carrier.id)]
    return channel_ids, supplier_ids, carrier_ids


def _progress(done: int, total: int, started: float, rows: int) -> None:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed else 0
    log(f"  {done:>9,} / {total:,} orders, {rows:,} rows, {elapsed:5.0f} s ({rate:,.0f} orders/s)")


def _generator(orders: int, ids: tuple[list[int], list[int], list[int]], timestamp: Callable) -> Generator:
    return Generator(orders, SEED, int(time.time()), *ids, timestamp=timestamp)


# -- SQLite ---------------------------------------------------------------------------------


def sqlite_path(data_dir: Path, orders: int) -> Path:
    return data_dir / f"waybill-bench-{orders}.sqlite3"


def sqlite_marker(path: Path) -> Marker | None:
    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(path)) as conn:
        try:
            row = conn.execute("SELECT value FROM app_setting WHERE key = ?", (MARKER_KEY,)).fetchone()
        except sqlite3.Error:
            return None
    return Marker.loads(row[0] if row else None)


async def prepare_sqlite(data_dir: Path, orders: int, refill: bool = False) -> str:
    path = sqlite_path(data_dir, orders)
    wanted = Marker(orders)
    if not refill and wanted.matches(sqlite_marker(path)):
        log(f"Reusing {path} ({orders:,} orders)")
        return f"sqlite:///{path}"
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for stale in (path, partial):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{stale}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    schema = schema_fingerprint()  # before migrating, so a migration added meanwhile is not claimed
    log(f"Filling {path} with {orders:,} orders (one-time; reused afterwards)")
    url = f"sqlite:///{partial}"
    engine = db.engine_for(url)
    await migrate(engine)
    db.bind(engine)
    ids = await _reference_rows()

    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        _bulk_pragmas(conn)
        tables = ["orders", *LOAD_ORDER]
        marks = ",".join("?" * len(tables))
        objects = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            f"AND sql IS NOT NULL AND tbl_name IN ({marks}) ORDER BY type, name",
            tables,
        ).fetchall()
        for kind, name, _sql in objects:
            conn.execute(f'DROP {kind.upper()} "{name}"')
        total_rows = _sqlite_parallel_load(partial, _generator(orders, ids, sqlite_timestamp), started)
        log("  rebuilding indexes and counters")
        conn.execute("BEGIN")
        for kind, _name, sql in objects:
            if kind == "index":
                conn.execute(sql)
        recount_sql(conn.execute)
        for kind, _name, sql in objects:
            if kind == "trigger":
                conn.execute(sql)
        marker = Marker(
            orders, schema=schema, filled_at=now().isoformat(), seconds=round(time.perf_counter() - started, 1)
        )
        conn.execute(
            "INSERT INTO app_setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (MARKER_KEY, marker.dumps()),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    partial.rename(path)
    log(f"Filled {orders:,} orders ({total_rows:,} rows) in {time.perf_counter() - started:.0f} s")
    return f"sqlite:///{path}"


def _bulk_pragmas(conn: sqlite3.Connection) -> None:
    """A throw-away file while it is built: no journal, no fsync, big cache, threaded sorts for indexes."""
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute(f"PRAGMA threads = {WORKERS}")


def _insert_statements() -> dict[str, str]:
    statements = {}
    for table, cols in COLUMNS.items():
        names = ", ".join(f'"{c}"' for c in cols)
        statements[table] = f'INSERT INTO "{table}" ({names}) VALUES ({",".join("?" * len(cols))})'
    return statements


def _sqlite_worker(path: Path, generator: Generator, worker: int, state: dict) -> None:
    """Generate chunks `worker, worker + WORKERS, …` and write each when its turn comes, so ids stay in order."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=3600)
    _bulk_pragmas(conn)
    inserts = _insert_statements()
    turn, offsets, rows_written, condition = state["turn"], state["offsets"], state["rows"], state["condition"]
    for number in range(worker, state["count"], WORKERS):
        rows = generator.chunk(number, CHUNK)
        with condition:
            condition.wait_for(lambda n=number: turn.value == n)
            shift = Offsets()
            shift.base = dict(zip(LOCAL_ID_TABLES, offsets[:], strict=True))
        rows = shift.apply(rows)
        conn.execute("BEGIN")
        for table in LOAD_ORDER:
            conn.executemany(inserts[table], rows[table])
        conn.execute("COMMIT")
        with condition:
            offsets[:] = [shift.base[t] for t in LOCAL_ID_TABLES]
            rows_written.value += sum(len(r) for r in rows.values())
            turn.value = number + 1
            condition.notify_all()
    conn.close()


def _sqlite_parallel_load(path: Path, generator: Generator, started: float) -> int:
    """Load every chunk with `WORKERS` processes, each generating and writing its own chunks in turn."""
    context = multiprocessing.get_context("fork")
    count = (generator.total + CHUNK - 1) // CHUNK
    state = {
        "count": count,
        "turn": context.Value("q", 0),
        "offsets": context.Array("q", len(LOCAL_ID_TABLES)),
        "rows": context.Value("q", 0),
        "condition": context.Condition(),
    }
    processes = [
        context.Process(target=_sqlite_worker, args=(path, generator, w, state), daemon=True) for w in range(WORKERS)
    ]
    for process in processes:
        process.start()
    reported = 0
    try:
        while any(p.is_alive() for p in processes):
            for process in processes:
                process.join(timeout=2)
                if process.exitcode not in (None, 0):
                    raise RuntimeError(f"A fill worker failed (exit code {process.exitcode}); see the error above.")
            done = state["turn"].value
            if done - reported >= 10 or (done == count and reported != count):
                reported = done
                _progress(min(done * CHUNK, generator.total), generator.total, started, state["rows"].value)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
    return state["rows"].value


def recount_sql(execute: Callable) -> None:
    execute("DELETE FROM order_status_count")
    execute(
        "INSERT INTO order_status_count (channel_id, status, n) "
        "SELECT channel, status, COUNT(*) FROM orders GROUP BY channel, status"
    )


# -- PostgreSQL -----------------------------------------------------------------------------


async def _pg_marker(conn) -> Marker | None:
    exists = await conn.fetchval("SELECT to_regclass('public.app_setting') IS NOT NULL")
    if not exists:
        return None
    return Marker.loads(await conn.fetchval("SELECT value FROM app_setting WHERE key = $1", MARKER_KEY))


async def _pg_has_tables(conn) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass('public.orders') IS NOT NULL"))


async def _pg_drop_waybill_tables(conn) -> None:
    names = [t._meta.tablename for t in ALL_TABLES] + ["piccolo_migration"]
    await conn.execute("DROP TABLE IF EXISTS " + ", ".join(f'"{n}"' for n in names) + " CASCADE")
    await conn.execute("DROP FUNCTION IF EXISTS waybill_count_orders() CASCADE")


async def prepare_postgres(url: str, orders: int, refill: bool = False) -> str:
    import asyncpg

    wanted = Marker(orders)
    conn = await asyncpg.connect(url)
    try:
        marker = await _pg_marker(conn)
        if not refill and wanted.matches(marker):
            log(f"Reusing the PostgreSQL database ({orders:,} orders)")
            return url
        if await _pg_has_tables(conn):
            if not refill:
                raise SystemExit(
                    "The PostgreSQL database already has Waybill tables that this benchmark did not fill with "
                    f"{orders:,} orders. Point --database at an empty database, or add --refill to drop and "
                    "recreate its Waybill tables."
                )
            log("Dropping the existing Waybill tables (--refill)")
            await _pg_drop_waybill_tables(conn)
    finally:
        await conn.close()

    started = time.perf_counter()
    schema = schema_fingerprint()  # before migrating, so a migration added meanwhile is not claimed
    log(f"Filling the PostgreSQL database with {orders:,} orders (one-time; reused afterwards)")
    engine = db.engine_for(url)
    await migrate(engine)
    db.bind(engine)
    ids = await _reference_rows()

    conn = await asyncpg.connect(url)
    try:
        tables = ["orders", *LOAD_ORDER]
        indexes = await conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename = ANY($1::text[]) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            tables,
        )
        async with conn.transaction():
            for row in indexes:
                await conn.execute(f'DROP INDEX "{row["indexname"]}"')
            await conn.execute("ALTER TABLE orders DISABLE TRIGGER orders_status_count")
            replica = True
            try:
                # Skips foreign-key checks during the load (needs a superuser); the data is consistent by construction.
                async with conn.transaction():
                    await conn.execute("SET LOCAL session_replication_role = replica")
            except asyncpg.PostgresError:
                replica = False
            total_rows = 0
            for done, chunk in enumerate(
                parallel_chunks(_generator(orders, ids, postgres_timestamp), CHUNK, WORKERS), 1
            ):
                for table in LOAD_ORDER:
                    if chunk[table]:
                        await conn.copy_records_to_table(table, records=chunk[table], columns=list(COLUMNS[table]))
                        total_rows += len(chunk[table])
                if done % 10 == 0 or done * CHUNK >= orders:
                    _progress(min(done * CHUNK, orders), orders, started, total_rows)
            if replica:
                await conn.execute("SET LOCAL session_replication_role = origin")
            log("  rebuilding indexes and counters")
            await conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for row in indexes:
                await conn.execute(row["indexdef"])
            await conn.execute("DELETE FROM order_status_count")
            await conn.execute(
                "INSERT INTO order_status_count (channel_id, status, n) "
                "SELECT channel, status, COUNT(*) FROM orders GROUP BY channel, status"
            )
            await conn.execute("ALTER TABLE orders ENABLE TRIGGER orders_status_count")
            for table in tables:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                )
            marker = Marker(
                orders, schema=schema, filled_at=now().isoformat(), seconds=round(time.perf_counter() - started, 1)
            )
            await conn.execute(
                "INSERT INTO app_setting (key, value) VALUES ($1, $2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                MARKER_KEY,
                marker.dumps(),
            )
        # What autovacuum does after a large insert: planner statistics and the visibility map
        # (without it PostgreSQL cannot answer from an index alone).
        log("  VACUUM (ANALYZE)")
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    log(f"Filled {orders:,} orders ({total_rows:,} rows) in {time.perf_counter() - started:.0f} s")
    return url


async def marker_of(url: str) -> Marker | None:
    row = await Setting.select(Setting.value).where(Setting.key == MARKER_KEY).first()
    return Marker.loads(row["value"] if row else None)
