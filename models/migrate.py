"""Apply Piccolo migrations to a given engine (used by `waybill migrate`, the demo and tests)."""

from __future__ import annotations

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine

from models import piccolo_conf
from models.db import WaybillSQLiteEngine


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
