"""A Mirakl channel and a BigBuy supplier on their sandboxes, for the reconciliation tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from connectors.sandbox.bigbuy import DEFAULT_API_KEY, BigBuySandbox
from connectors.sandbox.common import Sandbox
from connectors.sandbox.fake_orders import PRODUCTS, SHIPPING_RATES
from connectors.sandbox.mirakl import MiraklSandbox
from jobs.dispatcher import dispatch_channel_order_now
from jobs.importer import sync_channel
from jobs.supplier_dispatch import dispatch_order_now
from models.accounts import credentials
from models.channels.import_runs import OVERLAP
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import CatalogItem, Channel, Order, ShippingMapping
from models.orders.acceptance import accept_order
from models.suppliers.dispatch import process_order
from tests.integration.support import add_supplier

MERCHANT = Actor("user", "merchant")


@dataclass
class World:
    mirakl: MiraklSandbox
    bigbuy: BigBuySandbox
    channel: dict
    supplier_id: int


async def make_world(serve_sandbox: Callable[[Sandbox], str], name: str, seed: int = 5) -> World:
    mirakl, bigbuy = MiraklSandbox(seed=seed), BigBuySandbox(seed=seed, wallet="100000.00")
    await Channel.insert(
        Channel(
            name=name,
            kind="mirakl",
            base_url=serve_sandbox(mirakl),
            credentials=credentials.encrypt({"api_key": "sandbox-mirakl-key"}),
            created_at=now(),
        )
    )
    channel = await Channel.select().where(Channel.name == name).first()
    supplier_id = await add_supplier(
        f"{name} BigBuy", "bigbuy", serve_sandbox(bigbuy), {"api_key": DEFAULT_API_KEY}, prepaid=True
    )
    stamp = now()
    await CatalogItem.insert(
        *[
            CatalogItem(channel_sku=sku, supplier=supplier_id, supplier_sku=sku, cost=price // 2, updated_at=stamp)
            for sku, _, price in PRODUCTS
        ]
    ).on_conflict(action="DO NOTHING")
    await ShippingMapping.insert(
        *[
            ShippingMapping(channel=channel["id"], channel_rate=rate, supplier=supplier_id, method="Standard Shipment")
            for rate in SHIPPING_RATES
        ]
    )
    return World(mirakl, bigbuy, channel, supplier_id)


async def import_orders_of(world: World, count: int, client: httpx.AsyncClient) -> list[str]:
    """New orders at the marketplace, imported; returns the ids of those waiting for acceptance."""
    world.mirakl.generate_orders(count)
    await sync_channel(world.channel["id"], client)
    rows = (
        await Order.select(Order.channel_order_id)
        .where((Order.channel == world.channel["id"]) & (Order.status == "awaiting_acceptance"))
        .order_by(Order.id)
    )
    return [row["channel_order_id"] for row in rows]


async def order_id_of(world: World, channel_order_id: str) -> int:
    row = (
        await Order.select(Order.id)
        .where((Order.channel == world.channel["id"]) & (Order.channel_order_id == channel_order_id))
        .first()
    )
    return row["id"]


async def accept_and_send(world: World, channel_order_id: str, client: httpx.AsyncClient) -> int:
    """Accept the order, tell the marketplace, send it to BigBuy: what a merchant's day does."""
    order_id = await order_id_of(world, channel_order_id)
    await accept_order(order_id, MERCHANT)
    await dispatch_channel_order_now(order_id, client)
    await process_order(order_id, MERCHANT)
    await dispatch_order_now(order_id, client)
    return order_id


async def import_cursor_of(world: World) -> dt.datetime:
    row = await Channel.select(Channel.import_cursor).where(Channel.id == world.channel["id"]).first()
    assert row["import_cursor"] is not None, "the channel was never imported"
    return row["import_cursor"]


def orders_dated(world: World, stamp: dt.datetime, count: int = 1) -> list[str]:
    """New orders at the marketplace that it shows as placed and last changed at `stamp`."""
    clock = world.mirakl.clock
    world.mirakl.clock = lambda: stamp
    try:
        return world.mirakl.generate_orders(count)
    finally:
        world.mirakl.clock = clock


async def lost_orders(world: World, count: int = 1) -> list[str]:
    """Orders Waybill lost: the marketplace shows them changed before the window its next import reads
    again (the cursor less the overlap), so no poll will ever bring them in."""
    cursor = await import_cursor_of(world)
    return orders_dated(world, cursor - OVERLAP - dt.timedelta(minutes=5), count)
