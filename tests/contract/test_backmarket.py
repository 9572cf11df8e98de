"""Contract tests: the Back Market connector against its sandbox, over real HTTP on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from connectors.backmarket import BackMarketConnector
from connectors.base import DEFAULT_TIMEOUT
from connectors.registry import channel_kinds
from connectors.sandbox.backmarket import DEFAULT_TOKEN, BackMarketSandbox
from models.ports import IncomingOrder, LineDecision, OrderPage, RemoteError, TrackingInfo

OLD = "2024-01-10T08:00:00+00:00"
RECENT = "2025-06-01T12:00:00+02:00"


@pytest.fixture
def sandbox() -> BackMarketSandbox:
    return BackMarketSandbox(seed=7)


@pytest.fixture
def base_url(serve_sandbox: Callable[[BackMarketSandbox], str], sandbox: BackMarketSandbox) -> str:
    return serve_sandbox(sandbox)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.fixture
def connector(base_url: str, client: httpx.AsyncClient) -> BackMarketConnector:
    return BackMarketConnector(base_url, {"token": DEFAULT_TOKEN}, client)


async def add_order(client: httpx.AsyncClient, base_url: str, **fields: Any) -> dict[str, Any]:
    """One order through the documented control route, in Back Market's own JSON."""
    order: dict[str, Any] = {
        "state": 1,
        "shipping_address": {
            "first_name": "Hélène",
            "last_name": "Dvořák",
            "street": "12 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
            "phone": "+33 6 12 34 56 78",
            "email": "helene@example.com",
        },
        "orderlines": [
            {"listing": "IPH-13-128-BLK", "product": "iPhone 13 128 Go – Noir", "quantity": 1, "price": "489.00"},
            {"listing": "CASE-13-CLR", "product": "Coque transparente", "quantity": 2, "price": "9.90"},
        ],
        "shipping_price": "4.99",
    }
    order.update(fields)
    response = await client.post(f"{base_url}/_control/orders", json=order)
    assert response.status_code == 201, response.text
    return response.json()


