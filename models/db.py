"""Database engines: one URL setting selects embedded SQLite or PostgreSQL.

Tables are bound to the engine at start-up (`bind`) rather than at import, so the same
process can open a different database (tests, the `waybill` commands).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

DEFAULT_SQLITE_PATH = "waybill.sqlite3"
DATABASE_URL_ENV = "WAYBILL_DATABASE_URL"
BUSY_TIMEOUT_S = 30.0


class WaybillSQLiteEngine(SQLiteEngine):
    """SQLite tuned for a web app: WAL, NORMAL sync, generous busy timeout, writes `BEGIN IMMEDIATE`."""

    async def get_connection(self):  # type: ignore[override]
        connection = await super().get_connection()
        await connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    def ensure_wal(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")


def database_url_from_env() -> str:
    return os.environ.get(DATABASE_URL_ENV, "") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def sqlite_path_from_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :] or DEFAULT_SQLITE_PATH
    if url.startswith("sqlite://"):
        return url[len("sqlite://") :] or DEFAULT_SQLITE_PATH
    return url or DEFAULT_SQLITE_PATH


def engine_for(url: str) -> Engine:
    """Build the Piccolo engine for a database URL (`postgres://…`, `sqlite:///path` or a path)."""
    if is_postgres_url(url):
        parsed = urlparse(url)
        config = {
            "host": parsed.hostname or "localhost",
            "port": parsed.port or 5432,
            "user": parsed.username or os.environ.get("USER", "postgres"),
            "database": (parsed.path or "/").lstrip("/") or "postgres",
        }
        if parsed.password:
            config["password"] = parsed.password
        return PostgresEngine(config=config)
    return WaybillSQLiteEngine(path=sqlite_path_from_url(url), timeout=BUSY_TIMEOUT_S)


_engine: Engine | None = None


def bind(engine: Engine) -> Engine:
    """Point every Waybill table at `engine` and make it the current one."""
    from models.tables import ALL_TABLES

    global _engine
    if isinstance(engine, WaybillSQLiteEngine):
        engine.ensure_wal()
    for table in ALL_TABLES:
        table._meta.db = engine
    _engine = engine
    return engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("No database bound: call models.db.bind(engine_for(url)) first")
    return _engine


def is_sqlite() -> bool:
    return engine().engine_type == "sqlite"


def transaction():
    """A write transaction: `BEGIN IMMEDIATE` on SQLite so writers queue instead of failing."""
    eng = engine()
    if isinstance(eng, SQLiteEngine):
        return eng.transaction(transaction_type=TransactionType.immediate)
    return eng.transaction()


async def start_pool(max_size: int = 20) -> None:
    eng = engine()
    if isinstance(eng, PostgresEngine):
        await eng.start_connection_pool(max_size=max_size)


async def close_pool() -> None:
    eng = engine()
    if isinstance(eng, PostgresEngine):
        await eng.close_connection_pool()


async def fetch(sql: str, *args) -> list[dict]:
    """Run a raw query written with `{}` placeholders (portable across both engines)."""
    from models.tables import Order

    return await Order.raw(sql, *args).run()


@contextlib.asynccontextmanager
async def read_snapshot() -> AsyncIterator[None]:
    """Group several reads so they see one consistent state."""
    async with engine().transaction():
        yield


#: Both engines cap bound parameters per statement; stay well below.
MAX_PARAMETERS_PER_STATEMENT = 30_000


async def insert_chunked(rows: list, *returning) -> list[dict]:
    """Insert Piccolo rows in statements small enough for both engines; return `returning` columns."""
    if not rows:
        return []
    table = type(rows[0])
    columns = len(table._meta.columns)
    chunk = max(1, MAX_PARAMETERS_PER_STATEMENT // columns)
    out: list[dict] = []
    for start in range(0, len(rows), chunk):
        query = table.insert(*rows[start : start + chunk])
        if returning:
            out.extend(await query.returning(*returning))
        else:
            await query
    return out
