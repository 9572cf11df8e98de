"""Apply Piccolo migrations to a given engine (used by `waybill migrate`, the demo and tests)."""

from __future__ import annotations

import re
from pathlib import Path

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine

from models.db import WaybillSQLiteEngine, piccolo_conf

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ID = re.compile(r'^ID = "([^"]+)"', re.MULTILINE)


async def migrate(engine: Engine) -> None:
    """Bring the database behind `engine` up to the latest schema; safe to run repeatedly."""
    if isinstance(engine, WaybillSQLiteEngine):
        engine.ensure_wal()
    piccolo_conf.DB = engine
    # Piccolo's own bookkeeping table binds to the first engine it sees; follow ours instead.
    Migration._meta.db = engine
    response = await run_forwards(app_name="waybill", migration_id="all", fake=False)
    if not response.success:
        raise RuntimeError(f"Migration failed: {response.message}")


def known_migration_ids() -> list[str]:
    """The IDs of the migrations this version of Waybill ships, read from their files."""
    ids = []
    for path in sorted(MIGRATIONS.glob("m*.py")):
        match = _ID.search(path.read_text(encoding="utf-8"))
        if match:
            ids.append(match.group(1))
    return ids


async def pending_migrations() -> list[str]:
    """Migrations this code needs that the bound database has not run (all of them on an empty one)."""
    from models import db

    try:
        rows = await db.fetch("SELECT name FROM migration WHERE app_name = {}", "waybill")
    except Exception:  # no bookkeeping table yet: nothing has run
        rows = []
    done = {row["name"] for row in rows}
    return [mid for mid in known_migration_ids() if mid not in done]
