"""A database made by an earlier Waybill upgrades with `waybill migrate` and works.

The schema is built from the migrations as they stood on 2026-12-07 (up to m0019, before `models/` was
split into areas), filled with orders, then upgraded by the real command in its own process and served
by the app. Piccolo knows migrations by id and app name, so moving their files must not make it run
them again or miss any.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration

from models import db
from models.accounts import credentials
from models.accounts.users import create_user
from models.core.clock import now
from models.db import piccolo_conf
from models.db.migrate import known_migration_ids, pending_migrations
from models.db.tables import Channel
from tests import databases
from tests.conftest import TEST_PASSWORD, import_one, login, make_order, serve_in_test_loop
from web.app import create_app
from web.settings import Settings

#: The last migration of 2026-12-07.
LAST_OF_THE_DAY = "2026-12-07T09:00:00:000000"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def old_database(tmp_path: Path) -> AsyncIterator[str]:
    """A new database with only the migrations up to LAST_OF_THE_DAY applied, bound."""
    if databases.is_postgres():
        name = f"waybill_upgrade_{os.getpid()}"
        url = await databases.recreate_postgres_database(name)
    else:
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = db.engine_for(url)
    if hasattr(engine, "ensure_wal"):
        engine.ensure_wal()
    piccolo_conf.DB = engine
    Migration._meta.db = engine
    response = await run_forwards(app_name="waybill", migration_id=LAST_OF_THE_DAY, fake=False)
    assert response.success, response.message
    db.bind(engine)
    credentials.configure("t" * 40)
    await db.start_pool(max_size=5)
    yield url
    await db.close_pool()
    if databases.is_postgres():
        await databases.drop_postgres_database(name)


async def test_a_database_of_2026_12_07_upgrades_and_its_orders_open(old_database: str) -> None:
    ran = {row["name"] for row in await db.fetch("SELECT name FROM migration WHERE app_name = {}", "waybill")}
    assert LAST_OF_THE_DAY in ran and ran <= set(known_migration_ids())
    # The old schema lacks later columns (e.g. channel.version): written with its own columns only.
    await Channel.raw(
        "INSERT INTO channel (name, kind, base_url, created_at) VALUES ({}, {}, {}, {})",
        "Fnac",
        "mirakl",
        "https://fnac.example",
        now(),
    )
    channel = (await db.fetch("SELECT id, name, kind, currency FROM channel WHERE name = {}", "Fnac"))[0]
    order_id = await import_one(channel, make_order("FNAC-7001", last_name="Lefèvre"))
    await import_one(channel, make_order("FNAC-7002", last_name="Dubois"))
    await create_user("admin", TEST_PASSWORD, "admin", "admin@example.com")
    await db.close_pool()

    upgrade = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "migrate"],
        cwd=ROOT,
        env={**os.environ, "WAYBILL_DATABASE_URL": old_database},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Database is up to date." in upgrade.stdout

    await db.start_pool(max_size=5)
    assert await pending_migrations() == []
    settings = Settings(database_url=old_database, secret_key="t" * 40, scheduler_enabled=False)
    async with serve_in_test_loop(create_app(settings)) as client:
        await login(client, "admin")
        listing = await client.get("/orders")
        assert listing.status_code == 200
        assert "FNAC-7001" in listing.text and "FNAC-7002" in listing.text
        page = await client.get(f"/orders/{order_id}")
        assert page.status_code == 200 and "Lefèvre" in page.text
