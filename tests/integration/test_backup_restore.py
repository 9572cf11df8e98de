"""scripts/backup and scripts/restore, as the operations guide tells an operator to run them.

Back up a database with orders, change the orders (a decision, a new order, a deleted user), restore,
and find everything as it was at the backup, counters and triggers included, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from models import db
from models.core.actors import Actor
from models.db.tables import Order, User
from models.orders.acceptance import accept_order
from tests.conftest import import_one, make_order, serve_in_test_loop
from tests.integration.support import counters_match_orders
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]


def script(name: str, *args: str, url: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(ROOT / "scripts" / name), *args],
        env={**os.environ, "WAYBILL_DATABASE_URL": url},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


async def snapshot() -> dict:
    orders = await Order.select(Order.channel_order_id, Order.status, Order.version).order_by(Order.id)
    names = [u["username"] for u in await User.select(User.username).order_by(User.username)]
    return {"orders": orders, "users": names}


async def test_backup_then_restore_brings_the_data_back(database_url, settings, channel, users, tmp_path):
    first = await import_one(channel, make_order("BACKUP-1"))
    await import_one(channel, make_order("BACKUP-2"))
    before = await snapshot()
    assert [o["status"] for o in before["orders"]] == ["awaiting_acceptance", "awaiting_acceptance"]

    backup = script("backup", url=database_url, cwd=tmp_path).stdout.strip()
    assert (tmp_path / backup).is_file()
    assert backup.endswith(".pgdump" if db.is_postgres_url(database_url) else ".sqlite3")

    # Work goes on after the backup...
    await accept_order(first, Actor.user("operator"))
    await import_one(channel, make_order("AFTER-BACKUP"))
    await User.delete().where(User.username == "viewer")
    changed = await snapshot()
    assert changed != before and len(changed["orders"]) == 3

    # ...then the operator stops Waybill and restores.
    await db.close_pool()
    result = script("restore", str(tmp_path / backup), url=database_url, cwd=tmp_path)
    assert "waybill migrate" in result.stdout
    await db.start_pool()

    assert await snapshot() == before
    counted, actual = await counters_match_orders()
    assert counted == actual  # the tab counters came back with the orders
    await import_one(channel, make_order("AFTER-RESTORE"))  # and the triggers keep them right
    counted, actual = await counters_match_orders()
    assert counted == actual and sum(actual.values()) == 3

    async with serve_in_test_loop(create_app(settings)) as client:
        assert (await client.get("/readyz")).json() == {"status": "ready"}


def test_restore_refuses_a_missing_file(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "restore"), str(tmp_path / "nope.sqlite3")],
        env={**os.environ, "WAYBILL_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Usage: scripts/restore FILE" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()


def test_backup_of_a_missing_sqlite_file_says_so(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "backup")],
        env={**os.environ, "WAYBILL_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "No SQLite database at" in result.stderr
