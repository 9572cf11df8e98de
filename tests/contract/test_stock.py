"""Contract tests for stock: supplier stock reads and channel offer updates, against the sandboxes over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from connectors.backmarket import BackMarketConnector
from connectors.bigbuy import BigBuyConnector
from connectors.mall import MallConnector
from connectors.mirakl import MiraklConnector
from connectors.sandbox import backmarket, bigbuy, mall, mirakl, shipbob
from connectors.sandbox.bigbuy import Product
from connectors.sandbox.common import Sandbox
from connectors.shipbob import ShipBobConnector
from models.ports import RemoteError, StockUpdate

Serve = Callable[[Sandbox], str]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def test_bigbuy_stock_reads_every_page(serve_sandbox: Serve, http: httpx.AsyncClient) -> None:
    sandbox = bigbuy.BigBuySandbox(seed=1)
    for n in range(2_500):  # three pages of BigBuy's 1,000
        sandbox.catalog[f"P-{n:05d}"] = Product(500_000 + n, f"P-{n:05d}", "Pen", sandbox.catalog["BB-1001"].price, n)
    sandbox.catalog["BB-1001"].stock = 0
    connector = BigBuyConnector(serve_sandbox(sandbox), {"api_key": bigbuy.DEFAULT_API_KEY}, http)
    levels = await connector.stock()
    assert levels["BB-1001"] == 0 and levels["P-02499"] == 2_499
    assert len(levels) == len(sandbox.catalog)


async def test_bigbuy_stock_refused_key_says_so(serve_sandbox: Serve, http: httpx.AsyncClient) -> None:
    connector = BigBuyConnector(serve_sandbox(bigbuy.BigBuySandbox(seed=1)), {"api_key": "wrong"}, http)
    with pytest.raises(RemoteError, match="refused the API key"):
        await connector.stock()


async def test_shipbob_stock_is_fulfillable_quantity_over_pages(serve_sandbox: Serve, http: httpx.AsyncClient) -> None:
    sandbox = shipbob.ShipBobSandbox(seed=1)
    sandbox.set_inventory({f"S-{n:04d}": n for n in range(600)})
    sandbox.stock["S-0010"]["committed"] = 4  # allocated to an open shipment
    connector = ShipBobConnector(
        serve_sandbox(sandbox), {"token": shipbob.DEFAULT_TOKEN, "channel_id": shipbob.DEFAULT_CHANNEL_ID}, http
    )
    levels = await connector.stock()
    assert levels["S-0010"] == 6 and levels["S-0599"] == 599
    assert len(levels) == len(sandbox.stock)


async def test_mirakl_of24_updates_offers_reports_unknown(serve_sandbox: Serve, http: httpx.AsyncClient) -> None:
    sandbox = mirakl.MiraklSandbox(seed=1)
    sandbox.offers.put("BB-1001", 9)
    connector = MiraklConnector(serve_sandbox(sandbox), {"api_key": mirakl.DEFAULT_API_KEY}, http)
    unknown = await connector.push_stock([StockUpdate("BB-1001", 3), StockUpdate("NOPE-1", 2)])
    assert sandbox.offers.offers["BB-1001"].quantity == 3
    assert unknown == {"NOPE-1": "The offer does not exist: create it before updating its stock"}


async def test_backmarket_listing_quantity_and_unknown_sku(serve_sandbox: Serve, http: httpx.AsyncClient) -> None:
    sandbox = backmarket.BackMarketSandbox(seed=1)
    sandbox.offers.put("IPH-13-128-BLK", 5)
    connector = BackMarketConnector(serve_sandbox(sandbox), {"token": backmarket.DEFAULT_TOKEN}, http)
    unknown = await connector.push_stock([StockUpdate("IPH-13-128-BLK", 0), StockUpdate("GONE", 1)])
    assert sandbox.offers.offers["IPH-13-128-BLK"].quantity == 0
    assert unknown == {"GONE": "Back Market has no listing with SKU GONE."}


async def test_mall_availability_and_unknown_product(serve_sandbox: Serve, http: httpx.AsyncClient) -> None:
    sandbox = mall.MallSandbox(seed=1)
    sandbox.offers.put("SB-0007", 1)
    connector = MallConnector(serve_sandbox(sandbox), {"client_id": mall.DEFAULT_CLIENT_ID}, http)
    unknown = await connector.push_stock([StockUpdate("SB-0007", 12), StockUpdate("XX-1", 1)])
    assert sandbox.offers.offers["SB-0007"].quantity == 12
    assert unknown == {"XX-1": "Product XX-1 not found."}


async def test_faults_fail_the_push_with_the_channel_message(serve_sandbox: Serve, http: httpx.AsyncClient) -> None:
    sandbox = mirakl.MiraklSandbox(seed=1)
    sandbox.offers.put("BB-1001", 9)
    base = serve_sandbox(sandbox)
    assert (await http.post(f"{base}/_control/faults", json={"error_rate": 1.0})).status_code == 200
    connector = MiraklConnector(base, {"api_key": mirakl.DEFAULT_API_KEY}, http)
    with pytest.raises(RemoteError) as failed:
        await connector.push_stock([StockUpdate("BB-1001", 3)])
    assert failed.value.retryable and "Mirakl failed" in failed.value.message
    assert sandbox.offers.offers["BB-1001"].quantity == 9


async def test_control_offers_set_and_read(serve_sandbox: Serve, http: httpx.AsyncClient) -> None:
    base = serve_sandbox(mall.MallSandbox(seed=1))
    answer = await http.post(f"{base}/_control/offers", json={"offers": [{"sku": "A-1", "quantity": 4}]})
    assert answer.status_code == 200
    assert (await http.get(f"{base}/_control/offers/A-1")).json()["quantity"] == 4
    refused = await http.post(f"{base}/_control/offers", json={"offers": [{"sku": "A-1", "quantity": -1}]})
    assert refused.status_code == 400 and "quantity" in refused.json()["message"]
