"""Database engines: one URL setting selects embedded SQLite or PostgreSQL.

Tables are bound to the engine at start-up (`bind`) rather than at import, so the same
process can open a different database (tests, the `waybill` commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlparse

import asyncpg.exceptions
from asyncpg.exceptions._base import DataError as AsyncpgEncodeError
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

from models.db import sql_compile, sqlite_checkpoints, sqlite_turns

sql_compile.install()

DEFAULT_SQLITE_PATH = "waybill.sqlite3"
DATABASE_URL_ENV = "WAYBILL_DATABASE_URL"
BUSY_TIMEOUT_S = 30.0
#: Connections kept open for SQLite statements outside transactions (reads, mostly).
SQLITE_STATEMENT_POOL_SIZE = 2
#: Page cache of each of those connections, in KiB (SQLite's default is 2 MiB).
SQLITE_STATEMENT_CACHE_KIB = 32 * 1024
#: Idle transaction connections kept open for the next transaction.
SQLITE_TRANSACTION_POOL_SIZE = 2


P = ParamSpec("P")
R = TypeVar("R")
_reads_in_threads: contextvars.ContextVar[bool] = contextvars.ContextVar("waybill_reads_in_threads", default=False)


@contextlib.contextmanager
def reads_in_threads() -> Iterator[None]:
    """Run this block's SQLite reads on worker threads: for reads long enough to hold up the event loop
    (a year of metrics, an export, a reconciliation), not for the many short ones of a page."""
    token = _reads_in_threads.set(True)
    try:
        yield
    finally:
        _reads_in_threads.reset(token)


def reading_in_threads() -> bool:
    """Whether SQLite reads here go to worker threads (see `reads_in_threads`)."""
    return _reads_in_threads.get()


def with_reads_in_threads(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate a long read-only operation so that its SQLite reads run on worker threads."""

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with reads_in_threads():
            return await function(*args, **kwargs)

    return wrapper


def _is_read(query: str) -> bool:
    """A plain SELECT (a `WITH …` can end in a write, so it is not counted as a read)."""
    return query.lstrip()[:6].upper() == "SELECT"


