"""Turns for SQLite writers, so that a write waits exactly as long as the writes before it.

SQLite lets one writer in at a time; a writer that finds the database locked sleeps in SQLite's busy
handler (1, 2, 5, 10 … up to 100 ms a try) and tries again. Under load that sleeping, not the writes
(2–10 ms each), made up most of an action's time: 100 ms spent waiting for a 5 ms write. Here a
writer first takes its turn, and is woken as soon as the previous one is done:

- within a process, on an `asyncio.Lock` (first come, first served);
- between processes (`waybill serve --workers N`, the CLI, a second instance), on an advisory
  `flock` of a lock file beside the database, which the kernel hands over the moment it is released.

SQLite's own locking stays the guarantee; the turns only decide who goes next, and promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

try:
    import fcntl
except ImportError:  # not on POSIX: SQLite's busy handler alone decides
    fcntl = None  # type: ignore[assignment]

LOCK_FILE_SUFFIX = ".writer-lock"

_in_process: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
#: Threads that wait for another process's turn to end (one waiter per event loop at most).
_waiters = ThreadPoolExecutor(max_workers=4, thread_name_prefix="waybill-sqlite-turn")


@contextlib.asynccontextmanager
async def writer_turn(database_path: str) -> AsyncIterator[None]:
    """Wait for this writer's turn on the database file at `database_path`; hold it for the block."""
    loop = asyncio.get_running_loop()
    lock = _in_process.get(loop)
    if lock is None:
        lock = _in_process[loop] = asyncio.Lock()
    async with lock, _between_processes(database_path):
        yield


@contextlib.asynccontextmanager
async def _between_processes(database_path: str) -> AsyncIterator[None]:
    if fcntl is None or not database_path or database_path == ":memory:":
        yield
        return
    fd: int | None = os.open(database_path + LOCK_FILE_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting = _waiters.submit(fcntl.flock, fd, fcntl.LOCK_EX)
            try:
                await asyncio.wrap_future(waiting)
            except asyncio.CancelledError:
                # The thread may still get the lock after we stopped waiting: let it go right then.
                handle, fd = fd, None
                waiting.add_done_callback(lambda _: os.close(handle))
                raise
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing the descriptor ends the turn
