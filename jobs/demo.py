"""Demo mode: a login, sample channels and suppliers, a backlog spread over every status, and a
steady flow of new orders through the same import operation the channel connectors use."""

from __future__ import annotations

import datetime as dt
import logging
import random
from itertools import count

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from connectors.sandbox.fake_orders import fake_order
from models import db
from models.acceptance import accept_order, reject_order
from models.actors import Actor
from models.clock import now
from models.closing import cancel_order, mark_delivered, mark_returned, mark_sent_to_supplier
from models.errors import DomainError
from models.importing import import_orders
from models.lifecycle import LineStatus, OrderStatus
from models.shipping import add_shipment
from models.tables import Carrier, Channel, Order, OrderLine, Supplier, SupplierOrder, User
from models.users import create_user

log = logging.getLogger(__name__)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_CHANNELS = [
    ("Demo Mirakl marketplace", "demo", "EUR"),
    ("Demo Back Market", "demo", "EUR"),
    ("Demo MALL", "demo", "CZK"),
]
DEMO_SUPPLIERS = [("BigBuy (demo)", "demo", True, 45_000), ("ShipBob (demo)", "demo", False, None)]
DEMO_CARRIERS = [
    ("Colissimo", "COLISSIMO", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}", r"[0-9A-Z]{11,15}"),
    ("DHL", "DHL", "https://www.dhl.com/track?tracking-id={tracking}", r"\d{10,11}"),
    ("UPS", "UPS", "https://www.ups.com/track?tracknum={tracking}", r"1Z[0-9A-Z]{16}"),
    ("GLS", "GLS", "https://gls-group.com/track/{tracking}", ""),
    ("DPD", "DPD", "https://tracking.dpd.de/status/en_US/parcel/{tracking}", ""),
]
ACTOR = Actor.job("demo")
_sequence = count(1)


async def ensure_demo_login() -> None:
    """Only demo mode ever creates this well-known login."""
    if not await User.exists().where(User.username == DEMO_USERNAME):
        await create_user(DEMO_USERNAME, DEMO_PASSWORD, "admin", "demo@example.com", min_length=4)


async def ensure_demo_world() -> None:
    stamp = now()
    for name, kind, currency in DEMO_CHANNELS:
        if not await Channel.exists().where(Channel.name == name):
            await Channel.insert(Channel(name=name, kind=kind, currency=currency, poll_interval_s=10, created_at=stamp))
    for name, kind, prepaid, balance in DEMO_SUPPLIERS:
        if not await Supplier.exists().where(Supplier.name == name):
            await Supplier.insert(
                Supplier(
                    name=name,
                    kind=kind,
                    prepaid=prepaid,
                    wallet_balance=balance,
                    wallet_updated_at=stamp if prepaid else None,
                    created_at=stamp,
                )
            )
    for name, code, url, pattern in DEMO_CARRIERS:
        if not await Carrier.exists().where(Carrier.name == name):
            await Carrier.insert(
                Carrier(name=name, code=code, tracking_url_pattern=url, tracking_number_pattern=pattern)
            )


async def _channels() -> list[dict]:
    return await Channel.select().where(Channel.kind == "demo").order_by(Channel.id)


async def import_demo_orders(rng: random.Random, n: int, spread: dt.timedelta) -> None:
    channels = await _channels()
    for _ in range(n):
        channel = rng.choice(channels)
        prefix = {"EUR": "MK", "CZK": "ML"}.get(channel["currency"], "WB")
        order_id = f"{prefix}-{now():%y%m%d}-{rng.randint(10000, 99999)}-{next(_sequence)}"
        placed = now() - dt.timedelta(seconds=rng.uniform(0, spread.total_seconds()))
        await import_orders(
            channel, [fake_order(rng, order_id, placed, channel["currency"])], Actor.channel(channel["name"])
        )


