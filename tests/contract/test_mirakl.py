"""Contract tests: the Mirakl connector against the Mirakl sandbox, over real HTTP on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from connectors.mirakl import MiraklConnector, from_minor_units
from connectors.sandbox.common import Sandbox
from connectors.sandbox.mirakl import DEFAULT_API_KEY, MiraklSandbox
from models.ports import LineDecision, OrderPage, RemoteError, TrackingInfo

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> dt.datetime:
        self.at += dt.timedelta(**delta)
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def sandbox(clock: Clock) -> MiraklSandbox:
    return MiraklSandbox(seed=7, clock=clock)


@pytest.fixture
def base_url(sandbox: MiraklSandbox, serve_sandbox: Callable[[Sandbox], str]) -> str:
    return serve_sandbox(sandbox)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def connector(base_url: str, http: httpx.AsyncClient) -> MiraklConnector:
    return MiraklConnector(base_url, {"api_key": DEFAULT_API_KEY}, http)


async def fetch_all(
    connector: MiraklConnector, since: dt.datetime | None = None, *, include_closed: bool = False
) -> list[OrderPage]:
    return [page async for page in connector.fetch_orders(since, include_closed=include_closed)]


def order_ids(pages: list[OrderPage]) -> list[str]:
    return [order.channel_order_id for page in pages for order in page.orders]


async def view(http: httpx.AsyncClient, base_url: str, order_id: str) -> dict:
    response = await http.get(f"{base_url}/_control/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


def decisions(sandbox: MiraklSandbox, order_id: str, *accepted: bool) -> list[LineDecision]:
    lines = sandbox.orders[order_id]["order_lines"]
    assert len(lines) == len(accepted)
    return [
        LineDecision(line["order_line_id"], line["offer_sku"], ok, line["quantity"])
        for line, ok in zip(lines, accepted, strict=True)
    ]


def multi_line_order(sandbox: MiraklSandbox, order_id: str = "1000000001-A", lines: int = 2) -> str:
    sandbox.add_order(
        {
            "order_id": order_id,
            "customer": {
                "firstname": "Zoë",
                "lastname": "Dvořák",
                "shipping_address": {
                    "firstname": "Zoë",
                    "lastname": "Dvořák",
                    "street_1": "Václavské náměstí 19",
                    "zip_code": "110 00",
                    "city": "Praha",
                    "country_iso_code": "CZE",
                },
            },
            "order_lines": [
                {"offer_sku": f"SKU-{i}", "product_title": f"Product {i}", "quantity": i, "price_unit": 19.9}
                for i in range(1, lines + 1)
            ],
        }
    )
    return order_id


# -- OR11 ----------------------------------------------------------------------------------------


async def test_lists_open_orders_page_by_page_with_total_count(
    sandbox: MiraklSandbox, connector: MiraklConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    ids = sandbox.generate_orders(25)
    connector.page_size = 10
    pages = await fetch_all(connector)
    assert [len(page.orders) for page in pages] == [10, 10, 5]
    assert sorted(order_ids(pages)) == sorted(ids)
    assert all(not page.rejects for page in pages)
    assert all(page.max_updated_at == T0 for page in pages)
    for order in (o for page in pages for o in page.orders):
        assert order.channel_status == "WAITING_ACCEPTANCE" and order.needs_acceptance
        assert order.lines and all(line.channel_line_id for line in order.lines)

    raw = await http.get(f"{base_url}/api/orders", params={"max": 10}, headers={"Authorization": DEFAULT_API_KEY})
    assert raw.json()["total_count"] == 25 and len(raw.json()["orders"]) == 10
    too_big = await http.get(f"{base_url}/api/orders", params={"max": 101}, headers={"Authorization": DEFAULT_API_KEY})
    assert too_big.status_code == 400 and "max" in too_big.json()["message"]


async def test_parsed_orders_keep_names_money_and_lines(sandbox: MiraklSandbox, connector: MiraklConnector) -> None:
    multi_line_order(sandbox, lines=3)
    [page] = await fetch_all(connector)
    [order] = page.orders
    assert order.delivery.last_name == "Dvořák" and order.customer_first_name == "Zoë"
    assert order.delivery.street1 == "Václavské náměstí 19" and order.delivery.country == "CZ"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("SKU-1", 1, 1990),
        ("SKU-2", 2, 1990),
        ("SKU-3", 3, 1990),
    ]
    assert order.total == 6 * 1990
    assert "Dvořák" in order.raw


async def test_start_update_date_returns_only_changed_orders(
    sandbox: MiraklSandbox, connector: MiraklConnector, clock: Clock
) -> None:
    old = sandbox.generate_orders(5)
    since = clock.advance(minutes=10)
    new = sandbox.generate_orders(3)
    pages = await fetch_all(connector, since)
    assert sorted(order_ids(pages)) == sorted(new)

    later = clock.advance(minutes=10)
    await connector.accept(old[0], decisions(sandbox, old[0], *[True] * len(sandbox.orders[old[0]]["order_lines"])))
    pages = await fetch_all(connector, later)
    assert order_ids(pages) == [old[0]]
    [order] = [o for page in pages for o in page.orders]
    assert order.channel_status == "SHIPPING" and not order.needs_acceptance
    assert max(page.max_updated_at for page in pages if page.max_updated_at) == later


async def test_closed_listing_shows_a_customer_cancellation(
    sandbox: MiraklSandbox, connector: MiraklConnector, clock: Clock, http: httpx.AsyncClient, base_url: str
) -> None:
    [order_id] = sandbox.generate_orders(1)
    since = clock.advance(minutes=5)
    response = await http.post(f"{base_url}/_control/orders/{order_id}/state", json={"order_state": "CANCELED"})
    assert response.status_code == 200 and response.json()["order_state"] == "CANCELED"
    assert order_ids(await fetch_all(connector, since)) == []  # open orders only, unless asked
    pages = await fetch_all(connector, since, include_closed=True)
    [order] = [o for page in pages for o in page.orders]
    assert order.channel_order_id == order_id and order.channel_status == "CANCELED"
    assert connector.pairing.to_internal[order.channel_status] == "cancelled"
    assert order.channel_status not in connector.pairing.importable


async def test_paging_rereads_when_orders_leave_the_filter_between_pages(
    sandbox: MiraklSandbox, connector: MiraklConnector
) -> None:
    sandbox.generate_orders(25)
    connector.page_size = 10
    pages = connector.fetch_orders(None)
    first = await anext(pages)
    for order in first.orders[:3]:
        sandbox.set_state(order.channel_order_id, "CANCELED")  # cancelled by the customer meanwhile
    rest = [page async for page in pages]
    seen = order_ids([first, *rest])
    still_open = [oid for oid, o in sandbox.orders.items() if o["order_state"] == "WAITING_ACCEPTANCE"]
    assert set(still_open) <= set(seen)
    assert len(seen) == len(set(seen)), "an order was yielded twice"


async def test_one_unreadable_order_does_not_block_the_page(sandbox: MiraklSandbox, connector: MiraklConnector) -> None:
    good = multi_line_order(sandbox, "1000000001-A")
    sandbox.add_order({"order_id": "1000000002-A", "order_lines": [{"offer_sku": "X", "price_unit": "a lot"}]})
    [page] = await fetch_all(connector)
    assert [o.channel_order_id for o in page.orders] == [good]
    [reject] = page.rejects
    assert reject.channel_order_id == "1000000002-A"
    assert "price_unit" in reject.message and "not a number" in reject.message
    assert '"a lot"' in reject.raw


async def test_fetch_order_state(sandbox: MiraklSandbox, connector: MiraklConnector) -> None:
    order_id = multi_line_order(sandbox)
    assert await connector.fetch_order_state(order_id) == "WAITING_ACCEPTANCE"
    with pytest.raises(RemoteError) as caught:
        await connector.fetch_order_state("404-A")
    assert not caught.value.retryable and "404-A" in caught.value.message


# -- OR21 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted", "order_state", "line_states"),
    [
        ((True, True), "SHIPPING", ["SHIPPING", "SHIPPING"]),
        ((True, False), "SHIPPING", ["SHIPPING", "REFUSED"]),
        ((False, False), "REFUSED", ["REFUSED", "REFUSED"]),
    ],
    ids=["accept-all", "partial", "refuse-all"],
)
async def test_accept_and_refuse_lines(
    sandbox: MiraklSandbox,
    connector: MiraklConnector,
    http: httpx.AsyncClient,
    base_url: str,
    accepted: tuple[bool, ...],
    order_state: str,
    line_states: list[str],
) -> None:
    order_id = multi_line_order(sandbox)
    await connector.accept(order_id, decisions(sandbox, order_id, *accepted))
    seen = await view(http, base_url, order_id)
    assert seen["order_state"] == order_state
    assert [line["order_line_state"] for line in seen["lines"]] == line_states
    assert seen["operations"]["accept"] == 1
    assert await connector.fetch_order_state(order_id) == order_state


async def test_every_line_must_be_decided_in_one_call(
    sandbox: MiraklSandbox, connector: MiraklConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = multi_line_order(sandbox)
    with pytest.raises(RemoteError) as caught:
        await connector.accept(order_id, decisions(sandbox, order_id, True, True)[:1])
    error = caught.value
    assert error.status_code == 400 and not error.retryable
    assert "All order lines must be accepted or refused" in error.message and f"{order_id}-2" in error.message
    seen = await view(http, base_url, order_id)
    assert seen["order_state"] == "WAITING_ACCEPTANCE" and seen["operations"]["accept"] == 0


async def test_accept_twice_is_refused_with_mirakl_message(sandbox: MiraklSandbox, connector: MiraklConnector) -> None:
    order_id = multi_line_order(sandbox)
    await connector.accept(order_id, decisions(sandbox, order_id, True, True))
    with pytest.raises(RemoteError) as caught:
        await connector.accept(order_id, decisions(sandbox, order_id, True, True))
    assert caught.value.status_code == 400 and not caught.value.retryable
    assert "its state is SHIPPING, not WAITING_ACCEPTANCE" in caught.value.message
    assert sandbox.operation_count("accept", order_id) == 1


# -- OR23, OR24, OR29 ----------------------------------------------------------------------------


async def test_tracking_then_ship(
    sandbox: MiraklSandbox, connector: MiraklConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = multi_line_order(sandbox)
    await connector.accept(order_id, decisions(sandbox, order_id, True, False))
    await connector.push_tracking(
        order_id, TrackingInfo("UPS", "UPS", "1Z999AA10123456784", "https://ups.example/track/1Z999AA10123456784")
    )
    await connector.ship(order_id)
    seen = await view(http, base_url, order_id)
    assert seen["order_state"] == "SHIPPED" and seen["shipped"]
    assert [line["order_line_state"] for line in seen["lines"]] == ["SHIPPED", "REFUSED"]
    assert seen["tracking"]["carrier_code"] == "UPS"
    assert seen["tracking"]["tracking_number"] == "1Z999AA10123456784"
    assert seen["operations"] == {"accept": 1, "tracking": 1, "ship": 1, "cancel": 0}
    assert await connector.fetch_order_state(order_id) == "SHIPPED"


async def test_unregistered_carrier_goes_by_name_and_url(sandbox: MiraklSandbox, connector: MiraklConnector) -> None:
    order_id = multi_line_order(sandbox)
    await connector.accept(order_id, decisions(sandbox, order_id, True, True))
    await connector.push_tracking(order_id, TrackingInfo("", "Zásilkovna", "Z123", "https://tracking.example/Z123"))
    order = sandbox.orders[order_id]
    assert order["shipping_company"] == "Zásilkovna" and order["shipping_tracking_url"].endswith("Z123")


async def test_ship_before_shipping_is_refused_with_mirakl_message(
    sandbox: MiraklSandbox, connector: MiraklConnector
) -> None:
    order_id = multi_line_order(sandbox)
    with pytest.raises(RemoteError) as caught:
        await connector.ship(order_id)
    error = caught.value
    assert error.status_code == 400 and not error.retryable and not error.ambiguous
    assert error.message == f"Order {order_id} cannot be shipped: its state is WAITING_ACCEPTANCE, not SHIPPING."
    with pytest.raises(RemoteError) as caught:
        await connector.push_tracking(order_id, TrackingInfo("DHL", "DHL", "123"))
    assert "Tracking" in caught.value.message and not caught.value.retryable
    assert sandbox.orders[order_id]["order_state"] == "WAITING_ACCEPTANCE"


async def test_cancel_before_shipping_only(
    sandbox: MiraklSandbox, connector: MiraklConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    waiting, shipping = multi_line_order(sandbox, "1000000001-A"), multi_line_order(sandbox, "1000000002-A")
    await connector.cancel(waiting, "out of stock")
    await connector.accept(shipping, decisions(sandbox, shipping, True, True))
    await connector.cancel(shipping, "customer asked")
    for order_id in (waiting, shipping):
        seen = await view(http, base_url, order_id)
        assert seen["order_state"] == "CANCELED" and seen["operations"]["cancel"] == 1
        assert {line["order_line_state"] for line in seen["lines"]} == {"CANCELED"}
    with pytest.raises(RemoteError) as caught:
        await connector.cancel(waiting, "again")
    assert caught.value.status_code == 400 and "cannot be canceled" in caught.value.message


async def test_unknown_order_is_a_404_with_mirakl_body(connector: MiraklConnector) -> None:
    with pytest.raises(RemoteError) as caught:
        await connector.ship("999-A")
    assert caught.value.status_code == 404 and not caught.value.retryable
    assert caught.value.message == "Order with id 999-A not found."


async def test_wrong_api_key_is_refused(base_url: str, http: httpx.AsyncClient, sandbox: MiraklSandbox) -> None:
    order_id = multi_line_order(sandbox)
    wrong = MiraklConnector(base_url, {"api_key": "not-the-key"}, http)
    with pytest.raises(RemoteError) as caught:
        await fetch_all(wrong)
    assert caught.value.status_code == 401 and not caught.value.retryable
    assert "API key" in caught.value.message
    with pytest.raises(RemoteError):
        await wrong.ship(order_id)
    bearer = await http.get(f"{base_url}/api/orders", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"})
    assert bearer.status_code == 401 and bearer.json()["status"] == 401


# -- faults --------------------------------------------------------------------------------------


async def set_faults(http: httpx.AsyncClient, base_url: str, **values: object) -> dict:
    response = await http.post(f"{base_url}/_control/faults", json=values)
    assert response.status_code == 200, response.text
    return response.json()


async def test_server_error_is_retryable_and_changes_nothing(
    sandbox: MiraklSandbox, connector: MiraklConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = multi_line_order(sandbox)
    await set_faults(http, base_url, error_rate=1)
    with pytest.raises(RemoteError) as caught:
        await connector.accept(order_id, decisions(sandbox, order_id, True, True))
    assert caught.value.retryable and caught.value.status_code == 500 and not caught.value.ambiguous
    assert "injected fault" in caught.value.message
    assert (await view(http, base_url, order_id))["operations"]["accept"] == 0


async def test_rate_limit_is_retryable_with_retry_after(
    sandbox: MiraklSandbox, connector: MiraklConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    sandbox.generate_orders(2)
    await set_faults(http, base_url, rate_limit_rate=1, retry_after_s=2.5)
    with pytest.raises(RemoteError) as caught:
        await fetch_all(connector)
    assert caught.value.retryable and caught.value.status_code == 429 and caught.value.retry_after == 2.5


async def test_malformed_body_is_retryable(
    sandbox: MiraklSandbox, connector: MiraklConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    sandbox.generate_orders(2)
    await set_faults(http, base_url, malformed_rate=1)
    with pytest.raises(RemoteError) as caught:
        await fetch_all(connector)
    assert caught.value.retryable and "malformed" in caught.value.message


async def test_timeout_is_ambiguous_and_the_change_may_have_landed(
    sandbox: MiraklSandbox, connector: MiraklConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = multi_line_order(sandbox)
    await set_faults(http, base_url, timeout_rate=1, timeout_s=1.0)
    connector.timeout = httpx.Timeout(0.3)
    with pytest.raises(RemoteError) as caught:
        await connector.accept(order_id, decisions(sandbox, order_id, True, True))
    assert caught.value.retryable and caught.value.ambiguous
    await set_faults(http, base_url, timeout_rate=0)
    assert await connector.fetch_order_state(order_id) == "SHIPPING"  # it was applied: check before resending


# -- control interface ---------------------------------------------------------------------------


async def test_control_orders_fill_defaults_and_refuse_garbage(
    http: httpx.AsyncClient, base_url: str, connector: MiraklConnector
) -> None:
    created = await http.post(
        f"{base_url}/_control/orders",
        json={"order_lines": [{"offer_sku": "BB-1001", "product_title": "Bottle", "price_unit": 19.9}]},
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["order_state"] == "WAITING_ACCEPTANCE" and order["currency_iso_code"] == "EUR"
    assert order["order_lines"][0]["order_line_id"] == f"{order['order_id']}-1"
    assert order["order_lines"][0]["quantity"] == 1
    [page] = await fetch_all(connector)
    assert page.orders[0].lines[0].unit_price == 1990

    for garbage, words in [
        ("not json", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({"order_lines": []}, "order_lines"),
        ({"order_lines": ["x"]}, "Order line 1"),
        ({"order_state": "LOST", "order_lines": [{}]}, "Unknown order_state"),
        ({"order_id": order["order_id"], "order_lines": [{}]}, "already exists"),
    ]:
        kwargs = {"content": garbage} if isinstance(garbage, str) else {"json": garbage}
        response = await http.post(f"{base_url}/_control/orders", **kwargs)
        assert response.status_code == 400, garbage
        assert words in response.json()["message"]

    missing = await http.get(f"{base_url}/_control/orders/nope")
    assert missing.status_code == 404 and missing.json() == {"status": 404, "message": "Order with id nope not found."}


async def test_control_faults_lists_refused_values(http: httpx.AsyncClient, base_url: str) -> None:
    response = await http.post(f"{base_url}/_control/faults", json={"error_rate": 3, "colour": "red", "latency_ms": 5})
    assert response.status_code == 400
    message = response.json()["message"]
    assert "error_rate must be a number from 0 to 1" in message and "colour" in message
    assert response.json()["faults"]["latency_ms"] == 5
    current = await http.get(f"{base_url}/_control/faults")
    assert current.json()["error_rate"] == 0 and current.json()["latency_ms"] == 5


async def test_generated_orders_look_like_mirakl(sandbox: MiraklSandbox) -> None:
    ids = sandbox.generate_orders(40)
    orders = [sandbox.orders[i] for i in ids]
    assert any(len(o["order_lines"]) > 1 for o in orders)
    assert all(len(o["customer"]["shipping_address"]["country_iso_code"]) == 3 for o in orders)
    assert any(not o["customer"]["shipping_address"]["lastname"] for o in orders) or any(
        not o["customer"]["shipping_address"]["street_1"] for o in orders
    )
    for order in orders:
        line_sum = sum(line["price"] for line in order["order_lines"])
        assert round(line_sum, 2) == order["price"]
        assert round(order["price"] + order["shipping_price"], 2) == order["total_price"]
        assert from_minor_units(round(order["total_price"] * 100), "EUR") == order["total_price"]
