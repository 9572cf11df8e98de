"""Contract tests: the BigBuy connector against the BigBuy sandbox, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from connectors.bigbuy import BigBuyConnector
from connectors.registry import supplier_kinds
from connectors.sandbox.bigbuy import DEFAULT_API_KEY, BigBuySandbox
from connectors.sandbox.common import Sandbox
from models.ports import (
    AlreadyExists,
    RemoteError,
    SupplierAddress,
    SupplierLine,
    SupplierOrderRequest,
    SupplierRefused,
)


@pytest.fixture
def sandbox() -> BigBuySandbox:
    return BigBuySandbox(seed=7)


@pytest.fixture
def base_url(sandbox: BigBuySandbox, serve_sandbox: Callable[[Sandbox], str]) -> str:
    return serve_sandbox(sandbox)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def connector(base_url: str, http: httpx.AsyncClient) -> BigBuyConnector:
    return BigBuyConnector(base_url, {"api_key": DEFAULT_API_KEY}, http)


def order(
    reference: str = "WB-1001-BB",
    *lines: tuple[str, int],
    country: str = "FR",
    postcode: str = "75002",
    last_name: str = "Lefèvre",
    street: str = "12 rue de la Paix",
    method: str = "",
) -> SupplierOrderRequest:
    return SupplierOrderRequest(
        internal_reference=reference,
        address=SupplierAddress(
            first_name="Amélie",
            last_name=last_name,
            street1=street,
            postcode=postcode,
            city="Paris",
            country=country,
            phone="+33 6 12 00 00 00",
            email="amelie@example.com",
        ),
        lines=tuple(
            SupplierLine(sku, quantity, index) for index, (sku, quantity) in enumerate(lines or [("BB-1001", 2)])
        ),
        shipping_method=method,
    )


def euros(sandbox: BigBuySandbox, *lines: tuple[str, int], shipping: str = "5.90") -> int:
    """What the sandbox charges, in cents: products + carrier + 21 % VAT."""
    subtotal = sum((sandbox.catalog[sku].price * quantity for sku, quantity in lines), Decimal(0))
    total = ((subtotal + Decimal(shipping)) * Decimal("1.21")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(total * 100)


async def view(http: httpx.AsyncClient, base_url: str, key: str) -> dict:
    response = await http.get(f"{base_url}/_control/orders/{key}")
    assert response.status_code == 200, response.text
    return response.json()


async def control(http: httpx.AsyncClient, base_url: str, path: str, body: object) -> dict:
    response = await http.post(f"{base_url}/_control/{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_registered_as_a_prepaid_supplier() -> None:
    assert supplier_kinds()["bigbuy"] is BigBuyConnector
    assert BigBuyConnector.prepaid and BigBuyConnector.sandbox_name == "bigbuy" and BigBuyConnector.label == "BigBuy"


# -- order/check ---------------------------------------------------------------------------------


async def test_check_prices_the_order_and_changes_nothing(sandbox: BigBuySandbox, connector: BigBuyConnector) -> None:
    result = await connector.check(order("WB-1", ("BB-1001", 2), ("SB-0999", 1)))
    assert result.ok and result.currency == "EUR"
    assert result.total_cost == euros(sandbox, ("BB-1001", 2), ("SB-0999", 1))
    assert sandbox.orders == {} and sandbox.balance == Decimal("100.00")
    assert sandbox.catalog["BB-1001"].stock == 100
    assert sandbox.operation_count("create", "WB-1") == 0


async def test_check_uses_the_cheapest_carrier_allowed(sandbox: BigBuySandbox, connector: BigBuyConnector) -> None:
    default = await connector.check(order("WB-1"))
    express = await connector.check(order("WB-1", method="DHL"))
    assert default.total_cost == euros(sandbox, ("BB-1001", 2), shipping="5.90")
    assert express.total_cost == euros(sandbox, ("BB-1001", 2), shipping="9.90")
    spain = await connector.check(order("WB-1", country="ES", postcode="28014", method="Correos, GLS"))
    assert spain.total_cost == euros(sandbox, ("BB-1001", 2), shipping="3.90")


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        (order("WB-2", ("XX-0001", 1), ("BB-1001", 1)), "unknown_sku", "Product not found: XX-0001."),
        (order("WB-2", ("BB-1001", 101)), "out_of_stock", "BB-1001: 100 available, 101 requested"),
        (order("WB-2", postcode="7500"), "invalid_postcode", "Valid format for the selected country is 'NNNNN'"),
        (order("WB-2", country="JP", postcode="100-0001"), "no_carrier", "cannot deliver this order to JP"),
        (order("WB-2", country="DE", postcode="10117", method="Correos"), "no_carrier", "Correos cannot deliver"),
        (order("WB-2", last_name=""), "missing_surname", "shippingAddress.lastName: This value should not be blank."),
        (order("WB-2", street="x" * 71), "address_error", "It should have 70 characters or less."),
    ],
    ids=["ER001", "ER003", "ER004", "ER010-country", "ER010-carrier", "blank-surname", "long-address"],
)
async def test_check_refusals_become_review_problems_with_bigbuy_message(
    connector: BigBuyConnector, request_: SupplierOrderRequest, code: str, words: str
) -> None:
    result = await connector.check(request_)
    assert not result.ok and result.total_cost is None
    [problem] = result.problems
    assert problem.code == code
    assert words in problem.message


async def test_unknown_sku_names_the_sku(connector: BigBuyConnector) -> None:
    result = await connector.check(order("WB-2", ("XX-0001", 1), ("XX-0002", 1)))
    assert [(p.code, p.sku) for p in result.problems] == [("unknown_sku", "XX-0001"), ("unknown_sku", "XX-0002")]
    assert result.problems[0].message == "Products not found: XX-0001, XX-0002."


async def test_postcode_refusal_shows_an_example(connector: BigBuyConnector) -> None:
    [problem] = (await connector.check(order("WB-2", postcode="ABC12"))).problems
    assert problem.code == "invalid_postcode" and "75002" in problem.message and "ABC12" in problem.message
    [problem] = (await connector.check(order("WB-2", country="PL", postcode="00029"))).problems
    assert "'NN-NNN'" in problem.message and "00-029" in problem.message


async def test_wallet_too_low_says_both_amounts(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await control(http, base_url, "wallet", {"balance": "12.40"})
    needed = euros(sandbox, ("SB-0999", 2))
    result = await connector.check(order("WB-3", ("SB-0999", 2)))
    [problem] = result.problems
    assert problem.code == "wallet_insufficient"
    assert problem.message == (
        f"Insufficient wallet balance: 12.40 EUR available, {Decimal(needed).scaleb(-2):.2f} EUR needed."
    )


# -- order/create --------------------------------------------------------------------------------


async def test_create_returns_the_location_id_and_debits_wallet_and_stock(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    total = euros(sandbox, ("BB-1001", 2), ("SB-0007", 1))
    order_id = await connector.create(order("WB-10", ("BB-1001", 1), ("SB-0007", 1), ("BB-1001", 1)))
    assert order_id == "10000001"
    seen = await view(http, base_url, "WB-10")
    assert seen["id"] == order_id and seen["status"] == "Payment accepted" and seen["waybill_status"] == "processed"
    assert seen["lines"] == [
        {"sku": "BB-1001", "quantity": 2, "price": 10.95},
        {"sku": "SB-0007", "quantity": 1, "price": 16.45},
    ]
    assert seen["operations"] == {"create": 1}
    assert (await connector.wallet()) == (10_000 - total, "EUR")
    assert sandbox.catalog["BB-1001"].stock == 98 and sandbox.catalog["SB-0007"].stock == 99


async def test_create_twice_with_one_reference_is_already_exists_with_the_first_id(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    first = await connector.create(order("WB-11"))
    balance = await connector.wallet()
    with pytest.raises(AlreadyExists) as caught:
        await connector.create(order("WB-11", ("SB-0420", 5)))
    assert caught.value.supplier_order_id == first and not caught.value.retryable
    assert "already exists" in caught.value.message
    listing = (await http.get(f"{base_url}/_control/orders")).json()
    assert listing["count"] == 1 and [o["internalReference"] for o in listing["orders"]] == ["WB-11"]
    assert sandbox.operation_count("create", "WB-11") == 1
    assert await connector.wallet() == balance
    with pytest.raises(AlreadyExists) as caught:  # the preflight says it too
        await connector.check(order("WB-11"))
    assert caught.value.supplier_order_id == first


async def test_create_refusal_raises_supplier_refused_and_creates_nothing(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await control(http, base_url, "wallet", {"balance": "12.40"})
    with pytest.raises(SupplierRefused) as caught:
        await connector.create(order("WB-12"))
    [problem] = caught.value.problems
    assert problem.code == "wallet_insufficient" and "12.40 EUR available" in problem.message
    assert not caught.value.retryable and caught.value.status_code == 409
    assert sandbox.orders == {} and sandbox.operation_count("create", "WB-12") == 0
    assert (await connector.find_by_reference("WB-12")) is None


async def test_wallet_top_up_lets_a_blocked_order_through(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await control(http, base_url, "wallet", {"balance": "12.40"})
    assert (await connector.wallet()) == (1240, "EUR")
    assert not (await connector.check(order("WB-13"))).ok
    topped = await control(http, base_url, "wallet/topup", {"amount": "50.00"})
    assert topped == {"balance": "62.40", "currency": "EUR"}
    assert (await connector.wallet()) == (6240, "EUR")
    assert (await connector.check(order("WB-13"))).ok
    await connector.create(order("WB-13"))
    assert (await connector.wallet()) == (6240 - euros(sandbox, ("BB-1001", 2)), "EUR")
    for refused in ({"amount": "-5"}, {"amount": "0"}, {"amount": "1.234"}, {"amount": "lots"}, {}):
        response = await http.post(f"{base_url}/_control/wallet/topup", json=refused)
        assert response.status_code == 400 and response.json()["message"], refused


# -- lookups, status and tracking ----------------------------------------------------------------


async def test_find_by_reference_before_and_after(connector: BigBuyConnector) -> None:
    assert await connector.find_by_reference("WB-20") is None
    order_id = await connector.create(order("WB-20"))
    found = await connector.find_by_reference("WB-20")
    assert found is not None
    assert (found.supplier_order_id, found.internal_reference, found.status) == (order_id, "WB-20", "processed")
    assert found.trackings == [] and "Payment accepted" in found.message
    assert await connector.find_by_reference("WB-21") is None


async def test_tracking_after_the_supplier_ships(
    connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(order("WB-30", method="GLS"))
    other = await connector.create(order("WB-31"))
    assert (await connector.fetch_state(order_id)).status == "processed"
    assert await connector.trackings([order_id, other]) == {}
    shipped = await control(http, base_url, f"orders/{order_id}/ship", {"carrier": "GLS", "tracking_number": "GLS123"})
    assert shipped["status"] == "Shipped" and shipped["tracking"] == [{"carrier": "GLS", "tracking_number": "GLS123"}]
    await control(http, base_url, "orders/WB-30/ship", {"tracking_number": "GLS124"})  # a second parcel
    state = await connector.fetch_state(order_id)
    assert state.status == "shipped" and state.internal_reference == "WB-30"
    assert [(t.carrier, t.tracking_number) for t in state.trackings] == [("GLS", "GLS123"), ("GLS", "GLS124")]
    batch = await connector.trackings([order_id, other, "99999999"])
    assert list(batch) == [order_id] and len(batch[order_id]) == 2
    found = await connector.find_by_reference("WB-30")
    assert found is not None and found.status == "shipped" and len(found.trackings) == 2


async def test_cancelled_by_bigbuy_refunds_the_wallet(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(order("WB-40"))
    assert (await connector.wallet())[0] < 10_000
    seen = await control(http, base_url, f"orders/{order_id}/status", {"status": "cancelled"})
    assert seen["status"] == "Cancelled" and seen["waybill_status"] == "cancelled"
    state = await connector.fetch_state(order_id)
    assert state.status == "cancelled" and state.trackings == []
    assert (await connector.wallet()) == (10_000, "EUR") and sandbox.catalog["BB-1001"].stock == 100
    again = await http.post(f"{base_url}/_control/orders/{order_id}/status", json={"status": "processed"})
    assert again.status_code == 400 and "cannot become" in again.json()["message"]
    with pytest.raises(AlreadyExists):  # a cancelled reference stays taken
        await connector.create(order("WB-40"))


@pytest.mark.parametrize(
    ("status", "expected"),
    [("on_hold", "on_hold"), ("Pending payment", "pending"), ("delivered", "shipped"), ("error", "error")],
)
async def test_bigbuy_statuses_map_to_supplier_statuses(
    connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str, status: str, expected: str
) -> None:
    order_id = await connector.create(order("WB-41"))
    await control(http, base_url, f"orders/{order_id}/status", {"status": status})
    assert (await connector.fetch_state(order_id)).status == expected


async def test_unknown_order_id_is_a_404(connector: BigBuyConnector) -> None:
    with pytest.raises(RemoteError) as caught:
        await connector.fetch_state("424242")
    assert caught.value.status_code == 404 and not caught.value.retryable
    assert caught.value.message == "No order found with id: 424242"


async def test_carriers(connector: BigBuyConnector) -> None:
    assert await connector.carriers() == ["Standard Shipment", "GLS", "DHL", "Correos"]


# -- keys, faults, soft errors, rate limits ------------------------------------------------------


async def test_wrong_api_key_is_refused(base_url: str, http: httpx.AsyncClient) -> None:
    wrong = BigBuyConnector(base_url, {"api_key": "not-the-key"}, http)
    for call in (wrong.wallet(), wrong.check(order()), wrong.create(order()), wrong.find_by_reference("WB-1")):
        with pytest.raises(RemoteError) as caught:
            await call
        assert caught.value.status_code == 401 and not caught.value.retryable
        assert "Invalid Token" in caught.value.message and "API key" in caught.value.message
    raw = await http.get(f"{base_url}/rest/user/purse.json", headers={"Authorization": DEFAULT_API_KEY})
    assert raw.status_code == 401 and raw.json() == {"message": "Invalid Token"}  # the key needs "Bearer"
    with pytest.raises(RemoteError) as caught:
        await BigBuyConnector(base_url, {}, http).wallet()
    assert "no API key" in caught.value.message


async def set_faults(http: httpx.AsyncClient, base_url: str, **values: object) -> dict:
    return await control(http, base_url, "faults", values)


async def test_server_error_is_retryable_and_creates_nothing(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await set_faults(http, base_url, error_rate=1)
    with pytest.raises(RemoteError) as caught:
        await connector.create(order("WB-50"))
    assert caught.value.retryable and caught.value.status_code == 500 and not caught.value.ambiguous
    assert "injected fault" in caught.value.message
    assert sandbox.orders == {}
    with pytest.raises(RemoteError) as caught:
        await connector.check(order("WB-50"))
    assert caught.value.retryable and caught.value.status_code == 500


async def test_rate_limit_is_retryable_with_retry_after(
    connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await set_faults(http, base_url, rate_limit_rate=1, retry_after_s=2.5)
    with pytest.raises(RemoteError) as caught:
        await connector.check(order("WB-51"))
    assert caught.value.retryable and caught.value.status_code == 429 and caught.value.retry_after == 2.5


async def test_bigbuy_rate_limit_says_when_in_x_ratelimit_reset(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await control(http, base_url, "settings", {"rate_limit": True})
    assert (await connector.check(order("WB-52"))).ok
    with pytest.raises(RemoteError) as caught:
        await connector.create(order("WB-52"))  # the same second: over BigBuy's one call per second
    error = caught.value
    assert error.retryable and error.status_code == 429 and error.retry_after is not None
    assert 0 <= error.retry_after <= 2.0 and "exceeded the rate limit" in error.message
    assert sandbox.orders == {}
    assert (await connector.wallet())[0] == 10_000  # another family of calls has its own allowance
    await asyncio.sleep(error.retry_after + 0.05)
    assert await connector.create(order("WB-52"))


async def test_malformed_answers_are_retryable(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(order("WB-53"))
    await set_faults(http, base_url, malformed_rate=1)
    for call in (
        connector.wallet(),
        connector.check(order("WB-54")),
        connector.fetch_state(order_id),
        connector.find_by_reference("WB-53"),
        connector.carriers(),
    ):
        with pytest.raises(RemoteError) as caught:
            await call
        assert caught.value.retryable and "malformed" in caught.value.message
    # create answers with an empty body: a garbled one does not hide the id in `Location`
    assert await connector.create(order("WB-55")) == str(int(order_id) + 1)


async def test_timeout_after_sending_is_ambiguous_and_never_creates_twice(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await set_faults(http, base_url, timeout_rate=1, timeout_s=1.0)
    connector.timeout = httpx.Timeout(0.3)
    with pytest.raises(RemoteError) as caught:
        await connector.create(order("WB-56"))
    assert caught.value.retryable and caught.value.ambiguous
    await set_faults(http, base_url, timeout_rate=0)
    found = await connector.find_by_reference("WB-56")  # it landed: look before sending again
    assert found is not None
    with pytest.raises(AlreadyExists) as again:
        await connector.create(order("WB-56"))
    assert again.value.supplier_order_id == found.supplier_order_id
    assert sandbox.operation_count("create", "WB-56") == 1 and len(sandbox.orders) == 1


async def test_temporary_error_er009_is_retryable(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await control(http, base_url, "settings", {"temporary_errors": 2})
    for call in (connector.check(order("WB-57")), connector.create(order("WB-57"))):
        with pytest.raises(RemoteError) as caught:
            await call
        assert caught.value.retryable and not isinstance(caught.value, SupplierRefused)
        assert "Temporary error" in caught.value.message
    assert sandbox.orders == {}
    assert await connector.create(order("WB-57"))


async def test_soft_errors_inside_200_answers_are_read(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await control(http, base_url, "settings", {"soft_errors": True})
    raw = await http.post(
        f"{base_url}/rest/order/check.json",
        json={"order": {"internalReference": "x"}},
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
    )
    assert raw.status_code == 200 and raw.json()["message"] == "Validation Failed"
    [problem] = (await connector.check(order("WB-58", ("BB-1001", 500)))).problems
    assert problem.code == "out_of_stock" and problem.sku == "BB-1001"
    [problem] = (await connector.check(order("WB-58", last_name=" "))).problems
    assert problem.code == "missing_surname"
    first = await connector.create(order("WB-58"))
    with pytest.raises(AlreadyExists) as caught:
        await connector.create(order("WB-58"))
    assert caught.value.supplier_order_id == first
    await control(http, base_url, "wallet", {"balance": "1.00"})
    with pytest.raises(SupplierRefused) as refused:
        await connector.create(order("WB-59"))
    assert refused.value.problems[0].code == "wallet_insufficient" and refused.value.status_code == 200
    assert sandbox.operation_count("create", "WB-59") == 0


# -- control interface ---------------------------------------------------------------------------


async def test_control_faults_lists_refused_values(http: httpx.AsyncClient, base_url: str) -> None:
    response = await http.post(f"{base_url}/_control/faults", json={"error_rate": 3, "colour": "red", "latency_ms": 5})
    assert response.status_code == 400
    message = response.json()["message"]
    assert "error_rate must be a number from 0 to 1" in message and "colour" in message
    assert (await http.get(f"{base_url}/_control/faults")).json()["latency_ms"] == 5
    settings = await http.post(f"{base_url}/_control/settings", json={"soft_errors": "yes", "speed": 1})
    assert settings.status_code == 400
    assert "soft_errors must be true or false" in settings.json()["message"] and "speed" in settings.json()["message"]


async def test_control_catalog_sets_stock_and_price(
    sandbox: BigBuySandbox, connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    catalog = await control(
        http,
        base_url,
        "catalog",
        {"products": [{"sku": "BB-1001", "stock": 1}, {"sku": "NEW-1", "stock": 3, "price": "2.50", "name": "Pen"}]},
    )
    assert {"sku": "NEW-1", "name": "Pen", "stock": 3, "price": "2.50"} in catalog["products"]
    [problem] = (await connector.check(order("WB-60", ("BB-1001", 2)))).problems
    assert problem.code == "out_of_stock"
    assert (await connector.check(order("WB-60", ("NEW-1", 3)))).total_cost == euros(sandbox, ("NEW-1", 3))
    for refused in (
        {"products": [{"sku": "NEW-2", "stock": 1}]},
        {"products": [{"sku": "BB-1001", "stock": -1}]},
        {"products": [{"sku": "BB-1001", "price": "free"}]},
        {"products": []},
    ):
        response = await http.post(f"{base_url}/_control/catalog", json=refused)
        assert response.status_code == 400 and response.json()["message"], refused
    assert sandbox.catalog["BB-1001"].stock == 1


async def test_control_orders_refuse_garbage(
    connector: BigBuyConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    missing = await http.get(f"{base_url}/_control/orders/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    order_id = await connector.create(order("WB-70"))
    for path, body, words in [
        (f"orders/{order_id}/status", {"status": "lost"}, "Unknown status"),
        (f"orders/{order_id}/ship", {"carrier": "GLS"}, "tracking_number"),
        (f"orders/{order_id}/ship", [1], "The body must be"),
        ("orders/nope/ship", {"tracking_number": "1"}, "nope"),
    ]:
        response = await http.post(f"{base_url}/_control/{path}", json=body)
        assert response.status_code in (400, 404) and words in response.json()["message"], path
    await control(http, base_url, f"orders/{order_id}/ship", {"tracking_number": "T1"})
    late = await http.post(f"{base_url}/_control/orders/{order_id}/status", json={"status": "cancelled"})
    assert late.status_code == 400 and "already Shipped" in late.json()["message"]


async def test_supplier_sandbox_makes_no_orders(sandbox: BigBuySandbox) -> None:
    assert sandbox.generate_orders(5) == [] and sandbox.orders == {}


async def test_handlers_belong_to_their_own_sandbox(
    serve_sandbox: Callable[[Sandbox], str], http: httpx.AsyncClient
) -> None:
    first, second = BigBuySandbox(wallet="10.00"), BigBuySandbox(wallet="20.00")
    one, two = serve_sandbox(first), serve_sandbox(second)
    assert (await BigBuyConnector(one, {"api_key": DEFAULT_API_KEY}, http).wallet()) == (1000, "EUR")
    assert (await BigBuyConnector(two, {"api_key": DEFAULT_API_KEY}, http).wallet()) == (2000, "EUR")
