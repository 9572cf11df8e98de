"""Demo history: a month of Mirakl marketplace orders, each lived through at believable past moments,
so the Metrics page has trends to show as soon as the demo starts.

Each order appears on the Mirakl sandbox (through its control API) and is imported, accepted or
rejected, sent to its suppliers, shipped and delivered, every step at its own past moment under
`models.core.clock.frozen_at`. The Mirakl, BigBuy and ShipBob sandboxes read the same clock, so each
exchange happens "then"; what the marketplace must hear goes through the outbox as usual. A step that
would fall after the present is left undone, for the demo's own jobs to carry on.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from decimal import Decimal

from connectors.sandbox.fake_orders import ADDRESSES, FIRST_NAMES, LAST_NAMES, PRODUCTS, SHIPPING_RATES
from jobs.demo.world import WALLET_NORMAL, ensure_demo_mappings, ship_at_supplier
from jobs.importer import sync_channel
from jobs.supplier_dispatch import dispatch_order_now
from models.core.actors import Actor
from models.core.clock import frozen_at, now
from models.core.errors import DomainError
from models.db.tables import Channel, Order, OrderLine
from models.orders.acceptance import accept_order, decide_line, reject_order
from models.orders.closing import cancel_order, mark_delivered
from models.suppliers.dispatch import process_order

log = logging.getLogger(__name__)

HISTORY_DAYS = 30
ORDERS_PER_DAY = (1, 2)
MERCHANT = Actor.user("demo")
REASONS = ["out_of_stock", "out_of_stock", "out_of_stock", "price_error", "cannot_ship_to_address"]
ALPHA3 = {"FR": "FRA", "DE": "DEU", "ES": "ESP", "IT": "ITA", "CZ": "CZE", "NL": "NLD", "PL": "POL"}


async def seed_history(market, rng: random.Random, days: int = HISTORY_DAYS) -> int:
    """Place and live through one or two Mirakl orders a day over the last `days` days; returns how many."""

    channel = await Channel.select().where(Channel.kind == "mirakl").first()
    if channel is None:
        return 0
    present = now()
    moments = sorted(
        present - dt.timedelta(days=day, seconds=rng.randint(0, 14 * 3600))
        for day in range(days, 0, -1)
        for _ in range(rng.randint(*ORDERS_PER_DAY))
    )
    placed: list[tuple[str, dt.datetime]] = []
    for moment in moments:
        order_id = f"H{rng.randint(10**8, 10**9 - 1)}-A"
        with frozen_at(moment):
            response = await market.client.post(
                f"{channel['base_url']}/_control/orders", json=_mirakl_order(order_id, rng)
            )
        if response.status_code >= 300:
            log.info("demo history: the Mirakl sandbox refused an order: %s", response.text[:200])
            continue
        with frozen_at(moment + dt.timedelta(minutes=rng.randint(1, 5))):
            await sync_channel(channel["id"], market.client)
        placed.append((order_id, moment))
    await ensure_demo_mappings()
    rows = await Order.select(Order.id, Order.channel_order_id).where(Order.channel == channel["id"])
    ids = {row["channel_order_id"]: row["id"] for row in rows}
    bigbuy, shipbob = market.sandboxes["bigbuy"], market.sandboxes["shipbob"]
    hold_rate, shipbob.hold_rate = shipbob.hold_rate, 0.0  # the past went smoothly at ShipBob
    try:
        for channel_order_id, moment in placed:
            if channel_order_id in ids:
                bigbuy.balance = Decimal(WALLET_NORMAL)
                try:
                    await _live(ids[channel_order_id], moment, present, market, rng)
                except DomainError as exc:
                    log.info("demo history: order %s stopped: %s", channel_order_id, exc.message)
    finally:
        shipbob.hold_rate = hold_rate
        bigbuy.balance = Decimal(WALLET_NORMAL)
    return len(placed)


def _mirakl_order(order_id: str, rng: random.Random) -> dict:
    """A defect-free order in Mirakl's own JSON (the history's mistakes are rejections, not bad data)."""
    country = rng.choice(list(ADDRESSES))
    street, postcode, city = rng.choice(ADDRESSES[country])
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    products = rng.sample(PRODUCTS, rng.choice([1, 1, 1, 2, 2, 3]))
    lines = []
    for sku, title, price in products:
        quantity = rng.choice([1, 1, 1, 2])
        lines.append(
            {
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
        "country_iso_code": ALPHA3[country],
    }
    return {
        "order_id": order_id,
        "currency_iso_code": "EUR",
        "customer": {"firstname": first, "lastname": last, "shipping_address": address},
        "shipping_type_label": rng.choice(SHIPPING_RATES),
        "order_lines": lines,
    }


async def _live(order_id: int, placed: dt.datetime, present: dt.datetime, market, rng: random.Random) -> None:
    """One order's life after it was placed: each step at its moment, none after the present."""

    moment = placed + dt.timedelta(minutes=rng.choice([12, 25, 40, 70, 110, 180, 300, 480, 720]) + rng.randint(0, 9))
    if moment >= present:
        return
    with frozen_at(moment):
        roll = rng.random()
        lines = await OrderLine.select(OrderLine.id).where(OrderLine.order == order_id).order_by(OrderLine.position)
        if roll < 0.06:
            await reject_order(order_id, MERCHANT, rng.choice(REASONS))
            return
        if roll < 0.11 and len(lines) > 1:
            for line in lines[:-1]:
                await decide_line(order_id, line["id"], True, MERCHANT)
            await decide_line(order_id, lines[-1]["id"], False, MERCHANT, reason=rng.choice(REASONS))
        else:
            await accept_order(order_id, MERCHANT)
    if rng.random() < 0.05:
        moment += dt.timedelta(hours=rng.randint(1, 20))
        if moment < present:
            with frozen_at(moment):
                await cancel_order(order_id, MERCHANT, "customer asked to cancel")
        return
    moment += dt.timedelta(minutes=rng.randint(10, 90))
    if moment >= present:
        return
    with frozen_at(moment):
        await process_order(order_id, MERCHANT)
        await dispatch_order_now(order_id, market.client)
    # Most parcels leave within the two days the channel allows; some do not.
    moment += dt.timedelta(hours=rng.choice([6, 14, 20, 26, 30, 40, 46, 54, 70]) + rng.random())
    if moment >= present:
        return
    with frozen_at(moment):
        for _ in range(3):  # one parcel per supplier order
            await ship_at_supplier(order_id, rng, market.client)
    moment += dt.timedelta(days=rng.randint(1, 4))
    if moment < present:
        with frozen_at(moment):
            shipped = await Order.select(Order.status).where(Order.id == order_id).first()
            if shipped["status"] == "shipped":
                await mark_delivered(order_id, moment, MERCHANT)
