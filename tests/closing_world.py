"""A MALL channel and a ShipBob warehouse on their sandboxes, and orders brought to each step through
the same domain operations and jobs the app uses, over real HTTP. Shared by the API and browser tests
of delivery, returns and cancellation.

Credentials are encrypted with whatever key `models.accounts.credentials` is configured with at the time.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from connectors.sandbox.mall import DEFAULT_CLIENT_ID
from connectors.sandbox.shipbob import DEFAULT_CHANNEL_ID, DEFAULT_TOKEN
from jobs.dispatcher import dispatch_channel_order_now as send_channel_messages_now
from jobs.importer import sync_channel
from jobs.supplier_dispatch import dispatch_order_now
from models.accounts import credentials
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import (
    Carrier,
    CatalogItem,
    Channel,
    Order,
    OrderLine,
    ShippingMapping,
    Supplier,
    SupplierOrder,
)
from models.fulfilment.shipping import add_shipment
from models.orders.acceptance import accept_order
from models.suppliers.dispatch import process_order

#: A SKU the ShipBob sandbox stocks, and MALL's default delivery method.
SKU = "SB-0007"
MALL_RATE = "pplCz"
MERCHANT = Actor.user("operator")


@dataclass
class ClosingWorld:
    channel: dict
    supplier: dict
    carrier: dict
    mall_url: str
    shipbob_url: str

    async def new_order(self, client: httpx.AsyncClient, quantity: int = 1) -> int:
        """An open order placed on MALL and imported by Waybill (awaiting acceptance); returns our id."""
        response = await client.post(
            f"{self.mall_url}/_control/orders",
            json={
                "status": "open",
                "address": {
                    "name": "Jiří Dvořák",
                    "street": "Masarykova 12",
                    "city": "Brno",
                    "zip": "60200",
                    "country": "CZ",
                    "email": "jiri@example.cz",
                },
                "items": [{"id": SKU, "title": "Yoga mat", "quantity": quantity, "price": 799}],
            },
        )
        assert response.status_code == 201, response.text
        mall_id = str(response.json()["id"])
        run = await sync_channel(self.channel["id"], client)
        assert run.ok, run.summary
        row = (
            await Order.select(Order.id)
            .where((Order.channel == self.channel["id"]) & (Order.channel_order_id == mall_id))
            .first()
        )
        assert row is not None, f"MALL order {mall_id} was not imported: {run.summary}"
        return row["id"]

    async def accepted(self, client: httpx.AsyncClient, quantity: int = 1) -> int:
        """Accepted, and MALL confirmed it (MALL: shipping)."""
        order_id = await self.new_order(client, quantity)
        await accept_order(order_id, MERCHANT)
        await send_channel_messages_now(order_id, client)
        return order_id

    async def at_shipbob(self, client: httpx.AsyncClient, quantity: int = 1) -> int:
        """Processing: the order is at ShipBob."""
        order_id = await self.accepted(client, quantity)
        await process_order(order_id, MERCHANT)
        await dispatch_order_now(order_id, client)
        assert (await Order.select(Order.status).where(Order.id == order_id).first())["status"] == "processing"
        return order_id

    async def ship(self, order_id: int, client: httpx.AsyncClient, tracking: str, quantity: int | None = None) -> None:
        """A parcel with tracking (all of the line unless `quantity`), told to MALL at once."""
        line = await OrderLine.select().where(OrderLine.order == order_id).first()
        await add_shipment(
            order_id,
            {line["id"]: quantity or line["quantity"]},
            MERCHANT,
            carrier_id=self.carrier["id"],
            tracking_number=tracking,
        )
        await send_channel_messages_now(order_id, client)

    async def shipped(self, client: httpx.AsyncClient, tracking: str) -> int:
        """Shipped in full; MALL shows it shipped."""
        order_id = await self.accepted(client)
        await self.ship(order_id, client, tracking)
        return order_id

    async def shipbob_id(self, order_id: int) -> str:
        row = (
            await SupplierOrder.select(SupplierOrder.supplier_order_id)
            .where((SupplierOrder.order == order_id) & (SupplierOrder.supplier == self.supplier["id"]))
            .first()
        )
        return row["supplier_order_id"]


async def closing_world(mall_url: str, shipbob_url: str, prefix: str = "") -> ClosingWorld:
    """The MALL channel, the ShipBob supplier (carrying SB-0007, MALL's PPL as Standard) and a carrier;
    made once per database (looked up again on later calls)."""
    channel_name, supplier_name, carrier_name = f"{prefix}MALL", f"{prefix}ShipBob", f"{prefix}PPL"
    channel = await Channel.select().where(Channel.name == channel_name).first()
    if channel is None:
        await Channel.insert(
            Channel(
                name=channel_name,
                kind="mall",
                base_url=mall_url,
                credentials=credentials.encrypt({"client_id": DEFAULT_CLIENT_ID}),
                currency="CZK",
                created_at=now(),
            )
        )
        channel = await Channel.select().where(Channel.name == channel_name).first()
        await Supplier.insert(
            Supplier(
                name=supplier_name,
                kind="shipbob",
                base_url=shipbob_url,
                credentials=credentials.encrypt({"token": DEFAULT_TOKEN, "channel_id": DEFAULT_CHANNEL_ID}),
                created_at=now(),
            )
        )
        supplier = await Supplier.select().where(Supplier.name == supplier_name).first()
        await CatalogItem.insert(
            CatalogItem(channel_sku=SKU, supplier=supplier["id"], supplier_sku=SKU, cost=1200, updated_at=now())
        )
        await ShippingMapping.insert(
            ShippingMapping(channel=channel["id"], channel_rate=MALL_RATE, supplier=supplier["id"], method="Standard")
        )
        await Carrier.insert(
            Carrier(
                name=carrier_name,
                code="PPL",
                tracking_url_pattern="https://www.ppl.cz/vyhledat-zasilku?shipmentId={tracking}",
            )
        )
    supplier = await Supplier.select().where(Supplier.name == supplier_name).first()
    carrier = await Carrier.select().where(Carrier.name == carrier_name).first()
    return ClosingWorld(channel, supplier, carrier, mall_url, shipbob_url)
