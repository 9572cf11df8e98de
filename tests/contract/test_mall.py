"""Contract tests: the MALL connector against the MALL sandbox, over real HTTP on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from connectors.mall import MALL_PAIRING, MallConnector
from connectors.sandbox.common import Sandbox
from connectors.sandbox.mall import DEFAULT_CLIENT_ID, MallSandbox
from models.orders.validation import order_problems
from models.ports import LineDecision, OrderPage, RemoteError, TrackingInfo

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 in Prague
TRACKING = TrackingInfo("ppl", "PPL", "PPL-4459 2754", "https://www.ppl.cz/vyhledat-zasilku?shipmentId=44592754")


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
def sandbox(clock: Clock) -> MallSandbox:
    return MallSandbox(seed=11, clock=clock)


@pytest.fixture
def base_url(sandbox: MallSandbox, serve_sandbox: Callable[[Sandbox], str]) -> str:
    return serve_sandbox(sandbox)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def connector(base_url: str, http: httpx.AsyncClient) -> MallConnector:
    return MallConnector(base_url, {"client_id": DEFAULT_CLIENT_ID}, http)


def order_json(**fields: Any) -> dict[str, Any]:
    order = {
        "status": "open",
        "address": {
            "name": "Tomáš Dvořák",
            "phone": "+420602123456",
            "email": "tomas@example.cz",
            "street": "Masarykova 12",
            "city": "Brno",
            "zip": "60200",
            "country": "CZ",
        },
        "items": [
            {"id": "BB-1001", "title": "Láhev na vodu 750 ml", "quantity": 2, "price": 497.5},
            {"id": "SB-0420", "title": "Hrnek „Dobré ráno“", "quantity": 1, "price": 297.9},
        ],
        "delivery_price": 79,
        "delivery_method": "pplCz",
    }
    order.update(fields)
    return order


async def add(http: httpx.AsyncClient, base_url: str, **fields: Any) -> str:
    response = await http.post(f"{base_url}/_control/orders", json=order_json(**fields))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def view(http: httpx.AsyncClient, base_url: str, order_id: str) -> dict[str, Any]:
    response = await http.get(f"{base_url}/_control/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def set_faults(http: httpx.AsyncClient, base_url: str, **faults: Any) -> None:
    response = await http.post(f"{base_url}/_control/faults", json=faults)
    assert response.status_code == 200, response.text


async def fetch_all(connector: MallConnector, since: dt.datetime | None = None) -> list[OrderPage]:
    return [page async for page in connector.fetch_orders(since)]


async def shipped_order(http: httpx.AsyncClient, base_url: str, connector: MallConnector) -> str:
    order_id = await add(http, base_url)
    await connector.accept(order_id, [])
    await connector.push_tracking(order_id, TRACKING)
    return order_id


# --- Import


async def test_only_open_orders_are_imported(connector: MallConnector, http: httpx.AsyncClient, base_url: str) -> None:
    new = await add(http, base_url)
    confirmed = await add(http, base_url, confirmed=True)
    for status in ("blocked", "shipping", "shipped", "delivered", "cancelled", "returned", "lost"):
        await add(http, base_url, status=status, confirmed=True)

    pages = await fetch_all(connector)

    orders = {o.channel_order_id: o for page in pages for o in page.orders}
    assert set(orders) == {new, confirmed}
    assert not [r for page in pages for r in page.rejects]
    assert orders[new].needs_acceptance and not orders[confirmed].needs_acceptance
    assert {o.channel_status for o in orders.values()} == {"open"}
    assert MALL_PAIRING.importable == {"open"}


async def test_order_fields_and_exact_money(connector: MallConnector, http: httpx.AsyncClient, base_url: str) -> None:
    order_id = await add(http, base_url, cod_price=39, discount=50.5)

    (order,) = [o for page in await fetch_all(connector) for o in page.orders]

    assert order.channel_order_id == order_id
    assert (order.delivery.first_name, order.delivery.last_name) == ("Tomáš", "Dvořák")
    assert (order.delivery.street1, order.delivery.postcode, order.delivery.city) == ("Masarykova 12", "60200", "Brno")
    assert order.currency == "CZK"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("BB-1001", 2, 49750),
        ("SB-0420", 1, 29790),
    ]
    assert order.lines[1].title == "Hrnek „Dobré ráno“"
    assert order.shipping_total == 7900 + 3900
    assert order.extra["discount"] == 5050
    assert order.shipping_rate == "pplCz"
    assert order.placed_at == T0
    assert order_problems(order) == []
    assert '"Tomáš Dvořák"' in order.raw


async def test_paging_reads_every_page(
    connector: MallConnector, sandbox: MallSandbox, http: httpx.AsyncClient, base_url: str
) -> None:
    ids = set(sandbox.generate_orders(25))
    connector.page_size = 10

    pages = await fetch_all(connector)

    assert len(pages) == 3
    assert [len(page.orders) for page in pages] == [10, 10, 5]
    assert {o.channel_order_id for page in pages for o in page.orders} == ids
    raw = await http.get(
        f"{base_url}/v1/orders", params={"client_id": DEFAULT_CLIENT_ID, "status": "open", "page": 2, "page_size": 10}
    )
    body = raw.json()
    assert body["result"] == {"code": 200, "status": "OK"}
    assert body["paging"] == {"total": 25, "pages": 3, "size": 10, "page": 2}
    assert all(isinstance(order_id, int) for order_id in body["data"])  # ids only without filter=basic


async def test_generated_orders_round_trip(connector: MallConnector, sandbox: MallSandbox) -> None:
    ids = sandbox.generate_orders(60)

    orders = {o.channel_order_id: o for page in await fetch_all(connector) for o in page.orders}

    assert set(orders) == set(ids)
    needing_review = 0
    for order_id, order in orders.items():
        source = sandbox.orders[int(order_id)]
        assert f"{order.delivery.first_name} {order.delivery.last_name}".strip() == source["address"]["name"]
        assert [line.unit_price for line in order.lines] == [round(item["price"] * 100) for item in source["items"]]
        assert order.total == round(
            sum(i["price"] * i["quantity"] for i in source["items"]) * 100
            + (source["delivery_price"] + source["cod_price"]) * 100
        )
        needing_review += bool(order_problems(order))
    assert 0 < needing_review < len(ids) / 2
    assert any(any(ord(c) > 127 for c in o.delivery.last_name + o.delivery.city) for o in orders.values())


async def test_one_bad_order_never_blocks_the_page(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    good = await add(http, base_url)
    bad = await add(http, base_url, items=[{"id": "BB-1001", "title": "Láhev", "quantity": 1, "price": "zdarma"}])
    other = await add(http, base_url, address={"name": "Jiří"}, items=[])

    (page,) = await fetch_all(connector)

    assert {o.channel_order_id for o in page.orders} == {good, other}
    (reject,) = page.rejects
    assert reject.channel_order_id == bad
    assert "price" in reject.message and "zdarma" in reject.message
    assert "zdarma" in reject.raw
    incomplete = next(o for o in page.orders if o.channel_order_id == other)
    assert {p.code for p in order_problems(incomplete)} >= {"missing_surname", "missing_street", "no_lines"}


async def test_updated_since_rereads_unconfirmed_orders_only(
    connector: MallConnector, clock: Clock, http: httpx.AsyncClient, base_url: str
) -> None:
    old_confirmed = await add(http, base_url, confirmed=True)
    old_unconfirmed = await add(http, base_url)
    newer = clock.advance(hours=1)
    new_confirmed = await add(http, base_url, confirmed=True)

    pages = await fetch_all(connector, T0 + dt.timedelta(minutes=30))

    assert {o.channel_order_id for page in pages for o in page.orders} == {old_unconfirmed, new_confirmed}
    assert old_confirmed not in {o.channel_order_id for page in pages for o in page.orders}
    assert max(p.max_updated_at for p in pages if p.max_updated_at) == newer


# --- Status changes


async def test_accept_confirms_and_starts_shipping(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await add(http, base_url)

    await connector.accept(order_id, [LineDecision("BB-1001", "BB-1001", True, 2)])

    seen = await view(http, base_url, order_id)
    assert (seen["status"], seen["confirmed"]) == ("shipping", True)
    assert seen["operations"] == {"confirm": 1, "shipping": 1}
    assert await connector.fetch_order_state(order_id) == "shipping"
    assert not MALL_PAIRING.allows("accept", "shipping")  # the dispatcher sees it as done


async def test_rejecting_every_line_cancels_and_partial_refusal_is_refused(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    rejected = await add(http, base_url)
    partly = await add(http, base_url)

    await connector.accept(
        rejected, [LineDecision("BB-1001", "BB-1001", False), LineDecision("SB-0420", "SB-0420", False)]
    )
    with pytest.raises(RemoteError) as refused:
        await connector.accept(
            partly, [LineDecision("BB-1001", "BB-1001", True), LineDecision("SB-0420", "SB-0420", False)]
        )

    assert (await view(http, base_url, rejected))["status"] == "cancelled"
    assert not refused.value.retryable and "SB-0420" in refused.value.message
    assert (await view(http, base_url, partly))["operations"] == {}


async def test_tracking_moves_shipping_to_shipped_then_updates(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await add(http, base_url)
    await connector.accept(order_id, [])

    await connector.push_tracking(order_id, TRACKING)
    seen = await view(http, base_url, order_id)
    assert seen["status"] == "shipped"
    assert seen["tracking"] == {"tracking_number": "PPL-44592754", "tracking_url": TRACKING.tracking_url}
    assert seen["operations"] == {"confirm": 1, "shipping": 1, "shipped": 1}

    await connector.push_tracking(order_id, TrackingInfo("dpd", "DPD", "DPD_0001", "https://tracking.dpd.de/DPD_0001"))
    seen = await view(http, base_url, order_id)
    assert seen["tracking"]["tracking_number"] == "DPD_0001"
    assert seen["operations"]["tracking"] == 1
    assert not MALL_PAIRING.allows("ship", "shipped")  # "Mark as shipped" has nothing left to do


async def test_shipped_needs_tracking(connector: MallConnector, http: httpx.AsyncClient, base_url: str) -> None:
    order_id = await add(http, base_url)
    await connector.accept(order_id, [])

    with pytest.raises(RemoteError) as refused:
        await connector.ship(order_id)

    assert not refused.value.retryable and refused.value.status_code == 400
    assert refused.value.message == "tracking_number is required when the order status changes to shipped."
    assert (await view(http, base_url, order_id))["status"] == "shipping"


async def test_delivered_needs_delivered_at_and_is_final(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await shipped_order(http, base_url, connector)
    response = await http.put(
        f"{base_url}/v1/orders/{order_id}", params={"client_id": DEFAULT_CLIENT_ID}, json={"status": "delivered"}
    )
    assert response.status_code == 400
    assert response.json()["result"] == {
        "code": 400,
        "status": "ERROR",
        "message": "delivered_at is required when the order status changes to delivered.",
    }

    await connector.mark_delivered(order_id, dt.datetime(2025, 3, 3, 13, 30, tzinfo=dt.UTC))

    seen = await view(http, base_url, order_id)
    assert (seen["status"], seen["delivered_at"]) == ("delivered", "2025-03-03 14:30:00")
    for step in (
        connector.cancel(order_id, "too late"),
        connector.mark_returned(order_id),
        connector.mark_delivered(order_id, T0),
    ):
        with pytest.raises(RemoteError) as refused:
            await step
        assert not refused.value.retryable
        assert refused.value.message == f"Order {order_id} is delivered, which is final: its status cannot be changed."
    assert (await view(http, base_url, order_id))["operations"]["delivered"] == 1


async def test_cancel_only_before_shipped(connector: MallConnector, http: httpx.AsyncClient, base_url: str) -> None:
    open_order = await add(http, base_url)
    shipping = await add(http, base_url)
    await connector.accept(shipping, [])
    shipped = await shipped_order(http, base_url, connector)

    await connector.cancel(open_order, "out of stock")
    await connector.cancel(shipping, "customer asked")
    with pytest.raises(RemoteError) as refused:
        await connector.cancel(shipped, "too late")

    assert (await view(http, base_url, open_order))["status"] == "cancelled"
    assert (await view(http, base_url, shipping))["status"] == "cancelled"
    assert refused.value.message == (
        "Order status change from shipped to cancelled is not allowed: "
        "an order can be cancelled only while it is open or shipping."
    )
    assert (await view(http, base_url, shipped))["status"] == "shipped"


async def test_returned_only_after_shipped(connector: MallConnector, http: httpx.AsyncClient, base_url: str) -> None:
    shipping = await add(http, base_url)
    await connector.accept(shipping, [])
    shipped = await shipped_order(http, base_url, connector)

    with pytest.raises(RemoteError) as refused:
        await connector.mark_returned(shipping)
    await connector.mark_returned(shipped)

    assert "returned only after it was shipped" in refused.value.message
    assert (await view(http, base_url, shipping))["status"] == "shipping"
    assert (await view(http, base_url, shipped))["status"] == "returned"


async def test_skipped_or_backward_step_is_a_non_retryable_error_in_malls_words(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await add(http, base_url, confirmed=True)

    with pytest.raises(RemoteError) as skipped:
        await connector.mark_delivered(order_id, T0)
    await connector.accept(order_id, [])
    backward = await http.put(
        f"{base_url}/v1/orders/{order_id}", params={"client_id": DEFAULT_CLIENT_ID}, json={"status": "open"}
    )

    assert not skipped.value.retryable and skipped.value.status_code == 400
    assert skipped.value.message == (
        "Order status change from open to delivered is not allowed: "
        "an order can be delivered only after it was shipped."
    )
    assert backward.status_code == 400 and "Invalid status" in backward.json()["result"]["message"]
    assert (await view(http, base_url, order_id))["status"] == "shipping"


async def test_status_change_needs_a_confirmed_order(http: httpx.AsyncClient, base_url: str) -> None:
    order_id = await add(http, base_url)

    response = await http.put(
        f"{base_url}/v1/orders/{order_id}", params={"client_id": DEFAULT_CLIENT_ID}, json={"status": "shipping"}
    )

    assert response.status_code == 400 and "is not confirmed" in response.json()["result"]["message"]
    assert (await view(http, base_url, order_id))["operations"] == {}


async def test_api_refuses_garbage_bodies(http: httpx.AsyncClient, base_url: str) -> None:
    order_id = await add(http, base_url, confirmed=True)
    url, params = f"{base_url}/v1/orders/{order_id}", {"client_id": DEFAULT_CLIENT_ID}

    answers = [
        await http.put(url, params=params, content=b"status=shipping"),
        await http.put(url, params=params, json={"status": ["shipping"]}),
        await http.put(url, params=params, json={"confirmed": "yes"}),
        await http.put(url, params=params, json={}),
        await http.put(url, params=params, json={"status": "shipping", "tracking_number": "ABC 123"}),
        await http.put(f"{url}/tracking", params=params, json={"tracking_number": "X1"}),
    ]

    assert [a.status_code for a in answers] == [400] * len(answers)
    assert all(a.json()["result"]["status"] == "ERROR" and a.json()["result"]["message"] for a in answers)
    assert (await view(http, base_url, order_id))["operations"] == {}


async def test_mall_delivery_orders_pass_through_shipping(http: httpx.AsyncClient, base_url: str) -> None:
    order_id = await add(http, base_url, confirmed=True, mdp=True)

    response = await http.put(
        f"{base_url}/v1/orders/{order_id}", params={"client_id": DEFAULT_CLIENT_ID}, json={"status": "shipped"}
    )

    assert response.status_code == 400 and "MALL Delivery" in response.json()["result"]["message"]


# --- Credentials and unknown orders


async def test_bad_client_id_is_refused(base_url: str, http: httpx.AsyncClient) -> None:
    wrong = MallConnector(base_url, {"client_id": "not-my-client"}, http)

    with pytest.raises(RemoteError) as refused:
        await fetch_all(wrong)
    missing = await http.get(f"{base_url}/v1/orders")

    assert refused.value.status_code == 401 and not refused.value.retryable
    assert refused.value.message == "Invalid client_id: no partner has this client ID."
    assert missing.status_code == 401 and missing.json()["result"]["status"] == "ERROR"
    with pytest.raises(RemoteError, match="no client ID"):
        await MallConnector(base_url, {}, http).fetch_order_state("1")


async def test_unknown_order(connector: MallConnector) -> None:
    with pytest.raises(RemoteError) as missing:
        await connector.fetch_order_state("123456")

    assert missing.value.status_code == 404 and missing.value.message == "Order 123456 not found."


# --- Faults


async def test_server_errors_and_rate_limits_are_retryable(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    await add(http, base_url)
    await set_faults(http, base_url, error_rate=1)
    with pytest.raises(RemoteError) as failed:
        await fetch_all(connector)
    await set_faults(http, base_url, error_rate=0, rate_limit_rate=1, retry_after_s=0.5)
    with pytest.raises(RemoteError) as limited:
        await fetch_all(connector)
    await set_faults(http, base_url, rate_limit_rate=0)

    assert failed.value.retryable and failed.value.status_code == 500
    assert limited.value.retryable and limited.value.status_code == 429 and limited.value.retry_after == 0.5
    assert len([o for page in await fetch_all(connector) for o in page.orders]) == 1


async def test_malformed_answers_are_retryable(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await add(http, base_url)
    await set_faults(http, base_url, malformed_rate=1)

    with pytest.raises(RemoteError) as listing:
        await fetch_all(connector)
    with pytest.raises(RemoteError) as change:
        await connector.accept(order_id, [])

    assert listing.value.retryable and "malformed" in listing.value.message
    assert change.value.retryable and change.value.ambiguous
    assert (await view(http, base_url, order_id))["status"] == "shipping"  # applied: check before resending


async def test_timeouts_are_retryable_and_ambiguous_once_sent(
    connector: MallConnector, http: httpx.AsyncClient, base_url: str
) -> None:
    order_id = await add(http, base_url)
    connector.timeout = httpx.Timeout(0.3)
    await set_faults(http, base_url, timeout_rate=1, timeout_s=1)

    with pytest.raises(RemoteError) as timed_out:
        await connector.accept(order_id, [])

    assert timed_out.value.retryable and timed_out.value.ambiguous
    assert (await view(http, base_url, order_id))["operations"] == {"confirm": 1, "shipping": 1}
    await set_faults(http, base_url, timeout_rate=0)
    assert await connector.fetch_order_state(order_id) == "shipping"


# --- Control interface


async def test_control_interface_refuses_garbage(http: httpx.AsyncClient, base_url: str) -> None:
    not_json = await http.post(f"{base_url}/_control/orders", content=b"{oops")
    bad_status = await http.post(f"{base_url}/_control/orders", json={"status": "paid"})
    bad_items = await http.post(f"{base_url}/_control/orders", json={"items": "two mugs"})
    faults = await http.post(f"{base_url}/_control/faults", json={"error_rate": 3, "colour": "red"})
    unknown = await http.get(f"{base_url}/_control/orders/42")

    assert not_json.status_code == 400 and "JSON object" in not_json.json()["message"]
    assert bad_status.status_code == 400 and "status must be one of" in bad_status.json()["message"]
    assert bad_items.status_code == 400 and "items must be a list" in bad_items.json()["message"]
    assert faults.status_code == 400
    assert faults.json()["refused"] == ["error_rate must be a number from 0 to 1", "unknown setting “colour”"]
    assert faults.json()["faults"]["error_rate"] == 0
    assert unknown.status_code == 404


async def test_control_order_fills_defaults(http: httpx.AsyncClient, base_url: str) -> None:
    response = await http.post(f"{base_url}/_control/orders", json={"id": 4242, "items": [{"id": "X-1"}]})

    stored = response.json()
    assert response.status_code == 201
    assert (stored["id"], stored["purchase_id"], stored["status"], stored["confirmed"]) == (4242, 42, "open", False)
    assert stored["currency"] == "CZK" and stored["items"][0]["vat"] == 21
    assert stored["blocked"] == stored["open"] == "2025-03-01 10:00:00"
    duplicate = await http.post(f"{base_url}/_control/orders", json={"id": 4242})
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["message"]
