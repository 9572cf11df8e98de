"""The database step every `waybill` command that touches data starts with."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def bind_and_migrate(url: str) -> None:
    """Bring the database at `url` up to date and bind the tables to it."""
    from models import db
    from models.db.migrate import migrate

    async def run() -> None:
        engine = db.engine_for(url)
        await migrate(engine)
        db.bind(engine)

    asyncio.run(run())


def on_database(url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` with the database at `url` bound and a small pool of its own (commands run one at a time)."""
    from models import db

    async def run() -> T:
        db.bind(db.engine_for(url))
        await db.start_pool(max_size=2)
        try:
            return await work()
        finally:
            await db.close_pool()

    return asyncio.run(run())
