"""Browser tests: the real app as a uvicorn subprocess, driven by Playwright in Chromium.

One server and one database serve the whole e2e session; each test module starts Chromium once and
each test gets a fresh browser context (its own cookies) and imports its own orders with ids no other
test uses. Seeding runs in the test process through the same domain operations the app uses.

The sync Playwright API leaves its event loop marked as running on the main thread while it is
alive, so the browser is module-scoped: it is stopped before pytest moves on to async tests.

Chromium comes from `CHROMIUM_PATH` (the Makefile sets it with `scripts/find-chromium`), else from
that script. Without a browser the tests fail with an explanation; they are never skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from models import db
from models.accounts.users import create_user
from models.channels.importing import import_orders
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import Carrier, Channel, Order, OrderLine, Supplier, SupplierOrder
from models.fulfilment.shipping import add_shipment
from models.orders.acceptance import accept_order
from models.orders.closing import mark_sent_to_supplier
from models.ports import IncomingOrder
from tests import databases
from tests.conftest import TEST_PASSWORD, make_order

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 60.0
ROLES = ("admin", "operator", "viewer")
T = TypeVar("T")

# Playwright's own waits: generous enough for a loaded CI machine, short enough to fail fast.
expect.set_options(timeout=10_000)


# --------------------------------------------------------------------------- browser


def find_chromium() -> str:
    """The Chromium to drive: `CHROMIUM_PATH`, else whatever `scripts/find-chromium` finds."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        pytest.fail(f"CHROMIUM_PATH={configured} is not an executable file. Point it at a Chromium or Chrome binary.")
    script = ROOT / "scripts" / "find-chromium"
    try:
        found = subprocess.run([str(script)], capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"Could not run {script} to find a Chromium: {exc}. Set CHROMIUM_PATH.")
    path = found.stdout.strip().splitlines()[-1] if found.stdout.strip() else ""
    if found.returncode != 0 or not path:
        pytest.fail(
            "No Chromium found for the browser tests (they are never skipped).\n"
            + (found.stderr.strip() or "Install chromium or set CHROMIUM_PATH to a Chromium/Chrome executable.")
        )
    return path


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    return find_chromium()


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright, chromium_executable: str) -> Iterator[Browser]:
    executable = chromium_executable
    try:
        chromium = playwright_instance.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as exc:
        pytest.fail(f"Chromium at {executable} did not start: {exc}")
    yield chromium
    chromium.close()


# --------------------------------------------------------------------------- database and seeding


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a fresh event loop in a worker thread.

    The sync Playwright API keeps its own loop on the main thread, so seeding never shares it.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(_as_coroutine(factory))).result()


