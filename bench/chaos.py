"""Many instances, faults and crashes: three `waybill serve` processes on one PostgreSQL database.

The instances run their jobs against the sandboxes (a separate `waybill sandbox` process) with faults
injected (errors, latency, 429s), while orders go through import → accept → dispatch → tracking →
ship: orders appear at the Mirakl sandbox, the channel's auto-accept and auto-process accept them and
send them to BigBuy and ShipBob, this script ships them at the supplier sandboxes, and the instances
follow the parcels and tell the marketplace. Meanwhile instances are killed (SIGKILL) and restarted at
random. At the end the faults are lifted, the system is left to settle, and the reconciliation report
(`models.channels.reconcile`, the same as `waybill reconcile`) compares every order in Waybill, at the channel
and at the suppliers; the sandboxes' own operation counts are checked as well.

    uv run python -m bench.chaos                              # 10,000 orders, 3 instances
    uv run python -m bench.chaos --orders 1000 --kills 5      # smaller

Prints a table; exits with status 1 when anything was lost, duplicated or mismatched, or when an order
at the channel was still not imported once the system had settled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "chaos-run-secret-key-" + "x" * 40
WAYBILL = [sys.executable, "-c", "from web.cli import main; main()"]
DEFAULT_DATABASE = "postgres://postgres:postgres@127.0.0.1:5432/waybill_chaos"
DEFAULT_INTERVALS = "outbox-dispatch=1,supplier-dispatch=1,auto-process=1,supplier-tracking=2,reconcile-imports=5"
CHANNEL = "Mirakl (chaos)"
BIGBUY, SHIPBOB = "BigBuy (chaos)", "ShipBob (chaos)"
#: The marketplace addresses: valid for both suppliers' checks.
ADDRESSES = [
    ("FRA", "12 rue de la Paix", "75002", "Paris"),
    ("FRA", "3 place Bellecour", "69002", "Lyon"),
    ("DEU", "Hohe Straße 52", "50667", "Köln"),
    ("ESP", "Carrer de Colom 4", "46004", "València"),
    ("CZE", "Masarykova 12", "60200", "Brno"),
]
NAMES = [("Zoë", "Dvořák"), ("Jürgen", "Müller"), ("Núria", "Fernández"), ("Tomáš", "Novák"), ("Hélène", "Martin")]


@dataclass
class Config:
    orders: int = 10_000
    instances: int = 3
    database: str = DEFAULT_DATABASE
    kills: int | None = None
    kill_every_s: float = 20.0
    restart_after_s: float = 2.0
    error_rate: float = 0.05
    rate_limit_rate: float = 0.05
    latency_ms: int = 20
    poll_interval_s: int = 5
    intervals: str = DEFAULT_INTERVALS
    feed_rate: float = 0.0
    timeout_s: float = 3600.0
    settle_s: float = 300.0
    seed: int = 7
    workdir: Path = ROOT / "bench" / ".chaos"


@dataclass
class Outcome:
    orders: int = 0
    instances: int = 0
    kills: int = 0
    restarts: int = 0
    seconds: float = 0.0
    imported: int = 0
    shipped: int = 0
    supplier_orders: int = 0
    outbox_messages: int = 0
    outbox_not_done: int = 0
    delivery_attempts: int = 0
    connection_issues: int = 0
    faults_seen: int = 0
    lost: int = 0
    duplicated: int = 0
    mismatched: int = 0
    unreadable: int = 0
    in_flight: int = 0
    #: Open orders at the channel Waybill has not polled yet: none once everything was imported.
    not_yet_imported: int = 0
    reconcile_s: float = 0.0
    channel_twice: int = 0
    #: Orders whose tracking reached Mirakl more often than they have parcels (same numbers again).
    tracking_again: int = 0
    supplier_twice: int = 0
    not_shipped_at_channel: int = 0
    unknown_at_suppliers: int = 0
    findings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.not_yet_imported
            or self.duplicated
            or self.mismatched
            or self.channel_twice
            or self.supplier_twice
            or self.not_shipped_at_channel
            or self.unknown_at_suppliers
            or self.imported != self.orders
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def recreate_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


class Processes:
    """The sandbox process and the Waybill instances, with their logs in the work folder."""

    def __init__(self, config: Config, sandbox_port: int) -> None:
        self.config = config
        self.sandbox_port = sandbox_port
        self.instances: list[subprocess.Popen | None] = [None] * config.instances
        self.ports = [free_port() for _ in range(config.instances)]
        self.sandbox: subprocess.Popen | None = None
        self.starts = 0

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "WAYBILL_DATABASE_URL": self.config.database,
            "WAYBILL_SECRET_KEY": SECRET,
            "WAYBILL_SCHEDULER": "1",
            "WAYBILL_JOB_INTERVALS": self.config.intervals,
        }

    def _log(self, name: str):
        return open(self.config.workdir / f"{name}.log", "ab")

    def start_sandbox(self) -> None:
        command = [*WAYBILL, "sandbox", "--port", str(self.sandbox_port)]
        with self._log("sandbox") as log:
            self.sandbox = subprocess.Popen(command, cwd=ROOT, env=self._env(), stdout=log, stderr=log)

    def start(self, index: int) -> None:
        command = [*WAYBILL, "serve", "--port", str(self.ports[index])]
        with self._log(f"instance-{index + 1}") as log:
            self.instances[index] = subprocess.Popen(command, cwd=ROOT, env=self._env(), stdout=log, stderr=log)
        self.starts += 1

    def kill(self, index: int) -> None:
        process = self.instances[index]
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        self.instances[index] = None

    def stop_all(self) -> None:
        for process in [*self.instances, self.sandbox]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self.instances, self.sandbox]:
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


async def wait_http(url: str, process: subprocess.Popen | None, what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{what} exited with {process.returncode}; see its log in the work folder")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(url, timeout=2)).status_code < 500:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")


async def setup_world(config: Config, sandbox: str) -> None:
    """The channel (auto-accept, auto-process), the two suppliers, their catalog and shipping mappings."""
    from connectors.sandbox.bigbuy import DEFAULT_API_KEY
    from connectors.sandbox.fake_orders import PRODUCTS
    from connectors.sandbox.shipbob import DEFAULT_CHANNEL_ID, DEFAULT_TOKEN
    from models.accounts import credentials
    from models.core.clock import now
    from models.db.tables import CatalogItem, Channel, ShippingMapping, Supplier

    credentials.configure(SECRET)
    stamp = now()
    await Channel.insert(
        Channel(
            name=CHANNEL,
            kind="mirakl",
            base_url=f"{sandbox}/sandbox/mirakl",
            credentials=credentials.encrypt({"api_key": "sandbox-mirakl-key"}),
            poll_interval_s=config.poll_interval_s,
            auto_accept=True,
            auto_process=True,
            created_at=stamp,
        )
    )
    channel = await Channel.select(Channel.id).where(Channel.name == CHANNEL).first()
    for name, kind, creds, prepaid, prefix, method in (
        (BIGBUY, "bigbuy", {"api_key": DEFAULT_API_KEY}, True, "BB-", "Standard Shipment"),
        (SHIPBOB, "shipbob", {"token": DEFAULT_TOKEN, "channel_id": DEFAULT_CHANNEL_ID}, False, "SB-", "Standard"),
    ):
        await Supplier.insert(
            Supplier(
                name=name,
                kind=kind,
                base_url=f"{sandbox}/sandbox/{kind}",
                credentials=credentials.encrypt(creds),
                prepaid=prepaid,
                created_at=stamp,
            )
        )
        supplier = await Supplier.select(Supplier.id).where(Supplier.name == name).first()
        await CatalogItem.insert(
            *[
                CatalogItem(
                    channel_sku=sku, supplier=supplier["id"], supplier_sku=sku, cost=price // 2, updated_at=stamp
                )
                for sku, _, price in PRODUCTS
                if sku.startswith(prefix)
            ]
        )
        await ShippingMapping.insert(
            ShippingMapping(channel=channel["id"], channel_rate="Standard", supplier=supplier["id"], method=method)
        )


async def prepare_sandboxes(client: httpx.AsyncClient, sandbox: str, config: Config) -> None:
    """Plenty of money and stock at the suppliers, then the faults."""
    from connectors.sandbox.fake_orders import PRODUCTS

    plenty = 10_000_000
    await _post(client, f"{sandbox}/sandbox/bigbuy/_control/wallet", {"balance": "100000000.00"})
    await _post(
        client,
        f"{sandbox}/sandbox/bigbuy/_control/catalog",
        {"products": [{"sku": sku, "stock": plenty} for sku, _, _ in PRODUCTS if sku.startswith("BB-")]},
    )
    await _post(
        client,
        f"{sandbox}/sandbox/shipbob/_control/inventory",
        {sku: plenty for sku, _, _ in PRODUCTS if sku.startswith("SB-")},
    )
    await set_faults(client, sandbox, config, on=True)


async def set_faults(client: httpx.AsyncClient, sandbox: str, config: Config, *, on: bool) -> None:
    faults = {
        "error_rate": config.error_rate if on else 0,
        "rate_limit_rate": config.rate_limit_rate if on else 0,
        "retry_after_s": 1,
        "latency_ms": config.latency_ms if on else 0,
        "seed": config.seed,
    }
    for system in ("mirakl", "bigbuy", "shipbob"):
        await _post(client, f"{sandbox}/sandbox/{system}/_control/faults", faults)


async def _post(client: httpx.AsyncClient, url: str, body: Any) -> httpx.Response:
    response = await client.post(url, json=body, timeout=30)
    if response.status_code >= 400:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    return response


def mirakl_order(rng: random.Random, number: int) -> dict[str, Any]:
    from connectors.sandbox.fake_orders import PRODUCTS

    order_id = f"CH{number:07d}-A"
    country, street, postcode, city = rng.choice(ADDRESSES)
    first, last = rng.choice(NAMES)
    lines = []
    for position, (sku, title, price) in enumerate(rng.sample(PRODUCTS, rng.choice([1, 1, 2])), 1):
        quantity = rng.choice([1, 1, 2])
        lines.append(
            {
                "order_line_id": f"{order_id}-{position}",
                "offer_sku": sku,
                "product_title": title,
                "quantity": quantity,
                "price_unit": price / 100,
                "price": price * quantity / 100,
            }
        )
    address = {
        "firstname": first,
        "lastname": last,
        "street_1": street,
        "zip_code": postcode,
        "city": city,
        "country_iso_code": country,
    }
    return {
        "order_id": order_id,
        "order_state": "WAITING_ACCEPTANCE",
        "currency_iso_code": "EUR",
        "shipping_type_label": "Standard",
        "customer": {"firstname": first, "lastname": last, "shipping_address": address},
        "order_lines": lines,
    }


async def feed(client: httpx.AsyncClient, sandbox: str, config: Config, order_ids: list[str]) -> None:
    """Make the orders appear at the marketplace, at `feed_rate` per second (0: as fast as it takes them)."""
    rng = random.Random(config.seed)
    semaphore = asyncio.Semaphore(16)
    started = time.monotonic()

    async def one(number: int) -> None:
        body = mirakl_order(rng, number)
        async with semaphore:
            if config.feed_rate:
                await asyncio.sleep(max(0.0, started + number / config.feed_rate - time.monotonic()))
            await _post(client, f"{sandbox}/sandbox/mirakl/_control/orders", body)
        order_ids.append(body["order_id"])

    await asyncio.gather(*(one(n) for n in range(1, config.orders + 1)))


async def ship_at_suppliers(client: httpx.AsyncClient, sandbox: str, stop: asyncio.Event) -> None:
    """Play the warehouses: every supplier order Waybill placed is shipped, with a tracking number, once."""
    from models.db.tables import Supplier, SupplierOrder

    kinds = {row["id"]: row["kind"] for row in await Supplier.select(Supplier.id, Supplier.kind)}
    shipped: set[str] = set()
    semaphore = asyncio.Semaphore(16)
    carriers = {"bigbuy": "GLS", "shipbob": "USPS"}

    async def ship(row: dict[str, Any]) -> None:
        reference, kind = row["internal_reference"], kinds[row["supplier"]]
        body = {"carrier": carriers[kind], "tracking_number": f"TR{abs(hash(reference)) % 10**12:012d}"}
        async with semaphore:
            response = await client.post(f"{sandbox}/sandbox/{kind}/_control/orders/{reference}/ship", json=body)
        if response.status_code < 400:
            shipped.add(reference)

    while not stop.is_set():
        rows = await SupplierOrder.select(SupplierOrder.internal_reference, SupplierOrder.supplier).where(
            (SupplierOrder.supplier_order_id != "") & SupplierOrder.status.not_in(["shipped", "cancelled"])
        )
        await asyncio.gather(*(ship(row) for row in rows if row["internal_reference"] not in shipped))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def kill_at_random(processes: Processes, config: Config, stop: asyncio.Event, outcome: Outcome) -> None:
    rng = random.Random(config.seed + 1)
    while not stop.is_set():
        if config.kills is not None and outcome.kills >= config.kills:
            return
        pause = config.kill_every_s * rng.uniform(0.5, 1.5)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
            return
        index = rng.randrange(config.instances)
        processes.kill(index)
        outcome.kills += 1
        print(f"  killed instance {index + 1} (SIGKILL), restarting in {config.restart_after_s:g} s", flush=True)
        await asyncio.sleep(config.restart_after_s)
        processes.start(index)
        outcome.restarts += 1


async def progress() -> dict[str, int]:
    from models import db

    rows = await db.fetch(
        "SELECT (SELECT COUNT(*) FROM orders) AS imported, "
        "(SELECT COUNT(*) FROM orders WHERE status = 'shipped') AS shipped, "
        "(SELECT COUNT(*) FROM outbox_message WHERE state = 'pending') AS waiting"
    )
    return {key: int(value) for key, value in rows[0].items()}


def settled(state: dict[str, int], orders: int) -> bool:
    """Every order imported (so the report has none left *not yet imported*) and shipped, and no message
    waiting to be sent (none *in flight*)."""
    return state["imported"] >= orders and state["shipped"] >= orders and state["waiting"] == 0


async def ground_truth(client: httpx.AsyncClient, sandbox: str, order_ids: list[str], outcome: Outcome) -> None:
    """What the sandboxes themselves recorded: each step applied once, every supplier order known."""
    from models.db.tables import Shipment, Supplier, SupplierOrder

    semaphore = asyncio.Semaphore(32)
    parcels = {}
    for row in await Shipment.select(Shipment.order.channel_order_id.as_alias("cid")):
        parcels[row["cid"]] = parcels.get(row["cid"], 0) + 1

    async def get(url: str) -> dict[str, Any]:
        async with semaphore:
            response = await client.get(url, timeout=30)
        response.raise_for_status()
        return response.json()

    async def channel_order(order_id: str) -> None:
        view = await get(f"{sandbox}/sandbox/mirakl/_control/orders/{order_id}")
        operations = view.get("operations", {})
        if view.get("order_state") != "SHIPPED":
            outcome.not_shipped_at_channel += 1
            outcome.findings.append(f"Mirakl {order_id} is {view.get('order_state')}")
        if operations.get("accept", 0) > 1 or operations.get("ship", 0) > 1:
            outcome.channel_twice += 1
            outcome.findings.append(f"Mirakl {order_id}: {operations}")
        if operations.get("tracking", 0) > parcels.get(order_id, 0):
            # Delivered at least once: the same tracking sent again overwrites itself on Mirakl.
            outcome.tracking_again += 1
            outcome.findings.append(f"Mirakl {order_id}: {operations} for {parcels.get(order_id, 0)} parcels")

    kinds = {row["id"]: row["kind"] for row in await Supplier.select(Supplier.id, Supplier.kind)}
    ours = await SupplierOrder.select(SupplierOrder.internal_reference, SupplierOrder.supplier)

    async def supplier_order(row: dict[str, Any]) -> None:
        kind = kinds[row["supplier"]]
        view = await get(f"{sandbox}/sandbox/{kind}/_control/orders/{row['internal_reference']}")
        if view.get("operations", {}).get("create", 0) > 1:
            outcome.supplier_twice += 1
            outcome.findings.append(f"{kind} {row['internal_reference']}: {view['operations']}")

    await asyncio.gather(*(channel_order(order_id) for order_id in order_ids))
    await asyncio.gather(*(supplier_order(row) for row in ours))
    known = {row["internal_reference"] for row in ours}
    for order in (await get(f"{sandbox}/sandbox/bigbuy/_control/orders")).get("orders", []):
        if order.get("internalReference") not in known:
            outcome.unknown_at_suppliers += 1
            outcome.findings.append(f"BigBuy has {order.get('internalReference')} that Waybill does not")


async def database_figures(outcome: Outcome) -> None:
    from models import db

    rows = await db.fetch(
        "SELECT (SELECT COUNT(*) FROM orders) AS imported, "
        "(SELECT COUNT(*) FROM orders WHERE status = 'shipped') AS shipped, "
        "(SELECT COUNT(*) FROM supplier_order) AS supplier_orders, "
        "(SELECT COUNT(*) FROM outbox_message) AS outbox_messages, "
        "(SELECT COUNT(*) FROM outbox_message WHERE state <> 'done') AS outbox_not_done, "
        "(SELECT COALESCE(SUM(attempts), 0) FROM outbox_message) AS delivery_attempts, "
        "(SELECT COUNT(*) FROM sync_issue) AS connection_issues"
    )
    for key, value in rows[0].items():
        setattr(outcome, key, int(value))


async def run(config: Config) -> Outcome:
    from jobs.reconciliation import run_reconciliation
    from models import db

    config.workdir.mkdir(parents=True, exist_ok=True)
    for old in config.workdir.glob("*.log"):
        old.unlink()
    outcome = Outcome(orders=config.orders, instances=config.instances)
    await recreate_database(config.database)
    migrated = subprocess.run(
        [*WAYBILL, "migrate"],
        cwd=ROOT,
        env={**os.environ, "WAYBILL_DATABASE_URL": config.database},
        capture_output=True,
        text=True,
        check=False,
    )
    if migrated.returncode != 0:
        raise RuntimeError(f"migrate failed: {migrated.stderr[-2000:]}")
    db.bind(db.engine_for(config.database))
    await db.start_pool(max_size=8)
    sandbox_port = free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    processes = Processes(config, sandbox_port)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        try:
            processes.start_sandbox()
            await wait_http(f"{sandbox}/sandbox/mirakl/_control/faults", processes.sandbox, "the sandbox")
            await setup_world(config, sandbox)
            await prepare_sandboxes(client, sandbox, config)
            for index in range(config.instances):
                processes.start(index)
            for index in range(config.instances):
                await wait_http(
                    f"http://127.0.0.1:{processes.ports[index]}/healthz", processes.instances[index], "an instance"
                )
            print(
                f"{config.instances} instances up; pushing {config.orders:,} orders with faults "
                f"(errors {config.error_rate:.0%}, 429s {config.rate_limit_rate:.0%}, +{config.latency_ms} ms)",
                flush=True,
            )
            started = time.monotonic()
            stop = asyncio.Event()
            order_ids: list[str] = []
            helpers = [
                asyncio.create_task(feed(client, sandbox, config, order_ids)),
                asyncio.create_task(ship_at_suppliers(client, sandbox, stop)),
                asyncio.create_task(kill_at_random(processes, config, stop, outcome)),
            ]
            deadline = started + config.timeout_s
            last_report = 0.0
            while time.monotonic() < deadline:
                state = await progress()
                done_killing = config.kills is None or outcome.kills >= config.kills
                if settled(state, config.orders) and done_killing:
                    break
                if time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    print(
                        f"  {time.monotonic() - started:6.0f} s: {state['imported']:,} imported, "
                        f"{state['shipped']:,} shipped, {state['waiting']:,} messages waiting, "
                        f"{outcome.kills} kills",
                        flush=True,
                    )
                await asyncio.sleep(1)
            # The end of the storm: faults lifted, instances left alone to finish what is under way.
            stop.set()
            await set_faults(client, sandbox, config, on=False)
            await asyncio.gather(*helpers[1:])
            for index, process in enumerate(processes.instances):
                if process is None or process.poll() is not None:
                    processes.start(index)
            settle_until = time.monotonic() + config.settle_s
            settle_stop = asyncio.Event()
            shipper = asyncio.create_task(ship_at_suppliers(client, sandbox, settle_stop))
            while time.monotonic() < settle_until:
                state = await progress()
                if settled(state, config.orders):
                    break
                await asyncio.sleep(1)
            settle_stop.set()
            await shipper
            outcome.seconds = time.monotonic() - started
            await database_figures(outcome)
            print("Reconciling…", flush=True)
            began = time.monotonic()
            report = await run_reconciliation(client=client)
            outcome.reconcile_s = time.monotonic() - began
            counts = report.counts
            outcome.lost, outcome.duplicated, outcome.mismatched = (
                counts["lost"],
                counts["duplicated"],
                counts["mismatched"],
            )
            outcome.unreadable = sum(t.unreadable for t in report.channels)
            outcome.in_flight = sum(t.in_flight for t in report.channels)
            outcome.not_yet_imported = report.not_yet_imported
            outcome.findings.extend(
                f"{f.kind}: {f.channel_order_id} {f.detail} [{f.waybill} / {f.remote}]" for f in report.findings[:20]
            )
            for tally in report.channels:
                outcome.findings.extend(f"{tally.name}: {error}" for error in tally.errors)
            await ground_truth(client, sandbox, sorted(order_ids), outcome)
        finally:
            processes.stop_all()
            await db.close_pool()
    return outcome


def table(config: Config, outcome: Outcome) -> list[str]:
    rows = [
        ("Orders pushed (Mirakl sandbox)", f"{outcome.orders:,}"),
        ("Waybill instances (waybill serve)", f"{outcome.instances}"),
        (
            "Faults injected",
            f"errors {config.error_rate:.0%}, 429s {config.rate_limit_rate:.0%}, +{config.latency_ms} ms",
        ),
        ("Job intervals (s)", config.intervals.replace(",", ", ")),
        ("Instances killed (SIGKILL) / restarted", f"{outcome.kills} / {outcome.restarts}"),
        (
            "Time to ship everything",
            f"{outcome.seconds:,.0f} s ({outcome.orders / max(outcome.seconds, 1):.1f} orders/s)",
        ),
        ("Orders imported / shipped in Waybill", f"{outcome.imported:,} / {outcome.shipped:,}"),
        ("Supplier orders", f"{outcome.supplier_orders:,}"),
        ("Outbox messages (not done)", f"{outcome.outbox_messages:,} ({outcome.outbox_not_done:,})"),
        (
            "Delivery attempts (retries)",
            f"{outcome.delivery_attempts:,} ({outcome.delivery_attempts - outcome.outbox_messages:,})",
        ),
        ("Connection issues recorded", f"{outcome.connection_issues:,}"),
        ("Reconciliation: lost", f"{outcome.lost:,}"),
        ("Reconciliation: duplicated", f"{outcome.duplicated:,}"),
        ("Reconciliation: mismatched", f"{outcome.mismatched:,}"),
        (
            "Reconciliation: unreadable / in flight / not yet imported",
            f"{outcome.unreadable:,} / {outcome.in_flight:,} / {outcome.not_yet_imported:,}",
        ),
        ("Reconciliation time", f"{outcome.reconcile_s:,.1f} s"),
        ("Sandboxes: accept or ship applied twice", f"{outcome.channel_twice:,}"),
        ("Sandboxes: the same tracking sent again", f"{outcome.tracking_again:,}"),
        ("Sandboxes: a supplier order created twice", f"{outcome.supplier_twice:,}"),
        ("Sandboxes: not shipped at the channel", f"{outcome.not_shipped_at_channel:,}"),
        ("Sandboxes: supplier orders Waybill does not know", f"{outcome.unknown_at_suppliers:,}"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"| {'':<{width}} | result |", f"|{'-' * (width + 2)}|--------|"]
    lines += [f"| {label:<{width}} | {value} |" for label, value in rows]
    return lines


def parse_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument(
        "--database", default=os.environ.get("WAYBILL_CHAOS_DATABASE_URL", DEFAULT_DATABASE),
        help="a PostgreSQL URL; the database is dropped and created again",
    )  # fmt: skip
    parser.add_argument("--kills", type=int, default=None, help="kill this many times in all (default: until done)")
    parser.add_argument("--kill-every", type=float, default=20.0, help="mean seconds between kills")
    parser.add_argument("--restart-after", type=float, default=2.0, help="seconds an instance stays dead")
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--rate-limit-rate", type=float, default=0.05)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--poll-interval", type=int, default=5, help="the channel's poll interval in seconds")
    parser.add_argument("--intervals", default=DEFAULT_INTERVALS, help="job=seconds,… (WAYBILL_JOB_INTERVALS)")
    parser.add_argument("--feed-rate", type=float, default=0.0, help="orders per second (0: as fast as possible)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    parser.add_argument("--settle", type=float, default=300.0, help="seconds to finish once the storm is over")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown")
    args = parser.parse_args(argv)
    config = Config(
        orders=args.orders,
        instances=args.instances,
        database=args.database,
        kills=args.kills,
        kill_every_s=args.kill_every,
        restart_after_s=args.restart_after,
        error_rate=args.error_rate,
        rate_limit_rate=args.rate_limit_rate,
        latency_ms=args.latency_ms,
        poll_interval_s=args.poll_interval,
        intervals=args.intervals,
        feed_rate=args.feed_rate,
        timeout_s=args.timeout,
        settle_s=args.settle,
        seed=args.seed,
    )
    return config, args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # so the instances and the sandbox are stopped on the way out


def main(argv: list[str] | None = None) -> int:
    config, args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    outcome = asyncio.run(run(config))
    lines = table(config, outcome)
    print()
    print("\n".join(lines))
    for finding in outcome.findings[:30]:
        print(f"  - {finding}")
    verdict = "0 lost / 0 duplicated / 0 mismatched" if outcome.clean else "PROBLEMS FOUND"
    print(f"\n{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: {verdict}")
    if args.json:
        args.json.write_text(json.dumps({**asdict(outcome), "clean": outcome.clean}, indent=2))
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0 if outcome.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
