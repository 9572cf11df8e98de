"""The demo's world: its login, channels on the marketplace sandboxes, suppliers on the BigBuy and
ShipBob sandboxes with a catalog, carriers and shipping mappings, and the supplier shipping an order."""

from __future__ import annotations

import json
import logging
import random

import httpx

from connectors.sandbox.bigbuy import DEFAULT_API_KEY as BIGBUY_KEY
from connectors.sandbox.fake_orders import PRODUCTS
from connectors.sandbox.shipbob import DEFAULT_CHANNEL_ID as SHIPBOB_CHANNEL
from connectors.sandbox.shipbob import DEFAULT_TOKEN as SHIPBOB_TOKEN
from jobs.supplier_dispatch import follow_supplier_order
from models import db
from models.accounts import credentials
from models.accounts.users import create_user
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import Carrier, CatalogItem, Channel, ShippingMapping, Supplier, SupplierOrder, User
from models.ports import RemoteError

log = logging.getLogger(__name__)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
#: (name, kind, sandbox, currency, credentials) — each polls its sandbox over HTTP.
DEMO_CHANNELS = [
    ("Mirakl marketplace (sandbox)", "mirakl", "mirakl", "EUR", {"api_key": "sandbox-mirakl-key"}),
    ("Back Market (sandbox)", "backmarket", "backmarket", "EUR", {"token": "sandbox-backmarket-token"}),
    ("MALL (sandbox)", "mall", "mall", "CZK", {"client_id": "sandbox-mall-client"}),
]
#: (name, kind, sandbox, prepaid, credentials, SKU prefix it carries, shipping rate → method)
DEMO_SUPPLIERS = [
    ("BigBuy (sandbox)", "bigbuy", "bigbuy", True, {"api_key": BIGBUY_KEY}, "BB-", {"Express": "DHL"}, "GLS"),
    (
        "ShipBob (sandbox)",
        "shipbob",
        "shipbob",
        False,
        {"token": SHIPBOB_TOKEN, "channel_id": SHIPBOB_CHANNEL},
        "SB-",
        {"Express": "Expedited"},
        "Standard",
    ),
]
#: Stock rules of the demo channels (by kind): a safety buffer on Mirakl, a cap on Back Market.
DEMO_STOCK_RULES = {"mirakl": {"stock_buffer": 2}, "backmarket": {"stock_cap": 20}, "mall": {}}
#: Below this wallet (cents) BigBuy cannot take orders, so its SKUs are offered at 0 while it "runs low".
BIGBUY_MIN_WALLET = 50_00
#: The BigBuy sandbox's wallet: normally, and when it "runs low".
WALLET_NORMAL, WALLET_LOW = "2000.00", "15.00"
#: Share of ShipBob shipments put on hold ("address could not be verified").
SHIPBOB_HOLD_RATE = 0.12
DEMO_CARRIERS = [
    ("Colissimo", "COLISSIMO", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}", r"[0-9A-Z]{11,15}"),
    ("DHL", "DHL", "https://www.dhl.com/track?tracking-id={tracking}", r"\d{10,11}"),
    ("UPS", "UPS", "https://www.ups.com/track?tracknum={tracking}", r"1Z[0-9A-Z]{16}"),
    ("GLS", "GLS", "https://gls-group.com/track/{tracking}", ""),
    ("DPD", "DPD", "https://tracking.dpd.de/status/en_US/parcel/{tracking}", ""),
]
ACTOR = Actor.job("demo")


async def ensure_demo_login() -> None:
    """Only demo mode ever creates this well-known login."""
    if not await User.exists().where(User.username == DEMO_USERNAME):
        await create_user(DEMO_USERNAME, DEMO_PASSWORD, "admin", "demo@example.com", check_password=False)


