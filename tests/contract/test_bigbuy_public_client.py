"""The BigBuy sandbox as the public BigBuy client (`pybigbuy`) sees it, over real HTTP on loopback.

The connector is written against BigBuy's documentation; this test keeps the sandbox honest against a
client that runs against the real API every day: each answer must have the shape the client's types
name, and BigBuy's refusals must surface as the client's own exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from bigbuy import BigBuy
from bigbuy import types as bb_types
from bigbuy.exceptions import (
    BBMoneyBoxTooLowError,
    BBOrderAlreadyExistsError,
    BBProductNotFoundError,
    BBResponseError,
    BBStockError,
    BBValidationError,
    BBZipcodeFormatError,
)

from connectors.sandbox.bigbuy import DEFAULT_API_KEY, BigBuySandbox
from connectors.sandbox.common import Sandbox


@pytest.fixture
def sandbox() -> BigBuySandbox:
    return BigBuySandbox(seed=11)


@pytest.fixture
def client(sandbox: BigBuySandbox, serve_sandbox: Callable[[Sandbox], str]) -> BigBuy:
    return client_for(serve_sandbox(sandbox), DEFAULT_API_KEY)


def client_for(base_url: str, key: str) -> BigBuy:
    client = BigBuy(key, sandbox=True)
    client.base_url = f"{base_url}/rest"
    return client


def an_order(reference: str, *lines: tuple[str, int], **address: str) -> dict[str, Any]:
    return {
        "internalReference": reference,
        "language": "fr",
        "paymentMethod": "moneybox",
        "carriers": [{"name": "GLS"}],
        "shippingAddress": {
            "firstName": "Amélie",
            "lastName": "Lefèvre",
            "country": "FR",
            "postcode": "75002",
            "town": "Paris",
            "address": "12 rue de la Paix",
            "phone": "+33 6 12 34 56 78",
            "email": "amelie@example.com",
            "comment": "",
            **address,
        },
        "products": [{"reference": sku, "quantity": quantity} for sku, quantity in lines or [("BB-1001", 1)]],
    }


def has_shape(answer: Any, typed: Any) -> None:
    """Every key the client's TypedDict requires is in the answer."""
    assert isinstance(answer, dict), answer
    missing = set(typed.__required_keys__) - set(answer)
    assert not missing, f"{typed.__name__} lacks {sorted(missing)}: {answer}"


def test_an_order_is_checked_created_and_read_back_by_id_and_by_reference(
    client: BigBuy, sandbox: BigBuySandbox
) -> None:
    order = an_order("SHOP-1234", ("BB-1001", 2), ("SB-0999", 1))
    check = client.check_order(order)
    has_shape(check, bb_types.BBCheckOrderDict)
    assert check["totalWithoutTaxesAndWithoutShippingCost"] < check["totalWithoutTaxes"] < check["total"]
    balance = sandbox.balance

    order_id = client.create_order_id(order)

    assert order_id.isdigit() and order_id in sandbox.orders  # the id, not the sandbox's mount path
    assert sandbox.balance == balance - Decimal(repr(check["total"]))
    by_id = client.get_order_by_id(order_id)
    has_shape(by_id, bb_types.BBOrderDict)
    assert by_id["id"] == order_id and by_id["internalReference"] == "SHOP-1234"
    assert by_id["totalPaidTaxIncl"] == check["total"]
    assert {(p["reference"], p["quantity"]) for p in by_id["products"]} == {("BB-1001", 2), ("SB-0999", 1)}
    for product in by_id["products"]:
        has_shape(product, bb_types.BBOrderProductDict)
        assert product["priceTaxExcl"] < product["priceTaxIncl"]
    for carrier in by_id["carriers"]:
        has_shape(carrier, bb_types.BBOrderCarrierDict)
    assert [c["name"] for c in by_id["carriers"]] == ["GLS"]

    by_reference = client.get_order_by_customer_reference("SHOP-1234")
    has_shape(by_reference, bb_types.BBSlimOrderDict)
    assert by_reference == {"id": order_id, "totalPaidTaxIncl": f"{check['total']:.2f}"}


def test_order_statuses_name_every_status_an_order_can_have(client: BigBuy, sandbox: BigBuySandbox) -> None:
    statuses = client.get_order_statuses()
    for status in statuses:
        has_shape(status, bb_types.BBOrderStatusDict)
        assert isinstance(status["id"], int) and status["name"].strip()
    names = {status["name"] for status in statuses}
    order_id = client.create_order_id(an_order("SHOP-2"))
    assert client.get_order_by_id(order_id)["status"] in names
    sandbox.set_status(order_id, {"status": "cancelled"})
    assert client.get_order_by_id(order_id)["status"] in names
    assert len(names) == len(statuses)


def test_tracking_by_order_and_for_several_orders(client: BigBuy, sandbox: BigBuySandbox) -> None:
    shipped = client.create_order_id(an_order("SHOP-3"))
    waiting = client.create_order_id(an_order("SHOP-4"))
    assert client.get_tracking_order(shipped) == []
    assert client.get_order_delivery_notes(shipped) == []

    sandbox.ship(shipped, {"carrier": "GLS", "tracking_number": "GLS-778899"})

    [tracking] = client.get_tracking_order(shipped)
    has_shape(tracking, bb_types.BBTrackingOrderDict)
    assert tracking["id"] == int(shipped) and tracking["reference"] == "SHOP-3"
    [parcel] = tracking["trackings"]
    has_shape(parcel, bb_types.BBTrackingDict)
    assert parcel["trackingNumber"] == "GLS-778899"
    carrier_ids = {c["id"] for c in client.get_tracking_carriers()}
    assert parcel["carrier"]["id"] in carrier_ids
    assert client.get_tracking_orders([shipped, waiting]) == [tracking, None]

    [note] = client.get_order_delivery_notes(shipped)
    has_shape(note, bb_types.BBOrderDeliveryNoteDict)
    assert note["order"] == shipped and note["numberOfPackages"] == 1 and note["carrier"] == "GLS"


