"""Shared fixtures: a real database per test, the app over HTTP, users and sample orders."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from connectors import registry
from models import db
from models.accounts import credentials
from models.accounts.users import create_user
from models.channels.importing import import_orders
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import Channel
from models.ports import IncomingAddress, IncomingLine, IncomingOrder
from tests import databases
from web.app import create_app
from web.settings import Settings

pytest_plugins = ["tests.sandbox_server"]

# The application hands the connector kinds to the domain when it starts; tests that call the domain
# directly need the same directory.
registry.install()

TEST_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def template_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    workdir = tmp_path_factory.mktemp("db-template")
    name = f"waybill_test_{os.getpid()}"
    loop = asyncio.new_event_loop()
    try:
        url = loop.run_until_complete(databases.build_template(workdir, name))
    finally:
        loop.close()
    yield url
    if databases.is_postgres():
        loop = asyncio.new_event_loop()
        loop.run_until_complete(databases.drop_postgres_database(name))
        loop.close()


@pytest.fixture
async def database_url(template_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated, empty database bound for this test."""
    if databases.is_postgres():
        await databases.empty_postgres(template_url)
        url = template_url
    else:
        url = databases.sqlite_copy(template_url, tmp_path / "waybill.sqlite3")
    db.bind(db.engine_for(url))
    credentials.configure("test-secret-key")
    await db.start_pool(max_size=25)
    yield url
    await db.close_pool()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="t" * 40, scheduler_enabled=False)


@contextlib.asynccontextmanager
async def serve_in_test_loop(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for `app`, which runs in the test's own event loop.

    Litestar's `AsyncTestClient` runs the app in a thread with a second event loop. The app and
    the test then share one database engine from two loops, which asyncpg does not allow
    (PostgreSQL runs crashed as soon as a test touched the database while the app was up).
    """
    await db.close_pool()  # the app's lifespan binds the test database again, with a pool in this loop
    started, stopping = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:
        # One task enters and leaves the lifespan (its task groups require it).
        async with app.lifespan():
            started.set()
            await stopping.wait()

    lifespan = asyncio.create_task(run_lifespan())
    ready = asyncio.create_task(started.wait())
    await asyncio.wait([lifespan, ready], return_when=asyncio.FIRST_COMPLETED)
    if lifespan.done():
        ready.cancel()
        lifespan.result()  # start-up failed: raise its error
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", follow_redirects=True
        ) as http:
            yield http
    finally:
        stopping.set()
        await lifespan


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_test_loop(create_app(settings)) as test_client:
        yield test_client


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def login(client: httpx.AsyncClient, username: str, password: str = TEST_PASSWORD) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": csrf_from(page.text), "next": "/orders"},
    )
    assert response.status_code in (200, 302, 303), response.text
    assert client.cookies.get("waybill_session"), "log-in did not set a session"


@pytest.fixture
async def users(database_url: str) -> dict[str, str]:
    for role in ("admin", "operator", "viewer"):
        await create_user(role, TEST_PASSWORD, role, f"{role}@example.com")
    return {"admin": "admin", "operator": "operator", "viewer": "viewer"}


@pytest.fixture
async def channel(database_url: str) -> dict:
    await Channel.insert(Channel(name="Test Marketplace", kind="demo", created_at=now()))
    return await Channel.select().where(Channel.name == "Test Marketplace").first()


def make_order(
    channel_order_id: str,
    *,
    last_name: str = "Dvořák",
    first_name: str = "Zoë",
    postcode: str = "75002",
    country: str = "FR",
    street: str = "12 rue de la Paix",
    lines: list[tuple[str, int, int]] | None = None,
    placed_at: dt.datetime | None = None,
    payment_method: str = "card",
    needs_acceptance: bool = True,
) -> IncomingOrder:
    lines = lines or [("SKU-1", 2, 1990), ("SKU-2", 1, 4500)]
    order = IncomingOrder(
        channel_order_id=channel_order_id,
        placed_at=placed_at or now(),
        lines=[
            IncomingLine(i, sku, f"Product {sku}", qty, price, f"{channel_order_id}-{i}")
            for i, (sku, qty, price) in enumerate(lines, 1)
        ],
        delivery=IncomingAddress(first_name, last_name, "", street, "", postcode, "Paris", "", country),
        customer_first_name=first_name,
        customer_last_name=last_name,
        customer_email="zoe@example.com",
        payment_method=payment_method,
        needs_acceptance=needs_acceptance,
    )
    order.raw = repr(order)
    return order


async def import_one(channel: dict, order: IncomingOrder) -> int:
    from models.db.tables import Order

    await import_orders(channel, [order], Actor.channel(channel["name"]))
    row = (
        await Order.select(Order.id)
        .where((Order.channel == channel["id"]) & (Order.channel_order_id == order.channel_order_id))
        .first()
    )
    return row["id"]


@pytest.fixture
def rng() -> random.Random:
    return random.Random(1234)