async def ensure_demo_world(base_url: str) -> None:
    stamp = now()
    for name, kind, sandbox, currency, creds in DEMO_CHANNELS:
        if not await Channel.exists().where(Channel.name == name):
            await Channel.insert(
                Channel(
                    name=name,
                    kind=kind,
                    base_url=f"{base_url}/sandbox/{sandbox}",
                    credentials=credentials.encrypt(creds),
                    currency=currency,
                    poll_interval_s=10,
                    stock_sync=True,
                    stock_buffer=DEMO_STOCK_RULES[kind].get("stock_buffer", 0),
                    stock_cap=DEMO_STOCK_RULES[kind].get("stock_cap"),
                    created_at=stamp,
                )
            )
    for name, kind, sandbox, prepaid, creds, prefix, _, _ in DEMO_SUPPLIERS:
        if not await Supplier.exists().where(Supplier.name == name):
            await Supplier.insert(
                Supplier(
                    name=name,
                    kind=kind,
                    base_url=f"{base_url}/sandbox/{sandbox}",
                    credentials=credentials.encrypt(creds),
                    prepaid=prepaid,
                    stock_min_wallet=BIGBUY_MIN_WALLET if prepaid else None,
                    created_at=stamp,
                )
            )
            supplier = await Supplier.select(Supplier.id).where(Supplier.name == name).first()
            await CatalogItem.insert(
                *[
                    CatalogItem(
                        channel_sku=sku,
                        supplier=supplier["id"],
                        supplier_sku=sku,
                        cost=retail * 6 // 10,
                        updated_at=stamp,
                    )
                    for sku, _, retail in PRODUCTS
                    if sku.startswith(prefix)
                ]
            )
    kinds = {row["kind"]: row["id"] for row in await Channel.select(Channel.id, Channel.kind)}
    for name, code, url, pattern in DEMO_CARRIERS:
        if not await Carrier.exists().where(Carrier.name == name):
            # Mirakl knows the carrier by its code, Back Market by its shipper name; MALL takes no code.
            codes = {str(kinds["mirakl"]): code, str(kinds["backmarket"]): name}
            await Carrier.insert(
                Carrier(
                    name=name,
                    tracking_url_pattern=url,
                    tracking_number_pattern=pattern,
                    channel_codes=json.dumps(codes),
                )
            )


async def ensure_demo_mappings() -> None:
    """Every shipping rate the demo channels use, mapped to each supplier's method."""
    suppliers = {row["name"]: row["id"] for row in await Supplier.select(Supplier.id, Supplier.name)}
    rates = await db.fetch("SELECT DISTINCT channel, shipping_rate FROM orders WHERE shipping_rate <> ''")
    for name, *_, methods, default in DEMO_SUPPLIERS:
        supplier_id = suppliers.get(name)
        for row in rates if supplier_id else []:
            mapping = ShippingMapping(
                channel=row["channel"],
                channel_rate=row["shipping_rate"],
                supplier=supplier_id,
                method=methods.get(row["shipping_rate"], default),
            )
            await ShippingMapping.insert(mapping).on_conflict(action="DO NOTHING")


async def ship_at_supplier(order_id: int, rng: random.Random, client: httpx.AsyncClient) -> None:
    """The supplier ships one of the order's supplier orders (in its sandbox); Waybill reads the
    parcel back through the supplier's API, as the tracking job does."""
    rows = await SupplierOrder.select(
        SupplierOrder.id, SupplierOrder.supplier_order_id, SupplierOrder.supplier.base_url
    ).where(
        (SupplierOrder.order == order_id)
        & (SupplierOrder.status == "processed")
        & (SupplierOrder.supplier_order_id != "")
    )
    if not rows:
        return
    row = rng.choice(rows)
    carrier, number = rng.choice(
        [("GLS", f"GLS{rng.randint(10**8, 10**9 - 1)}"), ("DHL", f"{rng.randint(10**9, 10**10 - 1)}")]
    )
    url = f"{row['supplier.base_url']}/_control/orders/{row['supplier_order_id']}/ship"
    response = await client.post(url, json={"carrier": carrier, "tracking_number": number})
    if response.status_code < 300:
        try:
            await follow_supplier_order(row["id"], client)
        except RemoteError as exc:  # the tracking job reads it again and shows what keeps failing
            log.info("demo: supplier order %s not read back: %s", row["id"], exc.message)