async def _as_coroutine(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


@dataclass
class World:
    """What the session's database holds before any test adds orders."""

    url: str
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    supplier: dict[str, Any] = field(default_factory=dict)
    carrier: dict[str, Any] = field(default_factory=dict)
    _engine: Any = None

    def bind(self) -> None:
        if self._engine is None:
            self._engine = db.engine_for(self.url)
        db.bind(self._engine)

    def run(self, factory: Callable[[], Awaitable[T]]) -> T:
        """Run database work against the e2e database (other test modules may have rebound the tables)."""

        async def bound() -> T:
            self.bind()
            return await factory()

        return run_async(bound)

    # Seeding helpers, each one call of a domain operation --------------------------------

    def import_order(self, incoming: IncomingOrder, channel: str = "shop") -> int:
        """Import one order exactly as a channel connector would; returns its internal id."""
        chan = self.channels[channel]
        incoming.currency = chan["currency"]
        incoming.raw = repr(incoming)

        async def work() -> int:
            await import_orders(chan, [incoming], Actor.channel(chan["name"]))
            row = (
                await Order.select(Order.id)
                .where((Order.channel == chan["id"]) & (Order.channel_order_id == incoming.channel_order_id))
                .first()
            )
            return row["id"]

        return self.run(work)

    def send_to_supplier(self, order_id: int) -> None:
        """Accept the order, record the supplier order and mark it processing."""

        async def work() -> None:
            await accept_order(order_id, Actor.user("admin"))
            stamp = now()
            await SupplierOrder.insert(
                SupplierOrder(
                    order=order_id,
                    supplier=self.supplier["id"],
                    internal_reference=f"WB-E2E-{order_id}",
                    supplier_order_id=f"S{order_id:07d}",
                    status="processed",
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            await mark_sent_to_supplier(order_id, Actor("supplier", self.supplier["name"]), "order created")

        self.run(work)

    def ship(self, order_id: int, tracking_number: str) -> None:
        async def work() -> None:
            lines = await OrderLine.select().where(OrderLine.order == order_id)
            await add_shipment(
                order_id,
                {line["id"]: line["quantity"] for line in lines},
                Actor("supplier", self.supplier["name"]),
                carrier_id=self.carrier["id"],
                tracking_number=tracking_number,
            )

        self.run(work)

    def pending_review_count(self) -> int:
        from models.orders.queries import pending_review_count

        return self.run(pending_review_count)


async def _create_world(world: World) -> None:
    stamp = now()
    for key, name, currency in (("shop", "E2E Shop", "EUR"), ("mall", "E2E MALL", "CZK")):
        await Channel.insert(Channel(name=name, kind="demo", currency=currency, created_at=stamp))
        world.channels[key] = await Channel.select().where(Channel.name == name).first()
    await Supplier.insert(
        Supplier(name="E2E Dropship", kind="demo", prepaid=True, wallet_balance=12_345, created_at=stamp)
    )
    world.supplier = await Supplier.select().where(Supplier.name == "E2E Dropship").first()
    await Carrier.insert(Carrier(name="E2E Post", code="E2EPOST", tracking_url_pattern="", tracking_number_pattern=""))
    world.carrier = await Carrier.select().where(Carrier.name == "E2E Post").first()
    for role in ROLES:
        await create_user(role, TEST_PASSWORD, role, f"{role}@example.com")


#: The e2e server's secret key: what the tests encrypt supplier and channel credentials with.
SERVER_SECRET = "e2e-" + "s" * 60

MIGRATE = "import asyncio, sys; from models import db; from models.db.migrate import migrate; " + (
    "asyncio.run(migrate(db.engine_for(sys.argv[1])))"
)


def migrate_in_subprocess(url: str) -> None:
    """`models.db.migrate.migrate` in a child process.

    Piccolo binds its migration-tracking table to the first database migrated in a process, so a
    second `migrate()` here would look at the unit tests' template database instead of this one.
    """
    done = subprocess.run(
        [sys.executable, "-c", MIGRATE, url], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"Migrating the e2e database failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A migrated database with two channels, a supplier, a carrier and one user per role."""
    name = f"waybill_e2e_{os.getpid()}"
    if databases.is_postgres():
        url = run_async(lambda: databases.recreate_postgres_database(name))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / (name + '.sqlite3')}"
    migrate_in_subprocess(url)
    state = World(url=url)
    state.run(lambda: _create_world(state))
    yield state
    if databases.is_postgres():
        run_async(lambda: databases.drop_postgres_database(name))


_order_numbers = itertools.count(1)


def order_id(prefix: str) -> str:
    """A channel order id no other test uses."""
    return f"{prefix}-{os.getpid() % 1000:03d}{next(_order_numbers):04d}"


def days_ago(days: float) -> dt.datetime:
    return now() - dt.timedelta(days=days)


# --------------------------------------------------------------------------- the app server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`uvicorn --factory web.app:create_app` on a free port; yields its base URL."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("e2e-server") / "server.log"
    env = {
        **os.environ,
        "WAYBILL_DATABASE_URL": world.url,
        "WAYBILL_SCHEDULER": "0",
        "WAYBILL_SANDBOXES": "1",
        "WAYBILL_SECRET_KEY": SERVER_SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process, log_path)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_healthy(base: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The app server exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"The app server did not answer /healthz within {SERVER_START_TIMEOUT_S:.0f}s:\n{log_path.read_text()}")


# --------------------------------------------------------------------------- pages


def log_in(page: Page, username: str, password: str = TEST_PASSWORD) -> None:
    """Log in through the form, as a person would."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


class Sessions:
    """Logged-in storage states (cookies), one per role, each made once through the log-in form when first needed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.states: dict[str, Any] = {}

    def state(self, browser: Browser, role: str) -> Any:
        if role not in self.states:
            context = browser.new_context(base_url=self.base_url)
            page = context.new_page()
            page.goto("/login")
            log_in(page, role)
            page.wait_for_url(re.compile(r"/orders$"))
            self.states[role] = context.storage_state()
            context.close()
        return self.states[role]


@pytest.fixture(scope="session")
def sessions(server: str) -> Sessions:
    return Sessions(server)


class Pages:
    """Opens browser contexts on the app: anonymous, or logged in as a role; closes them after the test."""

    def __init__(self, browser: Browser, sessions: Sessions, viewport: dict[str, int]) -> None:
        self.browser = browser
        self.base_url = sessions.base_url
        self.sessions = sessions
        self.viewport = viewport
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def new(self, role: str | None = None, **options: Any) -> Page:
        options.setdefault("viewport", self.viewport)
        if role:
            options["storage_state"] = self.sessions.state(self.browser, role)
        context = self.browser.new_context(base_url=self.base_url, accept_downloads=True, **options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        assert not self.errors, "JavaScript errors in the page:\n" + "\n".join(self.errors)


@pytest.fixture
def pages(browser: Browser, sessions: Sessions) -> Iterator[Pages]:
    opener = Pages(browser, sessions, viewport={"width": 1400, "height": 900})
    yield opener
    opener.close()


__all__ = ["World", "days_ago", "log_in", "make_order", "order_id"]
