"""SQLite WAL checkpoints off the writers' path.

By default SQLite copies the write-ahead log back into the database file inside the commit that
grows the log past 1,000 pages. That commit holds the writers' turn (`models.db.sqlite_turns`) for as
long as the copy takes, so every other write waits behind it: tens of milliseconds usually, close
to a second on a cold multi-gigabyte file. While the app's pools are up, connections checkpoint only
as a backstop (`BACKSTOP_PAGES`), and a background task checkpoints every `INTERVAL_S` seconds on
its own connection in a thread. A PASSIVE checkpoint takes no lock a writer needs, so writers go on
meanwhile; instances sharing the file each run one, and SQLite lets one checkpoint run at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3

log = logging.getLogger(__name__)

#: Pages after which a committing connection checkpoints anyway (the task stopped or fell behind).
BACKSTOP_PAGES = 10_000
INTERVAL_S = 1.0


def checkpoint_once(path: str) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: (busy, pages in the log, pages copied back)."""
    with contextlib.closing(sqlite3.connect(path, timeout=0.1)) as connection:
        row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


async def checkpoint_forever(path: str, interval_s: float = INTERVAL_S) -> None:
    """Checkpoint `path` every `interval_s` seconds until cancelled; a failed round is logged and retried."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(checkpoint_once, path)
        except sqlite3.Error as exc:  # busy or locked: the next round tries again
            log.debug("checkpoint of %s skipped: %s", path, exc)
