"""Fixtures shared by the integration tests that send orders to the supplier sandboxes over HTTP.

A module that needs a differently set-up sandbox defines its own fixture of the same name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from connectors.sandbox.bigbuy import DEFAULT_API_KEY, BigBuySandbox
from connectors.sandbox.common import Sandbox
from connectors.sandbox.shipbob import DEFAULT_CHANNEL_ID, DEFAULT_TOKEN, ShipBobSandbox
from models.core.clock import now
from models.db.tables import CatalogItem
from tests.integration.support import add_supplier

#: Channel SKUs in the shared catalog, and which supplier has each.
CATALOG = [("BB-1001", "bigbuy"), ("BB-1002", "bigbuy"), ("SB-0007", "shipbob")]


@pytest.fixture
def bigbuy() -> BigBuySandbox:
    return BigBuySandbox(seed=3, wallet="500.00")


@pytest.fixture
def shipbob() -> ShipBobSandbox:
    return ShipBobSandbox(seed=3)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
async def suppliers(database_url, bigbuy, shipbob, serve_sandbox: Callable[[Sandbox], str]) -> dict[str, int]:
    """BigBuy (prepaid) and ShipBob served over HTTP, with the shared catalog; their ids by kind."""
    ids = {
        "bigbuy": await add_supplier("BigBuy", "bigbuy", serve_sandbox(bigbuy), {"api_key": DEFAULT_API_KEY}, True),
        "shipbob": await add_supplier(
            "ShipBob", "shipbob", serve_sandbox(shipbob), {"token": DEFAULT_TOKEN, "channel_id": DEFAULT_CHANNEL_ID}
        ),
    }
    for sku, kind in CATALOG:
        await CatalogItem.insert(
            CatalogItem(channel_sku=sku, supplier=ids[kind], supplier_sku=sku, cost=900, updated_at=now())
        )
    return ids
