"""Bulk writes of plain tuples through the open transaction's own database connection.

Piccolo builds a `Table` object per row and a `QueryString` per value, which costs far more than the
database itself when an import writes a dozen rows per order. These helpers send tuples straight to
the driver of the transaction opened with `models.db.transaction()` (aiosqlite on SQLite, asyncpg on
PostgreSQL), so they commit or roll back with everything else done in it.

Values are stored exactly as Piccolo stores them:

- timezone-aware datetimes: on SQLite through the sqlite3 adapter Piccolo registers (`str()` of the
  value in UTC, e.g. `2026-03-01 12:00:00+00:00`); on PostgreSQL as `timestamptz` by asyncpg;
- JSON columns take the JSON text; booleans are Python bools (SQLite keeps 1 or 0);
- columns a caller does not give get the Piccolo column default, as `Table.insert` would write it.

Statements stay under both engines' bound-parameter limits (32,766 on SQLite, 32,767 on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import itertools
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from piccolo.columns.defaults.base import Default
from piccolo.engine.sqlite import convert_datetime_in
from piccolo.table import Table

from models import db

#: Bound parameters per statement: below SQLite's default limit (32,766) and PostgreSQL's (32,767).
MAX_PARAMETERS = 30_000
#: Rows per SQLite INSERT: large enough to insert many rows per step, small enough to compile fast.
SQLITE_ROWS_PER_STATEMENT = 256


def _connection() -> tuple[Any, bool]:
    """The driver connection of the current transaction, and whether it is SQLite."""
    engine = db.engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk writes must run inside models.db.transaction()")
    return transaction.connection, engine.engine_type == "sqlite"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _marks(count: int, sqlite: bool, start: int = 1) -> list[str]:
    return ["?"] * count if sqlite else [f"${n}" for n in range(start, start + count)]


def chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def fetch(sql: str, *args: Any) -> list[tuple]:
    """Run a query written with `{}` placeholders in the current transaction; rows as tuples."""
    connection, sqlite = _connection()
    query = sql.format(*_marks(len(args), sqlite))
    if sqlite:
        rows = await connection.execute_fetchall(query, args)
        # Piccolo's connections turn rows into dicts.
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]
    return [tuple(record) for record in await connection.fetch(query, *args)]


async def execute(sql: str, *args: Any) -> None:
    """Run a statement written with `{}` placeholders in the current transaction."""
    connection, sqlite = _connection()
    query = sql.format(*_marks(len(args), sqlite))
    if sqlite:
        await connection.execute(query, args)
    else:
        await connection.execute(query, *args)


def stored_instant(value: dt.datetime) -> Any:
    """`value` as the driver would store it. One timestamp written into thousands of rows is
    converted once instead of by the SQLite adapter for every row (on PostgreSQL it stays as it is)."""
    return convert_datetime_in(value) if db.is_sqlite() else value


def in_list(count: int) -> str:
    """`{}, {}, …` for an `IN (…)` of `count` values."""
    return ", ".join(["{}"] * count)


class TableInsert:
    """INSERTs of tuples into one table: the given `columns` in order, Piccolo defaults for the rest.

    Build one per table and column list (module level); `await insert.rows(rows)` writes them.
    """

    def __init__(self, table: type[Table], columns: Sequence[str]) -> None:
        by_name = {c._meta.db_column_name: c for c in table._meta.columns if not c._meta.primary_key}
        unknown = [name for name in columns if name not in by_name]
        if unknown:
            raise ValueError(f"{table._meta.tablename} has no column {', '.join(unknown)}")
        rest = [column for name, column in by_name.items() if name not in columns]
        for column in rest:
            default = getattr(column, "default", None)
            if isinstance(default, Default) or callable(default):
                raise ValueError(f"{table._meta.tablename}.{column._meta.db_column_name} has no fixed default: give it")
        self.table = table._meta.tablename
        self.columns = (*columns, *(c._meta.db_column_name for c in rest))
        #: Appended to every row given.
        self.defaults = tuple(column.get_default_value() for column in rest)
        self._statements: dict[tuple[bool, int, tuple[str, ...]], str] = {}

    def _sql(self, sqlite: bool, rows: int, returning: tuple[str, ...]) -> str:
        key = (sqlite, rows, returning)
        sql = self._statements.get(key)
        if sql is None:
            width = len(self.columns)
            if sqlite:
                values = ", ".join(["(" + ", ".join(["?"] * width) + ")"] * rows)
            else:
                values = ", ".join(
                    "(" + ", ".join(_marks(width, False, start=1 + r * width)) + ")" for r in range(rows)
                )
            sql = f"INSERT INTO {_quote(self.table)} ({', '.join(map(_quote, self.columns))}) VALUES {values}"
            if returning:
                sql += " RETURNING " + ", ".join(map(_quote, returning))
            self._statements[key] = sql
        return sql

    async def rows(self, rows: Sequence[tuple], returning: Sequence[str] = ()) -> list[tuple]:
        """Insert `rows`; with `returning`, those columns of every inserted row (in no particular order)."""
        if not rows:
            return []
        connection, sqlite = _connection()
        if self.defaults:
            defaults = self.defaults
            rows = [row + defaults for row in rows]
        returning = tuple(returning)
        if not returning and not sqlite:
            await connection.copy_records_to_table(self.table, records=rows, columns=self.columns)
            return []
        if sqlite:
            return await self._sqlite_rows(connection, rows, returning)
        out: list[tuple] = []
        for part in chunks(rows, max(1, MAX_PARAMETERS // len(self.columns))):
            sql = self._sql(False, len(part), returning)
            out.extend(tuple(record) for record in await connection.fetch(sql, *itertools.chain.from_iterable(part)))
        return out

    async def _sqlite_rows(self, connection: Any, rows: Sequence[tuple], returning: tuple[str, ...]) -> list[tuple]:
        """Statements of a fixed number of rows, compiled once per connection and reused: SQLite inserts
        each one's rows in one step, without the GIL (`executemany` takes it back between rows), and a
        statement sized to each call's rows would be compiled anew every time. The few rows left over
        go through `executemany` of the one-row statement (or, to return columns, one statement)."""
        per_statement = max(1, min(SQLITE_ROWS_PER_STATEMENT, MAX_PARAMETERS // len(self.columns)))
        whole = len(rows) - len(rows) % per_statement
        out: list[tuple] = []
        parts = [rows[start : start + per_statement] for start in range(0, whole, per_statement)]
        if returning and whole < len(rows):
            parts.append(rows[whole:])
        for part in parts:
            sql = self._sql(True, len(part), returning)
            params = list(itertools.chain.from_iterable(part))
            if returning:
                found = await connection.execute_fetchall(sql, params)
                out.extend(tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in found)
            else:
                await connection.execute(sql, params)
        if not returning and whole < len(rows):
            await connection.executemany(self._sql(True, 1, ()), rows[whole:])
        return out


class QueuedWrites:
    """Inserts handed to the transaction's connection as soon as their rows are built.

    On SQLite the connection's worker thread runs each statement (its inserts without the GIL)
    while the caller builds the next table's rows; statements still run one after the other, in the
    order given. asyncpg runs one operation at a time per connection, so there each insert waits
    for the ones before it.
    """

    def __init__(self) -> None:
        self._pending: list[asyncio.Future] = []
        self._queue = db.is_sqlite()

    async def insert(self, insert: TableInsert, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        if not self._queue:
            await self.wait()
            await insert.rows(rows)
            return
        self._pending.append(asyncio.ensure_future(insert.rows(rows)))
        await asyncio.sleep(0)  # let it reach the connection's queue before the caller goes on

    async def start(self, insert: TableInsert, rows: Sequence[tuple], returning: Sequence[str]) -> asyncio.Future:
        """Begin inserting `rows` and return at once: the future gives the `returning` columns.

        The caller builds rows that do not need those columns while the database inserts these."""
        if not self._queue:
            await self.wait()  # asyncpg: one operation at a time on the connection
        future = asyncio.ensure_future(insert.rows(rows, returning=returning))
        self._pending.append(future)
        await asyncio.sleep(0)  # on the connection (SQLite: in its queue) before the caller goes on
        return future

    async def wait(self) -> None:
        """Every insert done; the first failure raised."""
        pending, self._pending = self._pending, []
        results = await asyncio.gather(*pending, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


@contextlib.asynccontextmanager
async def queued_writes() -> AsyncIterator[QueuedWrites]:
    """Queue inserts for the block; on leaving it (also on an error) wait until every one is done,
    so nothing still runs when the transaction commits or rolls back."""
    writes = QueuedWrites()
    try:
        yield writes
    finally:
        await writes.wait()


#: Blocks currently inside `collector_paused`.
_collector_pauses = 0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector from running during a bulk write.

    A batch of a thousand orders allocates tens of thousands of rows and objects that all live
    until the batch is written. The collector passed over them, and over the rest of the heap,
    many times per batch and freed next to nothing (rows hold no reference cycles): about a sixth
    of the import's own Python time. Reference counting still frees them; the collector runs as usual
    once the last paused block ends, and stays off if something else had turned it off."""
    global _collector_pauses
    if _collector_pauses == 0 and not gc.isenabled():
        yield
        return
    _collector_pauses += 1
    gc.disable()
    try:
        yield
    finally:
        _collector_pauses -= 1
        if _collector_pauses == 0:
            gc.enable()
