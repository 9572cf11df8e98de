"""Input out of bounds answers 4xx with a sentence saying why, never 500, on the app served over HTTP: filters
of the order list and its CSV export, ids in the address, numbers in query strings and forms, the order forms'
version, and JSON bodies that are not UTF-8 or nest too deep. PostgreSQL's driver fails on ids past 32 bits
and on year-1 timestamps, SQLite's past 64 bits: both are run."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from models.accounts.users import create_api_token
from models.core.actors import Actor
from models.db.tables import Event, Order, OrderLine, User
from models.orders.acceptance import accept_order
from tests.conftest import csrf_from, import_one, login, make_order
from tests.integration.support import add_supplier, served_app
from web.pages import forget_timezone

BIG = "9" * 23  # past 64 bits
PAST_32_BITS = str(2**31)
PAST_64_BITS = str(2**63)
ID_RANGE = "use a whole number from 1 to 2147483647"
DAY_RANGE = "use a day from 2000-01-01 to 2099-12-31"
ADDRESS_ID = "which cannot exist: ids go from 1 to 2147483647."
ORDER_LINK = re.compile(r'href="/orders/(\d+)"')


@dataclass
class World:
    http: httpx.AsyncClient  # logged in as admin
    api: dict[str, str]  # an operator's API token
    csrf: dict[str, str]
    order_id: int
    line_id: int
    supplier_id: int


@pytest.fixture(autouse=True)
def fresh_timezone_cache():
    forget_timezone()
    yield
    forget_timezone()


@pytest.fixture
async def world(settings, users, channel) -> AsyncIterator[World]:
    order_id = await import_one(channel, make_order("BOUNDS-1"))
    line = await OrderLine.select(OrderLine.id).where(OrderLine.order == order_id).first()
    supplier_id = await add_supplier("BigBuy", "bigbuy", "http://127.0.0.1:9", {"api_key": "k"})
    operator = await User.select(User.id).where(User.username == "operator").first()
    api = {"Authorization": f"Bearer {await create_api_token(operator['id'], 'bounds')}"}
    async with served_app(settings) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        await login(http, "admin")
        csrf = {"X-CSRFToken": csrf_from((await http.get(f"/orders/{order_id}")).text)}
        yield World(http, api, csrf, order_id, line["id"], supplier_id)


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def order_state(order_id: int) -> tuple[str, int, int]:
    row = await Order.select(Order.status, Order.version).where(Order.id == order_id).first()
    return row["status"], row["version"], await Event.count().where(Event.order == order_id)


# The order list, its CSV export and the API's list --------------------------------------------------------

FILTER_CASES = [
    ({"channel": BIG}, "channel filter", f"“{BIG}” is out of range: {ID_RANGE}"),
    ({"channel": PAST_32_BITS}, "channel filter", f"“{PAST_32_BITS}” is out of range: {ID_RANGE}"),
    ({"channel": "²"}, "channel filter", "“²” is not a whole number"),
    ({"supplier": BIG}, "supplier filter", f"“{BIG}” is out of range: {ID_RANGE}"),
    ({"supplier": PAST_32_BITS}, "supplier filter", f"“{PAST_32_BITS}” is out of range: {ID_RANGE}"),
    ({"from": "0001-01-01"}, "from date", f"“0001-01-01” is out of range: {DAY_RANGE}"),
    ({"to": "0001-01-01"}, "to date", f"“0001-01-01” is out of range: {DAY_RANGE}"),
    ({"to": "9999-12-31"}, "to date", f"“9999-12-31” is out of range: {DAY_RANGE}"),
    ({"from": "11/03/2026"}, "from date", "“11/03/2026” is not a date (use YYYY-MM-DD)"),
]
FILTER_IDS = [f"{next(iter(p))}={next(iter(p.values()))[:12]}" for p, _, _ in FILTER_CASES]


@pytest.mark.parametrize(("params", "label", "reason"), FILTER_CASES, ids=FILTER_IDS)
async def test_a_refused_filter_is_400_on_the_list_and_its_export_and_422_in_the_api(world, params, label, reason):
    key = next(iter(params))
    page = await world.http.get("/orders", params=params)
    assert page.status_code == 400
    assert f"Ignored the {label}: {reason}." in text_of(page)
    assert [int(i) for i in ORDER_LINK.findall(page.text)] == [world.order_id], "the other filters still apply"
    export_link = re.search(r'href="/orders/export\.csv\?([^"]*)"', page.text)
    assert f"{key}=" not in html.unescape(export_link.group(1)), "links leave the refused value out"

    results = await world.http.get("/orders", params=params, headers={"HX-Request": "true", "HX-Target": "results"})
    assert results.status_code == 400
    assert f"Ignored the {label}: {reason}." in text_of(results)
    assert "<html" not in results.text, "htmx gets the results fragment, shown as usual"

    # Refused before the download starts: an error while streaming could only drop the connection.
    export = await world.http.get("/orders/export.csv", params=params)
    assert export.status_code == 400
    assert export.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in export.headers
    assert f"These filters cannot be used: {key}: {reason}." in text_of(export)

    answer = await world.http.get("/api/v1/orders", params=params, headers=world.api)
    assert answer.status_code == 422
    assert answer.json() == {
        "status_code": 422,
        "detail": f"These filters cannot be used: {key}: {reason}.",
        "errors": {key: reason},
    }


async def test_the_csv_export_with_good_filters_still_downloads(world):
    export = await world.http.get("/orders/export.csv", params={"from": "2000-01-01", "to": "2099-12-31"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "BOUNDS-1" in export.text


async def test_the_api_list_bounds_its_page_size(world):
    for limit in (BIG, "0", "abc"):
        answer = await world.http.get("/api/v1/orders", params={"limit": limit}, headers=world.api)
        assert answer.status_code == 400
        assert answer.json() == {"status_code": 400, "detail": "Some values were not understood: limit."}


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of(b"[" * 5000 + b"]" * 5000),
        cursor_of(json.dumps(["2026-01-01T00:00:00+00:00", 10**30]).encode()),
        cursor_of(json.dumps(["2026-01-01T00:00:00+00:00", 2**31]).encode()),
        cursor_of(json.dumps(["0001-01-01T00:00:00+00:00", 5]).encode()),
        cursor_of(json.dumps(["9999-12-31T23:59:59+00:00", 5]).encode()),
        "A" * 5000,
    ],
    ids=["deep", "huge-id", "id-past-32-bits", "year-1", "year-9999", "long"],
)
async def test_a_cursor_beyond_what_a_row_can_hold_means_the_first_page(world, cursor):
    page = await world.http.get("/orders", params={"cursor": cursor})
    assert page.status_code == 200
    assert [int(i) for i in ORDER_LINK.findall(page.text)] == [world.order_id]
    answer = await world.http.get("/api/v1/orders", params={"cursor": cursor}, headers=world.api)
    assert answer.status_code == 200
    assert [o["id"] for o in answer.json()["orders"]] == [world.order_id]


# Ids in the address --------------------------------------------------------------------------------------


def address_cases() -> list[tuple[str, str, str, str]]:
    """(method, path, noun, shown id); {order}, {line} and {supplier} are filled in per test."""
    cases = [("GET", f"/orders/{n}", "order", n) for n in (BIG, PAST_32_BITS, PAST_64_BITS, "-1", "-" + BIG)]
    cases += [
        ("GET", f"/orders/{{order}}/payloads/{BIG}", "payload", BIG),
        ("GET", f"/orders/{BIG}/audit", "order", BIG),
        ("GET", f"/orders/{BIG}/shipping/add", "order", BIG),
        ("POST", f"/orders/{BIG}/accept", "order", BIG),
        ("POST", f"/orders/{{order}}/lines/{PAST_32_BITS}/accept", "line", PAST_32_BITS),
        ("POST", f"/orders/{{order}}/shipping/{BIG}/remove", "shipment", BIG),
        ("GET", f"/channels/{BIG}", "channel", BIG),
        ("GET", f"/channels/{PAST_32_BITS}/edit", "channel", PAST_32_BITS),
        ("GET", f"/suppliers/{BIG}", "supplier", BIG),
        ("GET", f"/suppliers/{PAST_32_BITS}/edit", "supplier", PAST_32_BITS),
        ("GET", f"/suppliers/{BIG}/catalog", "supplier", BIG),
        ("POST", f"/suppliers/{{supplier}}/resubmit-all/{BIG}/next", "run", BIG),
        ("GET", f"/settings/carriers/{BIG}/edit", "carrier", BIG),
        ("POST", f"/settings/users/{PAST_32_BITS}/role", "user", PAST_32_BITS),
        ("POST", f"/notifications/{BIG}/read", "message", BIG),
        ("POST", f"/connection-issues/{BIG}/retry", "issue", BIG),
        ("POST", f"/account/sessions/{BIG}/end", "session", BIG),
        ("POST", f"/inventory/rules/channels/{PAST_32_BITS}", "channel", PAST_32_BITS),
    ]
    return cases


@pytest.mark.parametrize(("method", "path", "noun", "shown"), address_cases(), ids=lambda v: str(v)[:30])
async def test_an_id_no_row_can_have_in_the_address_is_refused_with_400(world, method, path, noun, shown):
    url = path.format(order=world.order_id, supplier=world.supplier_id)
    before = await order_state(world.order_id)
    answer = await world.http.request(method, url, headers=world.csrf if method == "POST" else {})
    assert answer.status_code == 400
    assert f"This address names {noun} “{shown}”, {ADDRESS_ID}" in text_of(answer)
    assert await order_state(world.order_id) == before


@pytest.mark.parametrize(
    ("method", "path", "noun", "shown"),
    [
        ("GET", f"/api/v1/orders/{BIG}", "order", BIG),
        ("GET", f"/api/v1/orders/{PAST_32_BITS}/shipping", "order", PAST_32_BITS),
        ("POST", f"/api/v1/orders/{BIG}/accept", "order", BIG),
        ("POST", f"/api/v1/orders/{{order}}/lines/{PAST_64_BITS}/accept", "line", PAST_64_BITS),
        ("DELETE", f"/api/v1/orders/{{order}}/shipments/{BIG}", "shipment", BIG),
        ("POST", f"/api/v1/orders/{BIG}/cancel", "order", BIG),
    ],
    ids=lambda v: str(v)[:30],
)
async def test_the_api_refuses_an_id_no_row_can_have_with_a_json_400(world, method, path, noun, shown):
    answer = await world.http.request(method, path.format(order=world.order_id), headers=world.api)
    assert answer.status_code == 400
    assert answer.json() == {"status_code": 400, "detail": f"This address names {noun} “{shown}”, {ADDRESS_ID}"}


# Numbers in query strings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (f"/notifications?before={BIG}", "before"),
        (f"/notifications?before={PAST_32_BITS}", "before"),
        (f"/suppliers/{{supplier}}?upload={BIG}", "upload"),
        (f"/suppliers/{{supplier}}?edit_mapping={PAST_32_BITS}", "edit_mapping"),
        (f"/suppliers/{{supplier}}/shipping-mappings?edit={BIG}", "edit"),
        (f"/orders/{{order}}/decision-answer?attempt={BIG}", "attempt"),
    ],
    ids=lambda v: str(v)[:40],
)
async def test_a_number_in_a_query_string_is_bounded(world, path, name):
    answer = await world.http.get(path.format(order=world.order_id, supplier=world.supplier_id))
    assert answer.status_code == 400
    assert f"Some values were not understood: {name}." in text_of(answer)


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/metrics?channel=²", 200, "That channel does not exist (any more): showing all channels."),
        (f"/metrics?channel={PAST_32_BITS}", 200, "That channel does not exist (any more): showing all channels."),
        ("/channels/reconciliation?channel=²&run=1", 200, "Choose a channel from the list."),
        (f"/channels/reconciliation?channel={BIG}&run=1", 200, "Choose a channel from the list."),
        (
            "/channels/reconciliation?since=0001-01-01&run=1",
            200,
            "Enter a date from 2000-01-01 to 2099-12-31, or leave it empty for every order.",
        ),
        (f"/suppliers/{{supplier}}/shipping-mappings/rates?channel={BIG}", 200, ""),
        ("/suppliers/{supplier}/shipping-mappings/rates?channel=²", 200, ""),
    ],
    ids=lambda v: str(v)[:40],
)
async def test_other_pages_fall_back_on_a_choice_no_row_can_have(world, path, status, message):
    answer = await world.http.get(path.format(supplier=world.supplier_id))
    assert answer.status_code == status
    assert message in text_of(answer)


# The order forms ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("abc", "“abc” is not a whole number"),
        ("²", "“²” is not a whole number"),
        ("1.5", "“1.5” is not a whole number"),
        ("-1", "“-1” is out of range: use a whole number from 0 to 2147483647"),
        (BIG, f"“{BIG}” is out of range: use a whole number from 0 to 2147483647"),
    ],
)
async def test_a_version_that_is_not_a_whole_number_is_refused_not_ignored(world, version, reason):
    before = await order_state(world.order_id)
    message = f"Nothing was changed: this form's order version {reason}. Reload the order page and try again."
    for action, htmx in (("accept", False), ("accept", True), ("mark-paid", True), ("reject", False)):
        answer = await world.http.post(
            f"/orders/{world.order_id}/{action}",
            data={"version": version, "reason": "out_of_stock"},
            headers={**world.csrf, **({"HX-Request": "true"} if htmx else {})},
        )
        assert answer.status_code == 400
        assert message in text_of(answer)
        if htmx:
            assert answer.headers["hx-retarget"] == "#flash", "htmx shows it in the page's message area"
    assert await order_state(world.order_id) == before


async def test_the_version_the_page_sent_still_counts(world):
    status, version, _ = await order_state(world.order_id)
    stale = await world.http.post(f"/orders/{world.order_id}/accept", data={"version": version + 1}, headers=world.csrf)
    assert "changed" in text_of(stale).lower()
    assert (await order_state(world.order_id))[0] == status == "awaiting_acceptance"
    fresh = await world.http.post(
        f"/orders/{world.order_id}/accept", data={"version": f" {version} "}, headers=world.csrf
    )
    assert fresh.status_code == 200
    assert (await order_state(world.order_id))[0] == "awaiting_fulfillment"


@pytest.mark.parametrize(
    ("action", "form", "status", "message"),
    [
        ("shipping-method", {"supplier": "²", "method": "Express"}, 400, "Nothing was changed: the supplier “²” is"),
        ("shipping-method", {"supplier": BIG, "method": "Express"}, 400, f"the supplier “{BIG}” is out of range"),
        ("sent-manually", {"supplier": PAST_32_BITS, "reference": "R-1"}, 400, "is out of range: use a whole number"),
        ("shipping/tracking", {"carrier": "²", "tracking_number": "1"}, 422, "Choose a carrier from the list."),
        ("shipping/tracking", {"carrier": BIG, "tracking_number": "1"}, 422, "Choose a carrier from the list."),
        ("shipping/tracking", {"no_tracking": "on", "qty_{line}": "²"}, 422, "Enter a whole number of items, 0 or"),
        ("shipping/tracking", {"no_tracking": "on", "qty_{line}": BIG}, 422, "Enter at most 2147483647 items."),
        ("lines/{line}/quantity", {"quantity": "²"}, 200, "Enter a whole number."),
        ("lines/{line}/quantity", {"quantity": BIG}, 200, "Enter a whole number from 0 to 2147483647."),
        ("lines/{line}/edit", {"quantity": "²"}, 200, "Enter a whole number."),
        ("lines/{line}/edit", {"quantity": BIG}, 200, "Enter a whole number from 0 to 2147483647."),
    ],
    ids=lambda v: str(v)[:30],
)
async def test_numbers_in_the_order_forms_are_bounded_and_change_nothing(world, action, form, status, message):
    """An id a list sends by itself is refused with 400; a typed number is shown at its field (the fragment's
    usual answer for a line, 422 for Add tracking)."""
    line = str(world.line_id)
    data = {key.replace("{line}", line): value for key, value in form.items()}
    if action == "shipping/tracking":
        await accept_order(world.order_id, Actor.user("admin"))  # Add tracking is for accepted orders
    before = await order_state(world.order_id)
    answer = await world.http.post(
        f"/orders/{world.order_id}/{action.replace('{line}', line)}",
        data=data,
        headers={**world.csrf, "HX-Request": "true"},
    )
    assert answer.status_code == status
    assert message in text_of(answer)
    assert await order_state(world.order_id) == before


@pytest.mark.parametrize(
    ("path", "form", "status", "message"),
    [
        ("/channels/reconciliation/resync", {"channel_id": "²"}, 400, "Nothing was changed: the channel “²” is"),
        ("/channels/reconciliation/resync", {"channel_id": BIG}, 400, f"the channel “{BIG}” is out of range"),
        ("/inventory/rules/channels/{channel}", {"buffer": "²"}, 400, "“²” is not a whole number, 0 or more."),
        ("/inventory/rules/channels/{channel}", {"buffer": BIG}, 400, f"“{BIG}” is out of range"),
        ("/suppliers/{supplier}/catalog/uploads/1/next", {"offset": "²"}, 404, ""),
    ],
    ids=lambda v: str(v)[:30],
)
async def test_numbers_in_other_forms_are_bounded(world, channel, path, form, status, message):
    url = path.format(channel=channel["id"], supplier=world.supplier_id)
    answer = await world.http.post(url, data=form, headers=world.csrf)
    assert answer.status_code == status
    assert message in text_of(answer)


# JSON bodies ------------------------------------------------------------------------------------------------

JSON_CASES = [
    (b'{"reason": "\xff\xfe"}', "The request body is not JSON: it holds bytes that are not UTF-8 text (0xff)."),
    (b"[" * 10_000 + b"]" * 10_000, "The request body nests JSON too deeply to be read"),
    (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "The request body nests JSON too deeply to be read"),
    (b'{"version": 1e999}', "The request body is not valid JSON: Number out of range"),
    (b'{"version": ', "The request body is not valid JSON: Input data was truncated."),
    (b'{"version": ' + b"9" * 400 + b"}", "Some values were not understood: version."),
]


@pytest.mark.parametrize(
    ("body", "message"), JSON_CASES, ids=["utf-8", "deep-list", "deep-object", "1e999", "cut", "huge"]
)
async def test_an_unreadable_json_body_is_refused_with_a_json_400_and_changes_nothing(world, body, message):
    before = await order_state(world.order_id)
    for action in ("accept", "reject", "cancel", "shipments", f"lines/{world.line_id}/quantity"):
        answer = await world.http.post(
            f"/api/v1/orders/{world.order_id}/{action}",
            content=body,
            headers={**world.api, "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, action
        assert answer.json()["status_code"] == 400
        assert answer.json()["detail"].startswith(message), (action, answer.json())
    assert await order_state(world.order_id) == before