async def _tracking(rng: random.Random) -> tuple[int, str]:
    carriers = await Carrier.select().where(Carrier.name.is_in(["Colissimo", "DHL", "GLS"]))
    carrier = rng.choice(carriers)
    number = {"Colissimo": f"6A{rng.randint(10**10, 10**11 - 1)}", "DHL": f"{rng.randint(10**9, 10**10 - 1)}"}.get(
        carrier["name"], f"GLS{rng.randint(10**8, 10**9 - 1)}"
    )
    return carrier["id"], number


async def advance(order_id: int, rng: random.Random) -> None:
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
        suppliers = await Supplier.select(Supplier.id, Supplier.name)
        supplier = rng.choice(suppliers)
        await SupplierOrder.insert(
            SupplierOrder(
                order=order_id,
                supplier=supplier["id"],
                internal_reference=f"WB-{order_id}",
                supplier_order_id=str(rng.randint(10**6, 10**7)),
                status="processed",
                created_at=now(),
                updated_at=now(),
            )
        ).on_conflict(action="DO NOTHING")
        await mark_sent_to_supplier(order_id, Actor("supplier", supplier["name"]), "order created at the supplier")
    elif status in (OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED):
        lines = await OrderLine.select().where(
            (OrderLine.order == order_id) & (OrderLine.status == LineStatus.ACCEPTED)
        )
        carrier_id, number = await _tracking(rng)
        await add_shipment(
            order_id,
            {line["id"]: line["quantity"] for line in lines},
            ACTOR,
            carrier_id=carrier_id,
            tracking_number=number,
        )
    elif status == OrderStatus.SHIPPED:
        if rng.random() < 0.08:
            await mark_returned(order_id, ACTOR, "parcel refused by the recipient")
        else:
            await mark_delivered(order_id, now(), ACTOR)


async def seed_backlog(seed: int = 7) -> None:
    """A backlog so every dashboard tab has orders as soon as the demo starts."""
    if await Order.count() > 0:
        return
    rng = random.Random(seed)
    await import_demo_orders(rng, 90, dt.timedelta(days=12))
    rows = await Order.select(Order.id, Order.status).order_by(Order.placed_at)
    candidates = [r["id"] for r in rows if r["status"] == OrderStatus.AWAITING_ACCEPTANCE]
    # Oldest orders have moved furthest: 0–4 steps along the lifecycle.
    for index, order_id in enumerate(candidates):
        steps = 5 - (index * 6) // max(len(candidates), 1)
        for _ in range(max(steps, 0)):
            try:
                await advance(order_id, rng)
            except DomainError:
                break
    await _guarantee_every_tab(rng)


async def _guarantee_every_tab(rng: random.Random) -> None:
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
        await import_demo_orders(rng, 1, dt.timedelta(hours=6))
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
            if step in ("accept", "process", "ship"):
                await advance(oid, random.Random(1 if step != "accept" else 0))
            elif step == "deliver":
                await mark_delivered(oid, now(), ACTOR)
            elif step == "return":
                await mark_returned(oid, ACTOR, "parcel came back")
            elif step == "cancel":
                await cancel_order(oid, ACTOR, "customer asked to cancel")
    if not await Order.exists().where(Order.status == OrderStatus.PENDING_REVIEW):
        channel = (await _channels())[0]
        order = fake_order(rng, f"MK-REVIEW-{next(_sequence)}", now(), defect_rate=0)
        order.delivery.last_name = ""
        await import_orders(channel, [order])


def install_demo_jobs(scheduler: AsyncIOScheduler, seed: int = 11) -> None:
    rng = random.Random(seed)

    async def new_order() -> None:
        await import_demo_orders(rng, 1, dt.timedelta(seconds=30))

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
                await advance(rng.choice(row)["id"], rng)
            except DomainError as exc:
                log.info("demo step skipped: %s", exc.message)

    scheduler.add_job(new_order, "interval", seconds=6, id="demo-new-order")
    scheduler.add_job(move_one, "interval", seconds=4, id="demo-advance")


async def prepare_demo() -> None:
    await ensure_demo_login()
    await ensure_demo_world()
    await seed_backlog()