def test_purse_carriers_and_the_key(client: BigBuy, sandbox: BigBuySandbox, serve_sandbox: Any) -> None:
    assert client.get_purse_amount() == float(sandbox.balance)
    assert client.get_user_auth_status() is None
    carriers = client.get_carriers()
    for carrier in carriers:
        has_shape(carrier, bb_types.BBCarrierDict)
        for service in carrier["shippingServices"]:
            has_shape(service, bb_types.BBShippingServiceDict)
    assert {c["name"] for c in carriers} >= {"GLS", "DHL"}
    for carrier in client.get_tracking_carriers():
        has_shape(carrier, bb_types.BBTrackingCarrierDict)

    stranger = client_for(client.base_url.removesuffix("/rest"), "not-the-key")
    with pytest.raises(BBResponseError) as refused:
        stranger.get_purse_amount()
    assert refused.value.response.status_code == 401


def test_stock_by_handling_days_for_the_catalogue_and_one_product(client: BigBuy, sandbox: BigBuySandbox) -> None:
    everything = client.get_products_stock_by_handling_days()
    assert len(everything) == len(sandbox.catalog)
    for entry in everything:
        has_shape(entry, bb_types.BBProductStockByHandlingDaysDict)
        for stock in entry["stocks"]:
            has_shape(stock, bb_types.BBStockByHandlingDaysDict)
            assert stock["minHandlingDays"] <= stock["maxHandlingDays"]
    first_page = client.get_products_stock_by_handling_days(page=1, pageSize=2)
    assert first_page == everything[:2]

    product = sandbox.catalog["BB-1001"]
    client.create_order_id(an_order("SHOP-5", ("BB-1001", 3)))
    one = client.get_product_stock_by_handling_days(product.id)
    assert one["sku"] == "BB-1001" and sum(s["quantity"] for s in one["stocks"]) == product.stock
    assert client.get_products_variations_stock_by_handling_days() == []


def test_catalogue_products_and_prices(client: BigBuy, sandbox: BigBuySandbox) -> None:
    products = client.get_products()
    assert [p["sku"] for p in products] == list(sandbox.catalog)
    for product in products:
        has_shape(product, bb_types.BBProductDict)
    prices = client.get_products_prices()
    for price in prices:
        has_shape(price, bb_types.BBProductPriceDict)
        assert price["wholesalePrice"] < price["retailPrice"]
    first = sandbox.catalog["BB-1001"]
    assert client.get_product(first.id)["sku"] == "BB-1001"
    [information] = client.get_product_information_by_sku("BB-1001")
    has_shape(information, bb_types.BBProductInformationDict)


def test_multi_shipping_check_and_create(client: BigBuy, sandbox: BigBuySandbox) -> None:
    order = an_order("SHOP-6", ("BB-1001", 1))
    check = client.check_multi_shipping_order(order)
    has_shape(check, bb_types.BBMultiCheckOrderDict)
    [split] = check["orders"]
    has_shape(split, bb_types.BBSplitCheckOrderDict)
    assert split["productReferences"] == ["BB-1001"] and check["errors"] == []
    [order_id] = client.create_multi_shipping_order_ids(order)
    assert sandbox.orders[order_id]["internalReference"] == "SHOP-6"


def test_refusals_are_the_clients_own_exceptions(
    client: BigBuy, sandbox: BigBuySandbox, serve_sandbox: Callable[[Sandbox], str]
) -> None:
    first = client.create_order_id(an_order("SHOP-7"))
    with pytest.raises(BBOrderAlreadyExistsError) as again:
        client.create_order_id(an_order("SHOP-7"))
    assert again.value.bb_data == {"orderId": int(first)}
    with pytest.raises(BBProductNotFoundError) as unknown:
        client.check_order(an_order("SHOP-8", ("XX-404", 1)))
    assert unknown.value.skus == ["XX-404"]
    with pytest.raises(BBStockError) as short:
        client.check_order(an_order("SHOP-8", ("BB-1001", 10_000)))
    assert short.value.skus == ["BB-1001"]
    with pytest.raises(BBZipcodeFormatError) as postcode:
        client.check_order(an_order("SHOP-8", postcode="7500"))
    assert postcode.value.bb_data == {"zipExample": "75002"}
    with pytest.raises(BBValidationError) as form:
        client.check_order(an_order("SHOP-8", lastName=""))
    assert "shippingAddress.lastName" in form.value.error_fields
    with pytest.raises(BBResponseError) as missing:
        client.get_order_by_id("99999999")
    assert missing.value.response.status_code == 404

    poor = client_for(serve_sandbox(BigBuySandbox(seed=1, wallet="1.00")), DEFAULT_API_KEY)
    with pytest.raises(BBMoneyBoxTooLowError) as wallet:
        poor.check_order(an_order("SHOP-9"))
    assert wallet.value.bb_data["moneyBoxAmount"] == 1.0
