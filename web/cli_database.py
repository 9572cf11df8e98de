"""The database step every `waybill` command that touches data starts with."""

from __future__ import annotations

import asyncio


def bind_and_migrate(url: str) -> None:
    """Bring the database at `url` up to date and bind the tables to it."""
    from models import db
    from models.db.migrate import migrate

    async def run() -> None:
        engine = db.engine_for(url)
        await migrate(engine)
        db.bind(engine)

    asyncio.run(run())