async def view(client: httpx.AsyncClient, base_url: str, order_id: Any) -> dict[str, Any]:
    response = await client.get(f"{base_url}/_control/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def set_faults(client: httpx.AsyncClient, base_url: str, **faults: Any) -> dict[str, Any]:
    response = await client.post(f"{base_url}/_control/faults", json=faults)
    assert response.status_code == 200, response.text
    return response.json()


async def fetch_all(
    connector: BackMarketConnector, since: dt.datetime | None = None, **kwargs: Any
) -> tuple[list[IncomingOrder], list[OrderPage]]:
    pages = [page async for page in connector.fetch_orders(since, **kwargs)]
    return [order for page in pages for order in page.orders], pages


def decisions(order: dict[str, Any], *accepted: bool) -> list[LineDecision]:
    lines = order["orderlines"]
    return [LineDecision(str(line["id"]), line["listing"], ok) for line, ok in zip(lines, accepted, strict=True)]


# -- registration and pairing -------------------------------------------------------------------


def test_registered_with_its_pairing() -> None:
    assert channel_kinds()["backmarket"] is BackMarketConnector
    pairing = BackMarketConnector.pairing
    assert pairing.importable == {"1", "3"}
    assert pairing.to_internal["1"] == "awaiting_acceptance"
    assert pairing.to_internal["9"] == "shipped"
    assert pairing.allows("accept", "1") and not pairing.allows("accept", "3")
    assert pairing.allows("tracking", "3") and not pairing.allows("tracking", "1")
    assert "needs 3" in pairing.refusal("tracking", "1")


# -- import -------------------------------------------------------------------------------------


async def test_pages_through_next_and_moves_the_cursor_once_all_is_read(
    connector: BackMarketConnector, sandbox: BackMarketSandbox
) -> None:
    ids = sandbox.generate_orders(12)
    connector.page_size = 5
    orders, pages = await fetch_all(connector)
    assert sorted(o.channel_order_id for o in orders) == sorted(ids)
    assert len(pages) == 4  # three pages of state 1, then the closing page with the cursor
    assert all(page.max_updated_at is None for page in pages[:-1])
    newest = max(dt.datetime.fromisoformat(sandbox.orders[i]["date_modification"]) for i in ids)
    assert pages[-1].max_updated_at == newest
    assert all(o.channel_status == "1" and o.needs_acceptance for o in orders)


async def test_lists_state_3_orders_as_already_accepted(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    created = await add_order(client, base_url, state=3)
    orders, _ = await fetch_all(connector)
    assert [o.channel_order_id for o in orders] == [str(created["order_id"])]
    assert orders[0].channel_status == "3"
    assert orders[0].needs_acceptance is False


async def test_date_modification_filters_old_orders_out(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    await add_order(client, base_url, date_creation=OLD, date_modification=OLD)
    recent = await add_order(client, base_url, date_creation=OLD, date_modification=RECENT)
    orders, pages = await fetch_all(connector, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert [o.channel_order_id for o in orders] == [str(recent["order_id"])]
    assert pages[-1].max_updated_at == dt.datetime(2025, 6, 1, 10, tzinfo=dt.UTC)


async def test_states_0_and_8_are_never_listed(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    open_order = await add_order(client, base_url, state=1)
    await add_order(client, base_url, state=0)
    cancelled = await add_order(client, base_url, state=8)
    shipped = await add_order(client, base_url, state=9)
    for since in (None, dt.datetime(2020, 1, 1, tzinfo=dt.UTC)):
        orders, _ = await fetch_all(connector, since)
        assert [o.channel_order_id for o in orders] == [str(open_order["order_id"])]
    # Known orders can be followed to their end, but a payment not yet validated (0) never shows.
    orders, _ = await fetch_all(connector, include_closed=True)
    statuses = {o.channel_order_id: o.channel_status for o in orders}
    assert statuses == {
        str(open_order["order_id"]): "1",
        str(cancelled["order_id"]): "8",
        str(shipped["order_id"]): "9",
    }


async def test_parses_accents_lines_and_money_exactly(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    created = await add_order(client, base_url)
    [order], _ = await fetch_all(connector)
    assert order.delivery.first_name == "Hélène" and order.delivery.last_name == "Dvořák"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("IPH-13-128-BLK", 1, 48900),
        ("CASE-13-CLR", 2, 990),
    ]
    assert [line.channel_line_id for line in order.lines] == [str(line["id"]) for line in created["orderlines"]]
    assert order.shipping_total == 499
    assert order.total == 48900 + 2 * 990 + 499
    assert order.customer_email == "helene@example.com"
    assert '"Hélène"' in order.raw


async def test_one_unreadable_order_never_blocks_the_page(
    connector: BackMarketConnector, sandbox: BackMarketSandbox, client: httpx.AsyncClient, base_url: str
) -> None:
    good = await add_order(client, base_url)
    broken = dict(good, order_id=123456, date_modification=RECENT)
    broken["orderlines"] = [dict(good["orderlines"][0], price="quatre cents")]
    sandbox.put_raw(broken)
    orders, pages = await fetch_all(connector)
    assert [o.channel_order_id for o in orders] == [str(good["order_id"])]
    [reject] = [r for page in pages for r in page.rejects]
    assert reject.channel_order_id == "123456"
    assert "price" in reject.message and "quatre cents" in reject.message
    assert "quatre cents" in reject.raw


async def test_fetches_the_order_when_the_list_omits_its_lines(
    connector: BackMarketConnector, sandbox: BackMarketSandbox
) -> None:
    ids = sandbox.generate_orders(3)
    sandbox.list_includes_lines = False
    orders, _ = await fetch_all(connector)
    assert sorted(o.channel_order_id for o in orders) == sorted(ids)
    assert all(order.lines for order in orders)


async def test_orders_leaving_the_listing_while_paging_are_not_skipped(
    connector: BackMarketConnector, sandbox: BackMarketSandbox
) -> None:
    ids = sandbox.generate_orders(7)
    connector.page_size = 2
    seen: list[str] = []
    async for page in connector.fetch_orders(None):
        seen += [o.channel_order_id for o in page.orders]
        if len(seen) == 2:
            # Someone accepts the first order on Back Market while we page: the pages shift.
            first = sandbox.orders[ids[0]]
            for line in first["orderlines"]:
                status, _ = sandbox.change_line(ids[0], {"new_state": 2, "sku": line["listing"]})
                assert status == 200
    assert set(seen) == set(ids)


async def test_sends_the_headers_back_market_requires(base_url: str, sandbox: BackMarketSandbox) -> None:
    sent: list[httpx.Request] = []

    async def remember(request: httpx.Request) -> None:
        sent.append(request)

    sandbox.generate_orders(1)
    async with httpx.AsyncClient(event_hooks={"request": [remember]}) as http:
        credentials = {"token": DEFAULT_TOKEN, "language": "de-de", "contact_email": "ops@example.com"}
        connector = BackMarketConnector(base_url, credentials, http)
        await fetch_all(connector)
    request = sent[0]
    assert request.headers["authorization"] == f"Basic {DEFAULT_TOKEN}"
    assert request.headers["accept-language"] == "de-de"
    assert request.headers["user-agent"] == "BM-Waybill-OrderHub;ops@example.com"
    assert request.url.params["state"] == "1"


# -- acceptance ---------------------------------------------------------------------------------


async def test_accepts_line_by_line(connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str) -> None:
    order = await add_order(client, base_url)
    await connector.accept(str(order["order_id"]), decisions(order, True, True))
    seen = await view(client, base_url, order["order_id"])
    assert seen["state"] == 3
    assert [line["state"] for line in seen["lines"]] == [2, 2]
    assert seen["operations"] == {"accept_line": 2}
    assert await connector.fetch_order_state(str(order["order_id"])) == "3"


async def test_accepting_again_changes_nothing(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    await connector.accept(str(order["order_id"]), decisions(order, True, False))
    await connector.accept(str(order["order_id"]), decisions(order, True, False))
    seen = await view(client, base_url, order["order_id"])
    assert seen["operations"] == {"accept_line": 1, "refuse_line": 1}


async def test_refusing_every_line_cancels_the_order(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    await connector.accept(str(order["order_id"]), decisions(order, False, False))
    seen = await view(client, base_url, order["order_id"])
    assert seen["state"] == 8
    assert [line["state"] for line in seen["lines"]] == [4, 4]
    assert seen["operations"] == {"refuse_line": 2}


async def test_partial_acceptance(connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str) -> None:
    order = await add_order(client, base_url)
    order_id = str(order["order_id"])
    first, second = decisions(order, False, True)
    await connector.accept(order_id, [first])
    assert (await view(client, base_url, order_id))["state"] == 1  # a line still waits
    await connector.accept(order_id, [second])
    seen = await view(client, base_url, order_id)
    assert seen["state"] == 3
    assert [line["state"] for line in seen["lines"]] == [4, 2]


async def test_wrong_sku_gets_back_markets_message_and_is_not_retried(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    with pytest.raises(RemoteError) as caught:
        await connector.accept(str(order["order_id"]), [LineDecision("", "NO-SUCH-SKU", True)])
    assert "couldn't find a matching order_id and/or SKU" in caught.value.message
    assert caught.value.retryable is False
    assert caught.value.status_code == 400
    assert (await view(client, base_url, order["order_id"]))["operations"] == {}


async def test_timeout_after_sending_is_ambiguous_and_the_resend_lands_once(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    order_id = str(order["order_id"])

    class ImpatientPosts(BackMarketConnector):
        async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
            self.timeout = httpx.Timeout(0.2) if method == "POST" else DEFAULT_TIMEOUT
            return await super()._call(method, path, **kwargs)

    impatient = ImpatientPosts(connector.base_url, connector.credentials, client)
    await set_faults(client, base_url, timeout_rate=1, timeout_s=0.6)
    with pytest.raises(RemoteError) as caught:
        await impatient.accept(order_id, decisions(order, True, True))
    assert caught.value.retryable and caught.value.ambiguous
    await set_faults(client, base_url, timeout_rate=0)
    # The first line landed before the answer was lost; sending the whole decision again is safe.
    assert (await view(client, base_url, order_id))["operations"] == {"accept_line": 1}
    await connector.accept(order_id, decisions(order, True, True))
    seen = await view(client, base_url, order_id)
    assert seen["operations"] == {"accept_line": 2}
    assert seen["state"] == 3


# -- shipping -----------------------------------------------------------------------------------


async def test_ships_every_line_with_its_tracking(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    order_id = str(order["order_id"])
    await connector.accept(order_id, decisions(order, True, True))
    # The carrier's code on this channel is Back Market's shipper name.
    tracking = TrackingInfo("Colissimo", "La Poste Colissimo", "6A12345678901", "https://suivi.example/6A12345678901")
    await connector.push_tracking(order_id, tracking)
    seen = await view(client, base_url, order_id)
    assert seen["state"] == 9
    assert seen["tracking"] == {
        "tracking_number": "6A12345678901",
        "tracking_url": "https://suivi.example/6A12345678901",
        "shipper": "Colissimo",
    }
    assert all(line["state"] == 3 and line["tracking"]["tracking_number"] == "6A12345678901" for line in seen["lines"])
    # "Mark as shipped" after tracking only confirms; tracking again sends nothing.
    await connector.ship(order_id)
    await connector.push_tracking(order_id, tracking)
    assert (await view(client, base_url, order_id))["operations"] == {"accept_line": 2, "ship_line": 2}


async def test_two_parcels_ship_the_order_when_the_last_line_leaves(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    order_id = str(order["order_id"])
    first = str(order["orderlines"][0]["id"])
    await connector.accept(order_id, decisions(order, True, True))
    await connector.push_tracking(order_id, TrackingInfo("dhl", "DHL Express", "JD001", lines={first: 1}))
    seen = await view(client, base_url, order_id)
    assert seen["state"] == 3
    assert [line["state"] for line in seen["lines"]] == [3, 2]
    await connector.push_tracking(order_id, TrackingInfo("ups", "UPS", "1Z999", skus={"CASE-13-CLR": 2}))
    seen = await view(client, base_url, order_id)
    assert seen["state"] == 9
    assert [line["tracking"]["tracking_number"] for line in seen["lines"]] == ["JD001", "1Z999"]


async def test_shipping_without_tracking(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    order_id = str(order["order_id"])
    await connector.accept(order_id, decisions(order, True, False))
    await connector.ship(order_id)
    seen = await view(client, base_url, order_id)
    assert seen["state"] == 9
    assert seen["operations"] == {"accept_line": 1, "refuse_line": 1, "ship_line": 1}


async def test_shipping_a_line_still_to_accept_gets_order_status_error(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    order_id = str(order["order_id"])
    tracking = TrackingInfo("colissimo", "Colissimo", "6A1", skus={"IPH-13-128-BLK": 1})
    with pytest.raises(RemoteError) as caught:
        await connector.push_tracking(order_id, tracking)
    assert caught.value.message == "Order status error"
    assert caught.value.retryable is False
    with pytest.raises(RemoteError) as caught:
        await connector.ship(order_id)
    assert "accept or refuse them before shipping" in caught.value.message
    assert (await view(client, base_url, order_id))["operations"] == {}


async def test_cancel_refunds_accepted_lines_up_to_shipping(
    connector: BackMarketConnector, client: httpx.AsyncClient, base_url: str
) -> None:
    order = await add_order(client, base_url)
    order_id = str(order["order_id"])
    await connector.accept(order_id, decisions(order, True, True))
    await connector.cancel(order_id, "Out of stock")
    seen = await view(client, base_url, order_id)
    assert seen["state"] == 8
    assert [line["state"] for line in seen["lines"]] == [5, 5]

    shipped = await add_order(client, base_url)
    shipped_id = str(shipped["order_id"])
    await connector.accept(shipped_id, decisions(shipped, True, True))
    await connector.push_tracking(shipped_id, TrackingInfo("ups", "UPS", "1Z1"))
    with pytest.raises(RemoteError) as caught:
        await connector.cancel(shipped_id, "too late")
    assert "can no longer be cancelled" in caught.value.message and not caught.value.retryable


# -- authentication and faults ------------------------------------------------------------------


async def test_wrong_token_is_401_and_not_retried(base_url: str, client: httpx.AsyncClient) -> None:
    connector = BackMarketConnector(base_url, {"token": "not-the-token"}, client)
    with pytest.raises(RemoteError) as caught:
        await fetch_all(connector)
    assert caught.value.status_code == 401
    assert caught.value.retryable is False
    assert "Invalid token." in caught.value.message and "token" in caught.value.message
    response = await client.get(f"{base_url}/ws/orders")
    assert response.status_code == 401


async def test_missing_token_says_where_to_find_it(base_url: str, client: httpx.AsyncClient) -> None:
    connector = BackMarketConnector(base_url, {}, client)
    with pytest.raises(RemoteError) as caught:
        await fetch_all(connector)
    assert "token" in caught.value.message and caught.value.retryable is False


@pytest.mark.parametrize(
    ("faults", "status", "text"),
    [
        ({"error_rate": 1}, 500, "injected fault"),
        ({"rate_limit_rate": 1, "retry_after_s": 7}, 429, "rate limiting"),
        ({"malformed_rate": 1}, 200, "malformed"),
    ],
)
async def test_faults_are_retryable(
    connector: BackMarketConnector,
    sandbox: BackMarketSandbox,
    client: httpx.AsyncClient,
    base_url: str,
    faults: dict[str, Any],
    status: int,
    text: str,
) -> None:
    sandbox.generate_orders(2)
    await set_faults(client, base_url, **faults)
    with pytest.raises(RemoteError) as caught:
        await fetch_all(connector)
    assert caught.value.retryable is True
    assert caught.value.status_code == status
    assert text in caught.value.message
    if status == 429:
        assert caught.value.retry_after == 7
    await set_faults(client, base_url, error_rate=0, rate_limit_rate=0, malformed_rate=0)
    orders, _ = await fetch_all(connector)
    assert len(orders) == 2


async def test_read_timeout_is_retryable_and_ambiguous(
    connector: BackMarketConnector, sandbox: BackMarketSandbox, client: httpx.AsyncClient, base_url: str
) -> None:
    sandbox.generate_orders(1)
    await set_faults(client, base_url, timeout_rate=1, timeout_s=0.6)
    connector.timeout = httpx.Timeout(0.2)
    with pytest.raises(RemoteError) as caught:
        await fetch_all(connector)
    assert caught.value.retryable is True
    assert caught.value.ambiguous is True
    assert "did not answer in time" in caught.value.message


# -- control interface --------------------------------------------------------------------------


async def test_control_orders_fills_defaults_and_refuses_garbage(client: httpx.AsyncClient, base_url: str) -> None:
    response = await client.post(
        f"{base_url}/_control/orders", json={"orderlines": [{"listing": "SKU-1", "price": "12.50"}]}
    )
    assert response.status_code == 201
    order = response.json()
    assert order["state"] == 1 and order["currency"] == "EUR"
    assert order["orderlines"][0]["quantity"] == 1 and order["orderlines"][0]["state"] == 1
    assert order["shipping_address"]["last_name"] == ""

    response = await client.post(f"{base_url}/_control/orders", content=b"<order/>")
    assert response.status_code == 400
    assert "JSON object" in response.json()["detail"]
    response = await client.post(
        f"{base_url}/_control/orders", json={"state": 4, "orderlines": [{"price": "x"}], "currency": "euro"}
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "state must be one of" in detail and "listing" in detail and "price" in detail and "currency" in detail
    response = await client.post(f"{base_url}/_control/orders", json=dict(order))
    assert response.status_code == 409


async def test_control_faults_lists_refused_values(client: httpx.AsyncClient, base_url: str) -> None:
    response = await client.post(f"{base_url}/_control/faults", json={"error_rate": 3, "colour": "red"})
    assert response.status_code == 400
    assert response.json()["refused"] == ["error_rate must be a number from 0 to 1", "unknown setting “colour”"]
    current = await set_faults(client, base_url, latency_ms=5)
    assert current["latency_ms"] == 5 and current["error_rate"] == 0


async def test_control_view_of_an_unknown_order_is_404(client: httpx.AsyncClient, base_url: str) -> None:
    response = await client.get(f"{base_url}/_control/orders/999")
    assert response.status_code == 404
    assert "999" in response.json()["detail"]


async def test_generated_orders_are_realistic_and_readable(
    connector: BackMarketConnector, sandbox: BackMarketSandbox
) -> None:
    sandbox.generate_orders(60)
    orders, pages = await fetch_all(connector)
    assert len(orders) == 60
    assert not [r for page in pages for r in page.rejects]
    names = " ".join(o.delivery.first_name + o.delivery.last_name for o in orders)
    assert any(ch in names for ch in "éèöüøłřšíñ")
    assert any(len(o.lines) > 1 for o in orders)
    assert any(not o.delivery.last_name or not o.delivery.street1 for o in orders) or any(
        len(o.delivery.postcode) not in (5, 6) for o in orders
    )
