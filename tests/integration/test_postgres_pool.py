"""PostgreSQL connections go back to the pool clean, without a reset statement after every query."""

from __future__ import annotations

import pytest

from models import db

pytestmark = pytest.mark.usefixtures("database_url")


def postgres_only() -> None:
    if db.is_sqlite():
        pytest.skip("asyncpg's pool is PostgreSQL's; SQLite has its own transaction pool")


async def test_a_connection_goes_back_to_the_pool_without_a_reset_statement():
    postgres_only()
    pool = db.engine().pool
    statements: list[str] = []
    connection = await pool.acquire()
    connection.add_query_logger(lambda record: statements.append(record.query))
    await connection.fetch("SELECT 1")
    await pool.release(connection)
    assert statements == ["SELECT 1"]


async def test_a_transaction_left_open_is_rolled_back_before_the_next_use():
    postgres_only()
    pool = db.engine().pool
    proxy = await pool.acquire()
    connection = proxy._con  # the connection itself: the proxy refuses calls once released
    await proxy.execute("BEGIN")
    await proxy.execute("INSERT INTO channel (name, kind) VALUES ('left open', 'mirakl')")
    await pool.release(proxy)
    assert not connection.is_in_transaction()
    assert await connection.fetchval("SELECT COUNT(*) FROM channel WHERE name = 'left open'") == 0
