"""Contract tests: the ShipBob connector against the ShipBob sandbox, over real HTTP on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from connectors.sandbox.common import Sandbox
from connectors.sandbox.shipbob import DEFAULT_CHANNEL_ID, DEFAULT_TOKEN, ShipBobSandbox
from connectors.shipbob import API_VERSION, ShipBobConnector
from models.ports import (
    AlreadyExists,
    RemoteError,
    SupplierAddress,
    SupplierLine,
    SupplierOrderRequest,
    SupplierRefused,
)

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
GOOD = SupplierAddress(
    first_name="Zoë",
    last_name="Dvořák",
    street1="12 rue de la Paix",
    postcode="75002",
    city="Paris",
    country="FR",
    phone="+33 6 12 00 00 00",
    email="z.dvorak@example.com",
)
BAD_POSTCODE = SupplierAddress(**{**GOOD.__dict__, "postcode": "7500"})


def request(
    reference: str = "WB-1001-1",
    address: SupplierAddress = GOOD,
    lines: tuple[SupplierLine, ...] = (SupplierLine("BB-1001", 2, 11), SupplierLine("SB-0420", 1, 12)),
) -> SupplierOrderRequest:
    return SupplierOrderRequest(reference, address, lines, shipping_method="Standard")


@pytest.fixture
def sandbox() -> ShipBobSandbox:
    return ShipBobSandbox(seed=7, clock=lambda: T0)


@pytest.fixture
def base_url(sandbox: ShipBobSandbox, serve_sandbox: Callable[[Sandbox], str]) -> str:
    return serve_sandbox(sandbox)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def connector(base_url: str, http: httpx.AsyncClient) -> ShipBobConnector:
    return ShipBobConnector(base_url, {"token": DEFAULT_TOKEN, "channel_id": DEFAULT_CHANNEL_ID}, http)


async def view(http: httpx.AsyncClient, base_url: str, key: str) -> dict:
    response = await http.get(f"{base_url}/_control/orders/{key}")
    assert response.status_code == 200, response.text
    return response.json()


async def control(http: httpx.AsyncClient, base_url: str, path: str, body: object) -> httpx.Response:
    return await http.post(f"{base_url}/_control/{path}", json=body)


def test_registered_with_the_credentials_the_supplier_form_asks_for() -> None:
    from connectors.registry import supplier_kinds

    assert supplier_kinds()["shipbob"] is ShipBobConnector
    assert [key for key, _ in ShipBobConnector.credential_fields] == ["token", "channel_id"]
    assert ShipBobConnector.sandbox_name == ShipBobSandbox.name == "shipbob"


# -- create --------------------------------------------------------------------------------------


async def test_create_returns_the_order_id_and_sends_shipbobs_fields(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(request())
    assert order_id.isdigit()
    order = sandbox.orders[int(order_id)]
    assert order["reference_id"] == "WB-1001-1" and order["type"] == "DTC" and order["shipping_method"] == "Standard"
    assert order["recipient"]["name"] == "Zoë Dvořák"
    assert order["recipient"]["address"]["zip_code"] == "75002" and order["recipient"]["address"]["country"] == "FR"
    assert [(p["reference_id"], p["quantity"], p["external_line_id"]) for p in order["products"]] == [
        ("BB-1001", 2, 11),
        ("SB-0420", 1, 12),
    ]
    seen = await view(http, base_url, "WB-1001-1")
    assert seen["id"] == int(order_id) and seen["status"] == "Processing"
    assert [s["status"] for s in seen["shipments"]] == ["Processing"]
    assert seen["operations"] == {"create": 1, "update_address": 0, "cancel": 0}
    assert sandbox.stock["BB-1001"]["committed"] == 2

    state = await connector.fetch_state(order_id)
    assert (state.supplier_order_id, state.internal_reference, state.status) == (order_id, "WB-1001-1", "processed")
    assert state.message == "" and state.trackings == []


async def test_creating_twice_is_already_exists_and_the_sandbox_holds_it_once(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(request())
    with pytest.raises(AlreadyExists) as caught:
        await connector.create(request())
    assert caught.value.supplier_order_id == order_id and not caught.value.retryable
    assert "Cannot insert order with existing ReferenceId" in caught.value.message
    assert len(sandbox.orders) == 1 and sandbox.operation_count("create", order_id) == 1

    raw = await http.post(
        f"{base_url}/{API_VERSION}/order",
        json={
            "reference_id": "WB-1001-1",
            "shipping_method": "Standard",
            "recipient": {"name": "A B", "address": {"address1": "x", "city": "y", "country": "FR"}},
            "products": [{"reference_id": "BB-1001", "quantity": 1}],
        },
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}", "shipbob_channel_id": DEFAULT_CHANNEL_ID},
    )
    assert raw.status_code == 422 and raw.json() == {"": ["Cannot insert order with existing ReferenceId"]}


async def test_find_by_reference(sandbox: ShipBobSandbox, connector: ShipBobConnector) -> None:
    assert await connector.find_by_reference("WB-404") is None
    order_id = await connector.create(request("WB-2000-1"))
    await connector.create(request("WB-2000-10"))
    found = await connector.find_by_reference("WB-2000-1")
    assert found is not None and found.supplier_order_id == order_id and found.status == "processed"
    assert await connector.find_by_reference("a,b") is None


async def test_unknown_sku_is_refused_by_check_and_by_create(
    sandbox: ShipBobSandbox, connector: ShipBobConnector
) -> None:
    order = request(lines=(SupplierLine("BB-1001", 1), SupplierLine("NOPE-1", 1)))
    result = await connector.check(order)
    assert [(p.code, p.sku) for p in result.problems] == [("unknown_sku", "NOPE-1")]
    assert not result.ok and result.total_cost is None
    assert (await connector.check(request())).ok

    with pytest.raises(SupplierRefused) as caught:
        await connector.create(order)
    [problem] = caught.value.problems
    assert (problem.code, problem.sku) == ("unknown_sku", "NOPE-1")
    assert "NOPE-1" in problem.message and "name is required" in problem.message
    assert caught.value.status_code == 400 and not caught.value.retryable
    assert sandbox.orders == {} and "NOPE-1" not in sandbox.products


async def test_check_flags_what_shipbob_needs_in_an_address(connector: ShipBobConnector) -> None:
    broken = SupplierAddress(first_name="", last_name="", street1=" ", postcode="", city="", country="France")
    result = await connector.check(request(address=broken, lines=(SupplierLine("SB-0007", 0),)))
    codes = [p.code for p in result.problems]
    assert codes.count("address_error") == 4 and "invalid_quantity" in codes
    assert any("two-letter ISO country" in p.message for p in result.problems)


async def test_missing_address_fields_are_refused_on_create_with_shipbobs_words(
    sandbox: ShipBobSandbox, connector: ShipBobConnector
) -> None:
    no_city = SupplierAddress(**{**GOOD.__dict__, "city": ""})
    with pytest.raises(SupplierRefused) as caught:
        await connector.create(request(address=no_city))
    assert [(p.code, p.message) for p in caught.value.problems] == [("address_error", "The city field is required.")]
    assert sandbox.orders == {}


# -- on hold, exception, shipped, cancelled -----------------------------------------------------


async def test_bad_postcode_holds_the_shipment_until_the_address_is_fixed(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(request(address=BAD_POSTCODE))
    state = await connector.fetch_state(order_id)
    assert state.status == "on_hold"
    assert state.message.startswith("On hold — Invalid Address")
    assert "“7500” is not a valid postal code for FR" in state.message
    assert sandbox.stock["BB-1001"]["committed"] == 0  # nothing allocated while on hold

    still_bad = SupplierAddress(**{**GOOD.__dict__, "street1": "1 INVALID street"})
    await connector.update_address(order_id, still_bad)
    state = await connector.fetch_state(order_id)
    assert state.status == "on_hold" and "could not be found" in state.message

    await connector.update_address(order_id, GOOD)
    state = await connector.fetch_state(order_id)
    assert state.status == "processed" and state.message == ""
    seen = await view(http, base_url, order_id)
    assert seen["shipments"][0]["address"]["zip_code"] == "75002" and seen["operations"]["update_address"] == 2
    assert sandbox.stock["BB-1001"]["committed"] == 2


async def test_update_address_is_refused_locally_when_shipbob_could_not_take_it(
    sandbox: ShipBobSandbox, connector: ShipBobConnector
) -> None:
    order_id = await connector.create(request(address=BAD_POSTCODE))
    with pytest.raises(SupplierRefused) as caught:
        await connector.update_address(order_id, SupplierAddress(**{**GOOD.__dict__, "street1": ""}))
    assert [p.code for p in caught.value.problems] == ["address_error"]
    assert sandbox.operation_count("update_address", order_id) == 0


async def test_out_of_stock_is_an_exception_until_stock_arrives(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    response = await control(http, base_url, "inventory", {"SB-0999": 1})
    assert response.status_code == 200 and response.json()["SB-0999"]["on_hand"] == 1
    order_id = await connector.create(request(lines=(SupplierLine("SB-0999", 3),)))
    state = await connector.fetch_state(order_id)
    assert state.status == "error"
    assert state.message == "Exception — No Stock On Hand For Sku: SB-0999: 1 available, 3 needed."

    await control(http, base_url, "inventory", {"SB-0999": 10})
    assert (await connector.fetch_state(order_id)).status == "processed"


async def test_control_exception_and_hold_carry_the_reason(
    connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(request())
    response = await control(http, base_url, f"orders/{order_id}/exception", {"reason": "Bin transfer in progress"})
    assert response.status_code == 200 and response.json()["status"] == "Exception"
    state = await connector.fetch_state(order_id)
    assert state.status == "error" and "Bin transfer in progress" in state.message

    other = await connector.create(request("WB-1002-1"))
    response = await control(http, base_url, "orders/WB-1002-1/hold", {"reason": "Customer asked to wait"})
    assert response.status_code == 200
    state = await connector.fetch_state(other)
    assert state.status == "on_hold" and "Customer asked to wait" in state.message

    refused = await control(http, base_url, f"orders/{other}/hold", {"detail": "Lunch"})
    assert refused.status_code == 400 and "InvalidAddress" in refused.json()["message"]


async def test_shipped_with_tracking(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(request())
    response = await control(
        http, base_url, f"orders/{order_id}/ship", {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["tracking"]["tracking_number"] == "1Z999AA10123456784"
    state = await connector.fetch_state(order_id)
    assert state.status == "shipped" and state.message == ""
    [tracking] = state.trackings
    assert (tracking.carrier, tracking.tracking_number) == ("UPS", "1Z999AA10123456784")
    assert tracking.tracking_url.endswith("1Z999AA10123456784")
    assert dict(tracking.skus) == {"BB-1001": 2, "SB-0420": 1}
    assert sandbox.stock["BB-1001"] == {"on_hand": 38, "committed": 0}

    again = await control(http, base_url, f"orders/{order_id}/ship", {"carrier": "UPS", "tracking_number": "X"})
    assert again.status_code == 400 and "no Processing shipment" in again.json()["message"]
    with pytest.raises(RemoteError) as caught:
        await connector.update_address(order_id, GOOD)
    assert "no shipment whose address can still change" in caught.value.message


async def test_an_order_on_hold_cannot_ship(
    connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(request(address=BAD_POSTCODE))
    response = await control(http, base_url, f"orders/{order_id}/ship", {"carrier": "UPS", "tracking_number": "1"})
    assert response.status_code == 400 and "OnHold" in response.json()["message"]


async def test_cancelled(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await connector.create(request())
    await connector.cancel(order_id)
    state = await connector.fetch_state(order_id)
    assert state.status == "cancelled"
    seen = await view(http, base_url, order_id)
    assert seen["status"] == "Cancelled" and seen["operations"]["cancel"] == 1
    assert sandbox.stock["BB-1001"]["committed"] == 0
    with pytest.raises(RemoteError) as caught:
        await connector.cancel(order_id)
    assert "did not cancel" in caught.value.message and not caught.value.retryable


# -- errors ---------------------------------------------------------------------------------------


async def test_wrong_token_is_401_with_what_to_do(base_url: str, http: httpx.AsyncClient) -> None:
    wrong = ShipBobConnector(base_url, {"token": "nope", "channel_id": DEFAULT_CHANNEL_ID}, http)
    with pytest.raises(RemoteError) as caught:
        await wrong.create(request())
    assert caught.value.status_code == 401 and not caught.value.retryable
    assert "access token" in caught.value.message and "Authorization has been denied" in caught.value.message
    with pytest.raises(RemoteError) as caught:
        await wrong.fetch_state("300001")
    assert caught.value.status_code == 401


async def test_wrong_or_missing_channel(base_url: str, http: httpx.AsyncClient) -> None:
    other = ShipBobConnector(base_url, {"token": DEFAULT_TOKEN, "channel_id": "2"}, http)
    with pytest.raises(RemoteError) as caught:
        await other.create(request())
    assert caught.value.status_code == 403 and "Channel 2 does not belong" in caught.value.message
    unset = ShipBobConnector(base_url, {"token": DEFAULT_TOKEN, "channel_id": ""}, http)
    with pytest.raises(RemoteError) as caught:
        await unset.create(request())
    assert caught.value.status_code is None and "channel id must be a number" in caught.value.message
    raw = await http.post(
        f"{base_url}/{API_VERSION}/order", json={}, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    )
    assert raw.status_code == 400 and "shipbob_channel_id" in raw.json()["errors"]


async def test_unknown_order_is_404(connector: ShipBobConnector) -> None:
    with pytest.raises(RemoteError) as caught:
        await connector.fetch_state("999999")
    assert caught.value.status_code == 404 and "Order 999999 was not found." in caught.value.message
    with pytest.raises(RemoteError) as caught:
        await connector.fetch_state("WB-1")
    assert "not a ShipBob order id" in caught.value.message


async def set_faults(http: httpx.AsyncClient, base_url: str, **values: object) -> dict:
    response = await http.post(f"{base_url}/_control/faults", json=values)
    assert response.status_code == 200, response.text
    return response.json()


async def test_server_error_is_retryable_and_creates_nothing(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await set_faults(http, base_url, error_rate=1)
    with pytest.raises(RemoteError) as caught:
        await connector.create(request())
    assert caught.value.retryable and caught.value.status_code == 500 and not caught.value.ambiguous
    assert sandbox.orders == {}


async def test_rate_limit_is_retryable_with_retry_after(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await set_faults(http, base_url, rate_limit_rate=1, retry_after_s=2.5)
    with pytest.raises(RemoteError) as caught:
        await connector.create(request())
    assert caught.value.retryable and caught.value.status_code == 429 and caught.value.retry_after == 2.5
    assert sandbox.orders == {}


async def test_malformed_answers_are_retryable_and_a_garbled_create_is_ambiguous(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await set_faults(http, base_url, malformed_rate=1)
    with pytest.raises(RemoteError) as caught:
        await connector.create(request())
    assert caught.value.retryable and caught.value.ambiguous and "malformed" in caught.value.message
    with pytest.raises(RemoteError) as caught:
        await connector.find_by_reference("WB-1001-1")
    assert caught.value.retryable and "malformed" in caught.value.message
    await set_faults(http, base_url, malformed_rate=0)
    found = await connector.find_by_reference("WB-1001-1")
    assert found is not None and len(sandbox.orders) == 1  # it was created: look up before resending


async def test_timeout_after_sending_is_ambiguous_and_resending_never_duplicates(
    sandbox: ShipBobSandbox, connector: ShipBobConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await set_faults(http, base_url, timeout_rate=1, timeout_s=1.0)
    connector.timeout = httpx.Timeout(0.3)
    with pytest.raises(RemoteError) as caught:
        await connector.create(request())
    assert caught.value.retryable and caught.value.ambiguous
    await set_faults(http, base_url, timeout_rate=0)
    found = await connector.find_by_reference("WB-1001-1")
    assert found is not None
    with pytest.raises(AlreadyExists) as again:
        await connector.create(request())
    assert again.value.supplier_order_id == found.supplier_order_id
    assert len(sandbox.orders) == 1


# -- control interface ---------------------------------------------------------------------------


async def test_control_faults_lists_refused_values(http: httpx.AsyncClient, base_url: str) -> None:
    response = await http.post(f"{base_url}/_control/faults", json={"error_rate": 3, "colour": "red", "latency_ms": 5})
    assert response.status_code == 400
    message = response.json()["message"]
    assert "error_rate must be a number from 0 to 1" in message and "colour" in message
    current = await http.get(f"{base_url}/_control/faults")
    assert current.json()["error_rate"] == 0 and current.json()["latency_ms"] == 5


async def test_control_inventory_refuses_garbage(http: httpx.AsyncClient, base_url: str) -> None:
    for body, words in [
        ([1], "SKU → on-hand quantity"),
        ({"BB-1001": -1}, "BB-1001: quantity must be a whole number"),
        ({"BB-1001": "many"}, "BB-1001: quantity must be a whole number"),
    ]:
        response = await control(http, base_url, "inventory", body)
        assert response.status_code == 400 and words in response.json()["message"]
    response = await control(http, base_url, "inventory", {"NEW-1": 5})
    assert response.status_code == 200 and response.json()["NEW-1"]["fulfillable"] == 5
    missing = await http.get(f"{base_url}/_control/orders/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]


async def test_product_catalogue_lists_fake_order_skus(http: httpx.AsyncClient, base_url: str) -> None:
    from connectors.sandbox.fake_orders import PRODUCTS

    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    response = await http.get(f"{base_url}/{API_VERSION}/product", headers=headers)
    skus = {v["sku"] for p in response.json()["items"] for v in p["variants"]}
    assert skus == {sku for sku, _, _ in PRODUCTS}
    one = await http.get(f"{base_url}/{API_VERSION}/product", params={"SKU": "SB-0999"}, headers=headers)
    assert [p["variants"][0]["sku"] for p in one.json()["items"]] == ["SB-0999"]


def test_demo_holds_some_orders_and_moves_others_along() -> None:
    sandbox = ShipBobSandbox(seed=3, clock=lambda: T0, hold_rate=0.5)
    assert sandbox.generate_orders(5) == []
    for n in range(20):
        body = {
            "reference_id": f"D-{n}",
            "shipping_method": "Standard",
            "recipient": {
                "name": "A B",
                "address": {"address1": "1 Main St", "city": "Paris", "country": "FR", "zip_code": "75001"},
            },
            "products": [{"reference_id": "BB-1002", "quantity": 1}],
        }
        assert sandbox.create_order(body).status_code == 201
    statuses = [o["shipments"][0]["status"] for o in sandbox.orders.values()]
    assert 0 < statuses.count("OnHold") < 20
    moved = [order_id for _ in range(50) for order_id in sandbox.advance()]
    assert moved and all(sandbox.orders[i]["status"] == "Fulfilled" for i in moved)
