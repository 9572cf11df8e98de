"""Real test databases: SQLite files, or PostgreSQL when WAYBILL_TEST_DB=postgres.

The suite runs once per backend (`make test` does both). A migrated template is built once per
session; each test gets a fresh copy (SQLite) or freshly emptied tables (PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg

from models import db
from models.db.migrate import migrate
from models.db.tables import ALL_TABLES

BACKEND = os.environ.get("WAYBILL_TEST_DB", "sqlite")
POSTGRES_ADMIN_URL = os.environ.get("WAYBILL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def is_postgres() -> bool:
    return BACKEND == "postgres"


def postgres_url(database: str) -> str:
    parsed = urlparse(POSTGRES_ADMIN_URL)
    return urlunparse(parsed._replace(path=f"/{database}"))


async def recreate_postgres_database(name: str) -> str:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return postgres_url(name)


async def drop_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


async def build_template(workdir: Path, name: str) -> str:
    """A migrated database to copy from; returns its URL."""
    if is_postgres():
        url = await recreate_postgres_database(name)
    else:
        url = f"sqlite:///{workdir / (name + '.sqlite3')}"
    await migrate(db.engine_for(url))
    return url


def sqlite_copy(template_url: str, target: Path) -> str:
    source = Path(db.sqlite_path_from_url(template_url))
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


TABLE_NAMES = [t._meta.tablename for t in ALL_TABLES]


async def empty_postgres(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLE_NAMES)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


def run(coro):
    return asyncio.get_event_loop_policy().new_event_loop().run_until_complete(coro)
