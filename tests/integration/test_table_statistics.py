"""After a bulk write, PostgreSQL gets fresh statistics for a table that has more than doubled."""

from __future__ import annotations

import pytest

from models import db
from models.db.table_statistics import analyze_grown_tables

pytestmark = pytest.mark.usefixtures("database_url")


async def add_channels(first: int, count: int) -> None:
    await db.fetch(
        "INSERT INTO channel (name, kind, base_url, credentials, currency, poll_interval_s, auto_accept, "
        "hold_unknown_sku, auto_process) SELECT 'channel ' || n || repeat('x', 80), 'mirakl', "
        "'https://example.test/' || repeat('y', 300), '', 'EUR', 300, false, false, false "
        "FROM generate_series({}::int, {}::int) AS n",
        first,
        first + count - 1,
    )


async def analyzed_pages() -> int:
    rows = await db.fetch("SELECT relpages FROM pg_class WHERE oid = to_regclass('channel')")
    return rows[0]["relpages"]


async def test_a_table_is_analyzed_when_it_has_doubled_and_not_before():
    if db.is_sqlite():
        await db.fetch("INSERT INTO channel (name, kind) VALUES ('one', 'mirakl')")
        assert await analyze_grown_tables(["channel"], min_pages=1) == []  # SQLite plans without statistics
        return
    await add_channels(1, 2_000)
    assert await analyze_grown_tables(["channel"], min_pages=100_000) == [], "a small table is left alone"
    assert await analyze_grown_tables(["channel"], min_pages=1) == ["channel"]
    pages = await analyzed_pages()
    assert pages > 1
    assert await analyze_grown_tables(["channel"], min_pages=1) == [], "not grown since"
    await add_channels(2_001, 1_000)  # half as big again: not yet
    assert await analyze_grown_tables(["channel"], min_pages=1) == []
    await add_channels(3_001, 2_000)  # now more than twice the analyzed size
    assert await analyze_grown_tables(["channel"], min_pages=1) == ["channel"]
    assert await analyzed_pages() > 2 * pages
