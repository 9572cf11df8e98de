"""SQLite transactions reuse idle connections, and never one left inside a transaction."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

import pytest
from piccolo.engine.sqlite import TransactionType

from models import db
from models.db import sqlite_checkpoints
from models.db.tables import Channel

pytestmark = pytest.mark.usefixtures("database_url")


def sqlite_only() -> None:
    if not db.is_sqlite():
        pytest.skip("the transaction pool is SQLite's; PostgreSQL uses asyncpg's pool")


async def raw_connection():
    return db.engine().current_transaction.get().connection._connection


async def test_a_second_transaction_gets_the_first_ones_connection():
    sqlite_only()
    async with db.transaction():
        first = await raw_connection()
    async with db.transaction():
        second = await raw_connection()
    assert first is second


async def test_a_failed_transaction_rolls_back_and_its_connection_is_clean_for_the_next():
    sqlite_only()
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await Channel.insert(Channel(name="rolled back", kind="mirakl"))
            raise RuntimeError("boom")
    async with db.transaction():
        assert not await Channel.exists().where(Channel.name == "rolled back")
        assert (await raw_connection()).in_transaction  # the new transaction, nothing left over


async def test_a_connection_still_inside_a_transaction_is_closed_not_reused():
    sqlite_only()
    transaction = db.engine().transaction(transaction_type=TransactionType.immediate)  # the pool's own object
    await transaction.__aenter__()
    leaked = await raw_connection()
    transaction._committed = True  # pretend COMMIT was sent but it failed: the connection is dirty
    await transaction.__aexit__(None, None, None)
    async with db.transaction():
        assert await raw_connection() is not leaked


async def test_writers_of_one_process_take_turns_instead_of_sleeping_in_sqlites_busy_handler():
    """Twenty writers at once: each waits on the process's write lock, in the order they came."""
    sqlite_only()

    order: list[int] = []

    async def write(n: int) -> None:
        async with db.transaction():
            order.append(n)
            await Channel.insert(Channel(name=f"writer {n}", kind="mirakl"))
            await asyncio.sleep(0)  # let the others pile up behind this one

    await asyncio.gather(*(write(n) for n in range(20)))
    assert order == list(range(20))
    assert await Channel.count().where(Channel.name.like("writer %")) == 20


async def test_short_reads_run_on_the_calling_thread_and_long_ones_on_a_worker_thread():
    sqlite_only()
    import threading

    pool = db.engine()._statement_pool
    threads: list[int] = []
    run = pool._run

    def noting_thread(query, args):
        threads.append(threading.get_ident())
        return run(query, args)

    pool._run = noting_thread
    try:
        await db.fetch("SELECT 1 AS one")
        with db.reads_in_threads():
            rows = await db.fetch("SELECT 2 AS two")
        await db.fetch("SELECT 3 AS three")
    finally:
        del pool._run
    assert rows == [{"two": 2}]
    here = threading.get_ident()
    assert threads[0] == here and threads[2] == here
    assert threads[1] != here


async def test_a_writer_waits_for_another_process_to_finish_its_turn():
    """Another process holding the writers' turn (as a second `waybill serve` worker would) makes a
    write transaction here wait, without failing, until that process lets go."""
    sqlite_only()
    import subprocess
    import sys
    import time

    from models.db.sqlite_turns import LOCK_FILE_SUFFIX

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('holding', flush=True)\n"
            "time.sleep(0.5)\n"
            "print(time.time(), flush=True)\n",
            db.engine().path + LOCK_FILE_SUFFIX,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    async with db.transaction():
        began = time.time()
        await Channel.insert(Channel(name="after the other process", kind="mirakl"))
    released = float(holder.stdout.readline())
    holder.wait(timeout=10)
    assert began >= released
    assert await Channel.exists().where(Channel.name == "after the other process")


async def test_a_write_outside_a_transaction_waits_its_turn_behind_a_transaction_of_the_same_loop():
    """Run on the event loop's thread, the outside write would wait for SQLite's lock while the
    transaction holding it could not go on (it needs the same loop): both would be stuck."""
    sqlite_only()

    async def slow_transaction() -> None:
        async with db.transaction():
            await Channel.insert(Channel(name="inside", kind="mirakl"))
            await asyncio.sleep(0.2)

    holder = asyncio.create_task(slow_transaction())
    await asyncio.sleep(0.05)
    await Channel.insert(Channel(name="outside", kind="mirakl"))  # no transaction: one statement
    await holder
    assert await Channel.count().where(Channel.name.is_in(["inside", "outside"])) == 2


async def test_commits_leave_checkpoints_to_the_background_task():
    """Pooled connections checkpoint only as a backstop (a checkpoint inside a commit holds the
    writers' turn); the pool runs the checkpoint task meanwhile."""
    sqlite_only()
    async with db.transaction():
        cursor = await (await raw_connection()).execute("PRAGMA wal_autocheckpoint")
        assert list((await cursor.fetchone()).values()) == [sqlite_checkpoints.BACKSTOP_PAGES]
    task = db.engine()._checkpoints
    assert task is not None and not task.done()


def test_a_passive_checkpoint_copies_the_whole_log_back(tmp_path):
    path = str(tmp_path / "log.sqlite3")
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as writer:
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("CREATE TABLE t (v TEXT)")
        for n in range(200):
            writer.execute("INSERT INTO t VALUES (?)", ("x" * 2000 + str(n),))
        busy, pages, copied = sqlite_checkpoints.checkpoint_once(path)
        assert pages > 100 and (busy, copied) == (0, pages)
        assert len(writer.execute("SELECT v FROM t").fetchall()) == 200
