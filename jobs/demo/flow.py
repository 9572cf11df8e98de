"""Demo mode: a login, channels on the marketplace sandboxes, suppliers on the BigBuy and ShipBob
sandboxes (with a catalog and shipping mappings), a backlog spread over every status, and a steady
flow of new marketplace orders that the import jobs fetch and the supplier jobs send over HTTP.

Now and then the BigBuy wallet runs low (orders wait in Pending review until it is topped up and
they are resubmitted) and ShipBob puts a shipment on hold."""

from __future__ import annotations

import datetime as dt
import logging
import random
from decimal import Decimal

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from litestar import Litestar

from connectors.sandbox.common import Sandbox
from connectors.sandbox.fake_orders import PRODUCTS
from jobs.demo.history import seed_history
from jobs.demo.world import (
    ACTOR,
    DEMO_CHANNELS,
    SHIPBOB_HOLD_RATE,
    WALLET_LOW,
    WALLET_NORMAL,
    ensure_demo_login,
    ensure_demo_mappings,
    ensure_demo_world,
    ship_at_supplier,
)
from jobs.http import http_client
from jobs.importer import sync_channel
from jobs.supplier_dispatch import dispatch_order_now
from models import db
from models.core.clock import now
from models.core.errors import DomainError
from models.db.tables import Channel, Order
from models.orders.acceptance import accept_order, reject_order
from models.orders.closing import cancel_order, mark_delivered, mark_returned
from models.orders.lifecycle import OrderStatus
from models.suppliers.dispatch import process_order

log = logging.getLogger(__name__)


async def _channels() -> list[dict]:
    kinds = [kind for _, kind, _, _, _ in DEMO_CHANNELS]
    return await Channel.select().where(Channel.kind.is_in(kinds)).order_by(Channel.id)


def _sandbox_name(channel: dict) -> str:
    return channel["base_url"].rstrip("/").rsplit("/", 1)[-1]


class DemoMarketplaces:
    """The demo's sandboxes and a client that reaches them (in-process before the server runs)."""

    def __init__(self, sandboxes: dict[str, Sandbox], client: httpx.AsyncClient) -> None:
        self.sandboxes = sandboxes
        self.client = client

    async def new_orders(self, rng: random.Random, n: int) -> None:
        """New orders appear on random marketplaces and are imported through their APIs."""
        channels = await _channels()
        touched: set[int] = set()
        for _ in range(n):
            channel = rng.choice(channels)
            self.sandboxes[_sandbox_name(channel)].generate_orders(1)
            touched.add(channel["id"])
        for channel_id in touched:
            await sync_channel(channel_id, self.client)


async def advance(order_id: int, rng: random.Random, client: httpx.AsyncClient) -> None:
    """Move one order one step along, the way merchants and suppliers would."""
    order = await Order.select(Order.status, Order.shipped_at).where(Order.id == order_id).first()
    status = OrderStatus(order["status"])
    if status == OrderStatus.AWAITING_ACCEPTANCE:
        if rng.random() < 0.1:
            await reject_order(order_id, ACTOR, "out_of_stock")
        else:
            await accept_order(order_id, ACTOR)
    elif status == OrderStatus.AWAITING_FULFILLMENT:
        if rng.random() < 0.06:
            await cancel_order(order_id, ACTOR, "customer asked to cancel")
            return
        await process_order(order_id, ACTOR)
        await dispatch_order_now(order_id, client)
    elif status in (OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED):
        await ship_at_supplier(order_id, rng, client)
    elif status == OrderStatus.SHIPPED:
        if rng.random() < 0.08:
            await mark_returned(order_id, ACTOR, "parcel refused by the recipient")
        else:
            await mark_delivered(order_id, now(), ACTOR)


async def seed_backlog(market: DemoMarketplaces, seed: int = 7) -> None:
    """A backlog so every dashboard tab has orders as soon as the demo starts."""
    if await Order.count() > 0:
        return
    rng = random.Random(seed)
    # A month of marketplace orders lived through in the past first, so the Metrics page has trends.
    await seed_history(market, random.Random(seed + 1))
    await market.new_orders(rng, 90)
    await ensure_demo_mappings()
    rows = await Order.select(Order.id, Order.status).order_by(Order.placed_at)
    candidates = [r["id"] for r in rows if r["status"] == OrderStatus.AWAITING_ACCEPTANCE]
    # Oldest orders have moved furthest: 0–4 steps along the lifecycle.
    for index, order_id in enumerate(candidates):
        steps = 5 - (index * 6) // max(len(candidates), 1)
        for _ in range(max(steps, 0)):
            try:
                await advance(order_id, rng, market.client)
            except DomainError:
                break
    await _guarantee_every_tab(market, rng)