class SQLiteStatementPool:
    """A few long-lived SQLite connections, one per worker thread, for statements outside transactions.

    Piccolo's SQLiteEngine opens a new connection (and a new thread) for every such statement; on a
    dashboard page that issues a dozen small queries, opening connections costs more than the queries.
    Most statements take tens of microseconds, less than handing them to a thread and back (which
    also makes the threads fight over the GIL), so they run right on the calling thread, on that
    thread's own connection. Long reads (`reads_in_threads()`: metrics, exports, reconciliation) go
    to a worker thread, where SQLite's work overlaps the event loop's, and so do writes, after taking
    their turn among the writers (`models.db.sqlite_turns`).
    """

    def __init__(self, connection_kwargs: dict, size: int) -> None:
        self._kwargs = {**connection_kwargs, "check_same_thread": False}
        self._autocheckpoint = sqlite_checkpoints.BACKSTOP_PAGES
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="waybill-sqlite")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(**self._kwargs)
            connection.row_factory = dict_factory
            connection.execute("PRAGMA foreign_keys = 1")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(f"PRAGMA cache_size = -{SQLITE_STATEMENT_CACHE_KIB}")
            connection.execute(f"PRAGMA wal_autocheckpoint = {self._autocheckpoint}")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _run(self, query: str, args: list) -> list[dict]:
        cursor = self._connection().execute(query, args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def run(self, query: str, args: list, database_path: str) -> list[dict]:
        if not _is_read(query):
            # A write must never wait for SQLite's lock on the event loop's thread: the transaction
            # holding the lock may be one of this loop's own. It takes its turn like any writer.
            async with sqlite_turns.writer_turn(database_path):
                return await self._in_thread(query, args)
        if _reads_in_threads.get():
            return await self._in_thread(query, args)
        return self._run(query, args)

    async def _in_thread(self, query: str, args: list) -> list[dict]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, query, args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


class _PooledConnection:
    """A transaction's aiosqlite connection whose `close()` hands it back to the pool when it is clean."""

    def __init__(self, connection: Any, pool: SQLiteTransactionPool) -> None:
        self._connection = connection
        self._pool = pool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def close(self) -> None:
        await self._pool.release(self._connection)


class SQLiteTransactionPool:
    """Idle connections for transactions, reused instead of opening one (and a thread) per transaction.

    A fresh connection starts with an empty page cache, so every import page or order change paid for
    reading the indexes it touches back from the file. A connection goes back to the pool only when it
    is outside any transaction; one left in a transaction (a failed COMMIT or ROLLBACK) is closed.
    """

    def __init__(self, engine: WaybillSQLiteEngine, size: int) -> None:
        self._engine = engine
        self._size = size
        self._idle: list[tuple[asyncio.AbstractEventLoop, Any]] = []

    async def acquire(self) -> _PooledConnection:
        loop = asyncio.get_running_loop()
        while self._idle:
            owner, connection = self._idle.pop()
            if owner is loop:
                return _PooledConnection(connection, self)
            self._engine.discard_connection(connection)
        connection = await self._engine.open_connection()
        await connection.execute(f"PRAGMA cache_size = -{SQLITE_STATEMENT_CACHE_KIB}")
        # The pool's checkpoint task does the checkpoints (models.db.sqlite_checkpoints).
        await connection.execute(f"PRAGMA wal_autocheckpoint = {sqlite_checkpoints.BACKSTOP_PAGES}")
        return _PooledConnection(connection, self)

    async def release(self, connection: Any) -> None:
        if connection.in_transaction or len(self._idle) >= self._size or self._engine.pool_closed(self):
            await connection.close()
        else:
            self._idle.append((asyncio.get_running_loop(), connection))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        loop = asyncio.get_running_loop()
        for owner, connection in idle:
            if owner is loop:
                await connection.close()
            else:
                self._engine.discard_connection(connection)


class WaybillSQLiteTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction on a pooled connection when the engine has a pool."""

    async def get_connection(self):
        pool = self.engine._transaction_pool
        if pool is None:
            return await self.engine.get_connection()
        return await pool.acquire()


class WaybillSQLiteEngine(SQLiteEngine):
    """SQLite tuned for a web app: WAL, NORMAL sync, generous busy timeout, writes `BEGIN IMMEDIATE`.

    Between `start_pool()` and `close_pool()`, statements outside a transaction run on a
    `SQLiteStatementPool` and transactions reuse connections from a `SQLiteTransactionPool`.
    """

    _statement_pool: SQLiteStatementPool | None = None
    _transaction_pool: SQLiteTransactionPool | None = None
    _checkpoints: asyncio.Task | None = None

    async def get_connection(self):  # type: ignore[override]
        return await self.open_connection()

    async def open_connection(self):
        connection = await super().get_connection()
        await connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @staticmethod
    def discard_connection(connection: Any) -> None:
        """Close a connection opened on an event loop that is gone (its thread ends with it)."""
        with contextlib.suppress(Exception):
            connection.stop()

    def pool_closed(self, pool: SQLiteTransactionPool) -> bool:
        return self._transaction_pool is not pool

    def transaction(  # type: ignore[override]
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> WaybillSQLiteTransaction:
        return WaybillSQLiteTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def start_transaction_pool(self, size: int) -> None:
        if self._transaction_pool is None:
            self._transaction_pool = SQLiteTransactionPool(self, size)
            self._checkpoints = asyncio.create_task(sqlite_checkpoints.checkpoint_forever(self.path))

    async def close_transaction_pool(self) -> None:
        pool, self._transaction_pool = self._transaction_pool, None
        task, self._checkpoints = self._checkpoints, None
        if task is not None and not task.done():
            # RuntimeError: the task belongs to another event loop (closed, or not this one).
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                task.cancel()
                await task
        if pool is not None:
            await pool.close()

    def ensure_wal(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")

    def start_statement_pool(self, size: int) -> None:
        if self._statement_pool is None:
            self._statement_pool = SQLiteStatementPool(self.connection_kwargs, size)

    def close_statement_pool(self) -> None:
        pool, self._statement_pool = self._statement_pool, None
        if pool is not None:
            pool.close()

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False):
        pool = self._statement_pool
        if pool is None or self.current_transaction.get() is not None:
            return await super().run_querystring(querystring, in_pool=in_pool)
        query_id = self.get_query_id()
        if self.log_queries:
            self.print_query(query_id=query_id, query=querystring.__str__())
        query, args = querystring.compile_string(engine_type=self.engine_type)
        response = await pool.run(query, args, self.path)
        if self.log_responses:
            self.print_response(query_id=query_id, response=response)
        return response


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
    from models.db.tables import ALL_TABLES

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
        return _sqlite_write(eng)
    return eng.transaction()


#: What a statement raises on either engine because of the values it was given (a number out of the
#: column's range, text too long or not storable, a constraint), as opposed to a lost connection or a
#: lock: retrying cannot help, leaving the value out can.
VALUE_ERRORS: tuple[type[Exception], ...] = (
    OverflowError,  # sqlite3 binding an int beyond 64 bits
    sqlite3.DataError,
    sqlite3.IntegrityError,
    AsyncpgEncodeError,  # asyncpg encoding an argument, e.g. beyond int32 for an integer column
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.IntegrityConstraintViolationError,
)


@contextlib.asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """Part of the current transaction that can fail alone: on an exception its statements are rolled
    back and the exception re-raised, while the transaction goes on (PostgreSQL would otherwise refuse
    every later statement). Outside a transaction, it is a write transaction of its own."""
    current = engine().current_transaction.get()
    if current is None:
        async with transaction():
            yield
        return
    point = await current.savepoint()
    try:
        yield
    except Exception:
        await point.rollback_to()
        raise
    await point.release()


@contextlib.asynccontextmanager
async def _sqlite_write(eng: SQLiteEngine) -> AsyncIterator[None]:
    """A write transaction that first waits for its turn (`models.db.sqlite_turns`). A transaction inside
    a transaction joins the outer one and so needs no turn of its own."""
    if eng.current_transaction.get() is not None:
        async with eng.transaction(transaction_type=TransactionType.immediate):
            yield
        return
    async with sqlite_turns.writer_turn(eng.path), eng.transaction(transaction_type=TransactionType.immediate):
        yield


async def _keep_session(connection: Any) -> None:
    """The PostgreSQL pool's reset hook, given so that asyncpg's default reset does not run.

    Before calling it, asyncpg rolls back a transaction left open. Its default reset would then also
    unlock advisory locks, close cursors, unlisten and reset settings: one more round trip after every
    statement run outside a transaction, for session state Waybill never sets."""


async def start_pool(max_size: int = 20) -> None:
    eng = engine()
    if isinstance(eng, PostgresEngine):
        # asyncpg opens 10 connections up front by default, which a small pool cannot hold.
        await eng.start_connection_pool(min_size=min(max_size, 10), max_size=max_size, reset=_keep_session)
    elif isinstance(eng, WaybillSQLiteEngine):
        eng.start_statement_pool(min(max_size, SQLITE_STATEMENT_POOL_SIZE))
        await eng.start_transaction_pool(min(max_size, SQLITE_TRANSACTION_POOL_SIZE))


async def close_pool() -> None:
    eng = engine()
    if isinstance(eng, PostgresEngine):
        await eng.close_connection_pool()
    elif isinstance(eng, WaybillSQLiteEngine):
        eng.close_statement_pool()
        await eng.close_transaction_pool()


async def fetch(sql: str, *args) -> list[dict]:
    """Run a raw query written with `{}` placeholders (portable across both engines)."""
    from models.db.tables import Order

    return await Order.raw(sql, *args).run()


async def concurrently(*reads: Awaitable[Any]) -> list[Any]:
    """Await independent reads side by side (each on its own pooled connection); one after the other
    inside a transaction, whose single connection cannot run two statements at once."""
    if engine().current_transaction.get() is not None:
        return [await read for read in reads]
    return list(await asyncio.gather(*reads))


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