async def _guarantee_every_tab(market: DemoMarketplaces, rng: random.Random) -> None:
    """Top up any tab the random walk left empty."""
    for status in (
        OrderStatus.CANCELLED,
        OrderStatus.RETURNED,
        OrderStatus.DELIVERED,
        OrderStatus.SHIPPED,
        OrderStatus.PROCESSING,
        OrderStatus.AWAITING_FULFILLMENT,
        OrderStatus.AWAITING_ACCEPTANCE,
    ):
        if await Order.exists().where(Order.status == status):
            continue
        await market.new_orders(rng, 1)
        newest = (
            await Order.select(Order.id)
            .where(Order.status == OrderStatus.AWAITING_ACCEPTANCE)
            .order_by(Order.id, ascending=False)
            .first()
        )
        if newest is None:
            continue
        path = {
            OrderStatus.AWAITING_ACCEPTANCE: [],
            OrderStatus.AWAITING_FULFILLMENT: ["accept"],
            OrderStatus.PROCESSING: ["accept", "process"],
            OrderStatus.SHIPPED: ["accept", "process", "ship"],
            OrderStatus.DELIVERED: ["accept", "process", "ship", "deliver"],
            OrderStatus.RETURNED: ["accept", "process", "ship", "return"],
            OrderStatus.CANCELLED: ["accept", "cancel"],
        }[status]
        oid = newest["id"]
        for step in path:
            if step in ("accept", "process"):
                await advance(oid, random.Random(1 if step != "accept" else 0), market.client)
            elif step == "ship":
                for _ in range(3):  # one parcel per supplier order
                    await ship_at_supplier(oid, rng, market.client)
            elif step == "deliver":
                await mark_delivered(oid, now(), ACTOR)
            elif step == "return":
                await mark_returned(oid, ACTOR, "parcel came back")
            elif step == "cancel":
                await cancel_order(oid, ACTOR, "customer asked to cancel")
    for _ in range(10):
        if await Order.exists().where(Order.status == OrderStatus.PENDING_REVIEW):
            break
        await market.new_orders(rng, 3)


def demo_jobs(sandboxes: dict[str, Sandbox], seed: int = 11):
    """Installer for the demo's own jobs: new marketplace orders, merchant activity, passing faults."""

    def install(scheduler: AsyncIOScheduler) -> None:
        _install_demo_jobs(scheduler, sandboxes, seed)

    return install


def _install_demo_jobs(scheduler: AsyncIOScheduler, sandboxes: dict[str, Sandbox], seed: int) -> None:
    rng = random.Random(seed)
    marketplaces = {name: sandboxes[name] for _, _, name, _, _ in DEMO_CHANNELS}

    async def new_order() -> None:
        # Only create it on the marketplace: the channel's import job fetches it over HTTP.
        rng.choice(list(marketplaces.values())).generate_orders(1)

    async def fault_burst() -> None:
        sandbox = rng.choice(list(marketplaces.values()))
        sandbox.faults.update({"error_rate": 0.7})
        scheduler.add_job(_clear_faults, "date", run_date=now() + dt.timedelta(seconds=20), args=[sandbox])

    async def move_one() -> None:
        row = await db.fetch(
            "SELECT id FROM orders WHERE status IN ({}, {}, {}, {}) ORDER BY placed_at LIMIT 20",
            "awaiting_acceptance",
            "awaiting_fulfillment",
            "processing",
            "shipped",
        )
        if row:
            try:
                await advance(rng.choice(row)["id"], rng, http_client())
            except DomainError as exc:
                log.info("demo step skipped: %s", exc.message)

    bigbuy = sandboxes["bigbuy"]

    async def wallet_runs_low() -> None:
        bigbuy.balance = Decimal(WALLET_LOW)
        scheduler.add_job(_top_up, "date", run_date=now() + dt.timedelta(seconds=90), args=[bigbuy])

    async def stock_moves() -> None:
        """Stock changes at the suppliers (sometimes sold out); the stock sync carries it to the channels."""
        sku, _, _ = rng.choice(PRODUCTS)
        quantity = rng.choice([0, 1, 3, 8, 15, 40])
        if sku in bigbuy.catalog:
            bigbuy.catalog[sku].stock = quantity
        shipbob = sandboxes["shipbob"]
        if sku in shipbob.stock and quantity >= shipbob.stock[sku]["committed"]:
            shipbob.stock[sku]["on_hand"] = quantity

    scheduler.add_job(new_order, "interval", seconds=6, id="demo-new-order")
    scheduler.add_job(stock_moves, "interval", seconds=15, id="demo-stock-moves")
    scheduler.add_job(ensure_demo_mappings, "interval", seconds=60, id="demo-mappings")
    scheduler.add_job(wallet_runs_low, "interval", seconds=240, id="demo-wallet-low")
    scheduler.add_job(move_one, "interval", seconds=4, id="demo-advance")
    scheduler.add_job(fault_burst, "interval", seconds=120, id="demo-fault-burst")


async def _top_up(bigbuy: Sandbox) -> None:
    """The merchant topped the wallet up: the orders it blocked wait for Resubmit."""
    bigbuy.balance = Decimal(WALLET_NORMAL)


async def _clear_faults(sandbox: Sandbox) -> None:
    sandbox.faults.update({"error_rate": 0})


async def prepare_demo(app: Litestar, base_url: str) -> None:
    """Login, channels on the sandboxes, suppliers, carriers, and the backlog (imported over the APIs)."""
    await ensure_demo_login()
    await ensure_demo_world(base_url)
    app.state.sandboxes["bigbuy"].balance = Decimal(WALLET_NORMAL)
    app.state.sandboxes["shipbob"].hold_rate = SHIPBOB_HOLD_RATE
    for _, _, sandbox, _, _ in DEMO_CHANNELS:  # the merchant's offers, which the stock sync keeps up to date
        for sku, _, _ in PRODUCTS:
            app.state.sandboxes[sandbox].offers.put(sku, 0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport) as client:
        await seed_backlog(DemoMarketplaces(app.state.sandboxes, client))
