"""The app over HTTP: pages vs htmx fragments, auth, CSRF and role refusals, search, paging, export, API."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from litestar import get

from models.channels.importing import import_orders
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import ApiToken, Carrier, Channel, Order, OrderLine, User
from models.fulfilment.shipping import add_shipment
from models.orders.acceptance import accept_order
from models.orders.closing import cancel_order
from tests.conftest import TEST_PASSWORD, csrf_from, import_one, login, make_order, serve_in_test_loop
from web.app import create_app
from web.pages import forget_timezone

ORDER_LINK = re.compile(r'href="/orders/(\d+)"')


@pytest.fixture(autouse=True)
def fresh_timezone_cache():
    """The merchant's time zone is cached per process; each test has its own database."""
    forget_timezone()
    yield
    forget_timezone()


def order_ids_in(page: str) -> list[int]:
    return [int(x) for x in ORDER_LINK.findall(page)]


def next_link(page: str) -> str | None:
    match = re.search(r'rel="next" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


async def logged_in(client: httpx.AsyncClient, username: str) -> httpx.AsyncClient:
    await login(client, username)
    return client


async def page_csrf(client: httpx.AsyncClient, path: str = "/settings") -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


async def add_channel(name: str) -> dict:
    await Channel.insert(Channel(name=name, kind="demo", created_at=now()))
    return await Channel.select().where(Channel.name == name).first()


# Health and anonymous access ------------------------------------------------------------------------


async def test_healthz_answers_json_without_login(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "path",
    ["/orders", "/orders/1", "/orders/badge", "/orders/export.csv", "/settings", "/channels", "/suppliers", "/"],
)
async def test_anonymous_pages_redirect_to_login(client, path):
    response = await client.get(path, follow_redirects=False)
    assert response.status_code in (302, 303, 307), (path, response.status_code)
    location = response.headers["location"]
    assert location.startswith("/login")
    if path != "/":
        assert location == "/login?" + urlencode({"next": path})


async def test_after_login_the_user_returns_to_the_page_asked_for(client, users):
    response = await client.get("/orders?tab=processing", follow_redirects=False)
    target = response.headers["location"]
    form = await client.get(target)
    assert 'name="next" value="/orders?tab=processing"' in form.text
    answer = await client.post(
        "/login",
        data={
            "username": "viewer",
            "password": TEST_PASSWORD,
            "next": "/orders?tab=processing",
            "_csrf_token": csrf_from(form.text),
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/orders?tab=processing"


async def test_login_never_redirects_to_another_site(client, users):
    form = await client.get("/login")
    answer = await client.post(
        "/login",
        data={
            "username": "viewer",
            "password": TEST_PASSWORD,
            "next": "//evil.example/",
            "_csrf_token": csrf_from(form.text),
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/orders"


async def test_anonymous_htmx_request_is_sent_to_login(client):
    response = await client.get(
        "/orders", headers={"HX-Request": "true", "HX-Target": "results"}, follow_redirects=False
    )
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login"


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders/1"])
@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic dmlld2VyOnB3", "Bearer "])
async def test_api_without_valid_token_is_401_json(client, path, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.get(path, headers=headers, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status_code"] == 401
    assert "Bearer" in body["detail"]


async def test_api_ignores_the_session_cookie(client, users):
    await login(client, "admin")
    response = await client.get("/api/v1/orders")
    assert response.status_code == 401


async def test_login_page_is_public_and_labelled(client):
    response = await client.get("/login")
    assert response.status_code == 200
    assert '<label for="username">Username</label>' in response.text
    assert '<label for="password">Password</label>' in response.text
    assert ">Log in</button>" in response.text


# Login, throttling, logout ----------------------------------------------------------------------------


async def post_login(client: httpx.AsyncClient, username: str, password: str):
    form = await client.get("/login")
    return await client.post(
        "/login",
        data={"username": username, "password": password, "next": "/orders", "_csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )


async def test_wrong_password_is_refused_with_a_clear_message(client, users):
    response = await post_login(client, "operator", "not-the-password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert 'value="operator"' in response.text, "the username is kept"
    assert "not-the-password" not in response.text, "the password is never echoed"
    assert (await client.get("/orders", follow_redirects=False)).status_code in (302, 303, 307)


async def test_unknown_user_gets_the_same_message(client, users):
    response = await post_login(client, "nobody", "whatever-123")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text


async def test_login_is_throttled_after_five_failures_even_with_the_right_password(client, users):
    for _ in range(5):
        assert (await post_login(client, "operator", "wrong-password")).status_code == 401
    response = await post_login(client, "operator", TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-in attempts for this username. Log-in is paused: try again in 15 minutes." in (
        response.text
    )
    assert 800 < int(response.headers["retry-after"]) <= 900
    assert (await client.get("/orders", follow_redirects=False)).status_code in (302, 303, 307)
    # Another user is not locked out by it.
    assert (await post_login(client, "viewer", TEST_PASSWORD)).status_code in (302, 303)


async def test_a_successful_login_clears_earlier_failures(client, users):
    for _ in range(4):
        await post_login(client, "operator", "wrong-password")
    assert (await post_login(client, "operator", TEST_PASSWORD)).status_code in (302, 303)
    for _ in range(4):
        await post_login(client, "operator", "wrong-password")
    assert (await post_login(client, "operator", TEST_PASSWORD)).status_code in (302, 303)


async def test_logout_needs_csrf_and_then_ends_the_session(client, users):
    await login(client, "operator")
    refused = await client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert "Reload the page and try again" in refused.text
    assert (await client.get("/orders")).status_code == 200, "still logged in after the refused logout"

    token = await page_csrf(client, "/orders")
    done = await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert done.status_code in (302, 303)
    assert done.headers["location"] == "/login"
    assert (await client.get("/orders", follow_redirects=False)).status_code in (302, 303, 307)


async def test_post_with_a_forged_csrf_token_is_refused(client, users):
    await login(client, "operator")
    response = await client.post("/settings/tokens", data={"name": "x", "_csrf_token": "forged"})
    assert response.status_code == 403
    assert await ApiToken.count() == 0


async def test_settings_token_without_csrf_is_refused(client, users):
    await login(client, "operator")
    response = await client.post("/settings/tokens", data={"name": "script"})
    assert response.status_code == 403
    assert await ApiToken.count() == 0


async def test_htmx_post_with_csrf_header_is_accepted(client, users):
    await login(client, "operator")
    token = await page_csrf(client)
    response = await client.post("/settings/tokens", data={"name": "via htmx"}, headers={"X-CSRFToken": token})
    assert response.status_code in (200, 201)
    assert await ApiToken.count() == 1


# Roles --------------------------------------------------------------------------------------------


ADMIN_ONLY = [
    ("/settings/timezone", {"timezone": "Europe/Prague"}),
    ("/settings/users", {"username": "mallory", "password": "long-enough-pw", "role": "admin"}),
]
OPERATOR_OR_ADMIN = [("/settings/tokens", {"name": "cli"})]


async def state_of_settings() -> tuple:
    from models.core.app_settings import get_setting

    return await User.count(), await ApiToken.count(), await get_setting("timezone", "")


@pytest.mark.parametrize(("path", "form"), ADMIN_ONLY + OPERATOR_OR_ADMIN)
async def test_viewer_cannot_change_anything(client, users, path, form):
    await login(client, "viewer")
    before = await state_of_settings()
    response = await client.post(path, data={**form, "_csrf_token": await page_csrf(client)})
    assert response.status_code == 403
    assert "viewer" in response.text
    assert await state_of_settings() == before


async def test_viewer_cannot_revoke_a_token(client, users):
    viewer_id = (await User.select(User.id).where(User.username == "viewer").first())["id"]
    from models.accounts.users import create_api_token

    await create_api_token(viewer_id, "old")
    await login(client, "viewer")
    token_id = (await ApiToken.select(ApiToken.id).first())["id"]
    response = await client.post(f"/settings/tokens/{token_id}/revoke", data={"_csrf_token": await page_csrf(client)})
    assert response.status_code == 403
    assert (await ApiToken.select().first())["revoked_at"] is None


@pytest.mark.parametrize(("path", "form"), ADMIN_ONLY)
async def test_operator_cannot_do_admin_things(client, users, path, form):
    await login(client, "operator")
    before = await state_of_settings()
    response = await client.post(path, data={**form, "_csrf_token": await page_csrf(client)})
    assert response.status_code == 403
    assert "Only admins can do this; your role is operator." in response.text
    assert await state_of_settings() == before


async def test_admin_can_add_users_and_set_the_time_zone(client, users):
    await login(client, "admin")
    response = await client.post(
        "/settings/users",
        data={
            "username": "newbie",
            "password": "long-enough-pw",
            "role": "viewer",
            "_csrf_token": await page_csrf(client),
        },
    )
    assert response.status_code == 200
    assert "User newbie created." in response.text
    assert await User.exists().where((User.username == "newbie") & (User.role == "viewer"))
    response = await client.post(
        "/settings/timezone", data={"timezone": "Europe/Prague", "_csrf_token": await page_csrf(client)}
    )
    assert response.status_code == 200
    assert "Time zone saved." in response.text
    bad = await client.post(
        "/settings/timezone", data={"timezone": "Mars/Base", "_csrf_token": await page_csrf(client)}
    )
    assert bad.status_code == 400
    assert "is not a known time zone" in html.unescape(bad.text)


async def test_viewer_sees_pages(client, users, channel):
    order_id = await import_one(channel, make_order("V-1"))
    await login(client, "viewer")
    for path in ("/orders", f"/orders/{order_id}", "/settings", "/channels", "/suppliers", "/connection-issues"):
        assert (await client.get(path)).status_code == 200, path


# Dashboard: full page vs fragment, badge --------------------------------------------------------------


async def test_htmx_results_request_gets_only_the_fragment(client, users, channel):
    order_id = await import_one(channel, make_order("F-1"))
    await login(client, "viewer")
    full = await client.get("/orders")
    assert full.status_code == 200
    assert full.text.lstrip().lower().startswith("<!doctype html>")
    assert "<html" in full.text and 'id="results"' in full.text and "<nav" in full.text
    assert order_ids_in(full.text) == [order_id]

    partial = await client.get("/orders", headers={"HX-Request": "true", "HX-Target": "results"})
    assert partial.status_code == 200
    assert "<html" not in partial.text.lower()
    assert "<body" not in partial.text.lower()
    assert partial.text.lstrip().startswith('<section id="results"')
    assert order_ids_in(partial.text) == [order_id]

    # An htmx request aimed elsewhere still gets the full page.
    other = await client.get("/orders", headers={"HX-Request": "true", "HX-Target": "main"})
    assert "<html" in other.text


async def test_tabs_show_counts_and_filter(client, users, channel):
    waiting = await import_one(channel, make_order("T-1"))
    review = await import_one(channel, make_order("T-2", last_name=""))
    accepted = await import_one(channel, make_order("T-3"))
    await accept_order(accepted, Actor.user("operator"))
    await login(client, "viewer")
    response = await client.get("/orders?tab=pending_review")
    assert order_ids_in(response.text) == [review]
    assert "Missing surname" in response.text
    response = await client.get("/orders?tab=awaiting_acceptance")
    assert order_ids_in(response.text) == [waiting]
    response = await client.get("/orders?tab=all")
    assert sorted(order_ids_in(response.text)) == sorted([waiting, review, accepted])
    text = re.sub(r"\s+", " ", response.text)
    assert re.search(r"Pending review <span class=\"count\">1</span>", text)
    assert re.search(r"All <span class=\"count\">3</span>", text)


async def test_unknown_tab_falls_back_to_all_with_a_warning(client, users, channel):
    await import_one(channel, make_order("T-9"))
    await login(client, "viewer")
    response = await client.get("/orders?tab=bogus")
    assert response.status_code == 200
    assert "Unknown tab" in html.unescape(response.text)
    assert len(order_ids_in(response.text)) == 1


@pytest.mark.parametrize(("pending", "label"), [(1, "1 order pending review"), (3, "3 orders pending review")])
async def test_badge_fragment_and_its_accessible_label(client, users, channel, pending, label):
    for i in range(pending):
        await import_one(channel, make_order(f"R-{i}", last_name=""))
    await import_one(channel, make_order("OK-1"))
    await login(client, "viewer")
    response = await client.get("/orders/badge", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text.lower()
    assert response.text.lstrip().startswith("<a")
    assert 'id="nav-orders"' in response.text
    assert f'aria-label="Orders, {label}"' in response.text
    assert "red-dot" in response.text
    full = await client.get("/orders")
    assert f'aria-label="Orders, {label}"' in full.text


async def test_badge_without_pending_orders_has_no_dot(client, users, channel):
    order_id = await import_one(channel, make_order("R-1", last_name=""))
    await cancel_order(order_id, Actor.user("operator"), "customer asked")
    await login(client, "viewer")
    response = await client.get("/orders/badge")
    assert "red-dot" not in response.text
    assert "pending review" not in response.text


# Order page -------------------------------------------------------------------------------------------


async def test_order_page_shows_the_order(client, users, channel):
    order_id = await import_one(channel, make_order("P-1", postcode="7500"))
    await login(client, "viewer")
    response = await client.get(f"/orders/{order_id}")
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "Order P-1" in text
    assert "Dvořák" in text
    assert "SKU-1" in text and "SKU-2" in text
    assert "Invalid postcode" in text
    assert "Audit trail" in text
    assert "Imported from Test Marketplace" in text


@pytest.mark.parametrize("path", ["/orders/999999", "/orders/0"])
async def test_unknown_order_is_a_404_page(client, users, path):
    await login(client, "viewer")
    response = await client.get(path)
    assert response.status_code == 404
    assert "<html" in response.text
    assert "Not found" in response.text
    assert "does not exist" in response.text
    assert "Back to orders" in response.text


async def test_unknown_address_is_a_404_page(client, users):
    await login(client, "viewer")
    response = await client.get("/orders/not-a-number")
    assert response.status_code == 404
    assert "<html" in response.text


async def test_api_unknown_order_is_a_404_json(client, users):
    token = await create_token_via_settings(client, "operator")
    response = await client.get("/api/v1/orders/424242", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.json()["detail"] == "Order 424242 does not exist."


async def test_marketplace_text_is_escaped_everywhere(client, users, channel):
    script = "<script>alert('x')</script>"
    incoming = make_order(
        "XSS-<b>1</b>",
        last_name=script,
        first_name='"><img src=x onerror=alert(1)>',
        street=script,
        lines=[("SKU-<i>", 1, 100)],
    )
    incoming.lines[0].title = script
    order_id = await import_one(channel, incoming)
    await login(client, "viewer")
    for path in (f"/orders/{order_id}", "/orders", "/orders?tab=all&q=xss"):
        response = await client.get(path)
        assert response.status_code == 200
        assert "<script>alert" not in response.text, path
        assert "<img src=x" not in response.text, path
        assert "<b>1</b>" not in response.text, path
        assert "<i>" not in response.text, path
        assert "&lt;script&gt;alert(" in response.text, path
    partial = await client.get("/orders", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<script>alert" not in partial.text
    assert "&lt;script&gt;" in partial.text


# Search, filters, pagination, export --------------------------------------------------------------------


@pytest.fixture
async def searchable(channel) -> dict[str, int]:
    ids = {
        "dvorak": await import_one(channel, make_order("S-100", last_name="Dvořák", first_name="Antonín")),
        "muller": await import_one(
            channel, make_order("S-200", last_name="Müller", first_name="Jürgen", lines=[("MUG-RED", 1, 900)])
        ),
        "smith": await import_one(
            channel, make_order("S-300", last_name="Smith", first_name="Anna", lines=[("BOOK-42", 1, 1500)])
        ),
    }
    await accept_order(ids["smith"], Actor.user("operator"))
    await Carrier.insert(Carrier(name="UPS", code="ups"))
    carrier = await Carrier.select().first()
    line = await OrderLine.select().where(OrderLine.order == ids["smith"]).first()
    await add_shipment(
        ids["smith"],
        {line["id"]: 1},
        Actor.user("operator"),
        carrier_id=carrier["id"],
        tracking_number="1Z999AA10123456784",
    )
    return ids


SEARCHES = [
    ("dvorak", ["dvorak"]),
    ("Dvořák", ["dvorak"]),
    ("DVORAK", ["dvorak"]),
    ("dvo", ["dvorak"]),
    ("antonin", ["dvorak"]),
    ("muller", ["muller"]),
    ("MÜLLER", ["muller"]),
    ("jurgen muller", ["muller"]),
    ("S-200", ["muller"]),
    ("s-300", ["smith"]),
    ("mug-red", ["muller"]),
    ("book", ["smith"]),
    ("1Z999AA10123456784", ["smith"]),
    ("1z999aa", ["smith"]),
    ("s", ["dvorak", "muller", "smith"]),
    ("nobody", []),
    ("dvorak smith", []),
]


async def test_search_by_order_id_customer_name_sku_and_tracking_number(client, users, searchable):
    await login(client, "viewer")
    for query, expected in SEARCHES:
        response = await client.get("/orders", params={"q": query})
        assert response.status_code == 200
        found = sorted(order_ids_in(response.text))
        assert found == sorted(searchable[name] for name in expected), query
        if not expected:
            assert "Nothing matches these filters" in response.text, query


async def test_search_over_the_api(client, users, searchable):
    token = await create_token_via_settings(client, "operator")
    response = await client.get("/api/v1/orders", params={"q": "dvorak"}, headers={"Authorization": f"Bearer {token}"})
    assert [o["id"] for o in response.json()["orders"]] == [searchable["dvorak"]]


async def test_filter_by_channel_and_date_range(client, users, channel):
    shop = await add_channel("Web shop")
    # Merchant time zone is Europe/Paris (UTC+1 in March): 23:30 UTC on the 10th is the 11th there.
    day = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
    ids = {
        "mk_10": await import_one(channel, make_order("C-1", placed_at=day - dt.timedelta(hours=2))),
        "mk_11": await import_one(channel, make_order("C-2", placed_at=day)),
        "shop_11": await import_one(shop, make_order("C-3", placed_at=day + dt.timedelta(hours=1))),
        "shop_12": await import_one(shop, make_order("C-4", placed_at=day + dt.timedelta(days=1))),
    }
    await login(client, "viewer")

    async def shown(**params) -> set[str]:
        response = await client.get("/orders", params=params)
        assert response.status_code == 200
        found = set(order_ids_in(response.text))
        return {name for name, order_id in ids.items() if order_id in found}

    assert await shown(channel=str(channel["id"])) == {"mk_10", "mk_11"}
    assert await shown(channel=str(shop["id"])) == {"shop_11", "shop_12"}
    assert await shown(**{"from": "2026-03-11", "to": "2026-03-11"}) == {"mk_11", "shop_11"}
    assert await shown(**{"from": "2026-03-11"}) == {"mk_11", "shop_11", "shop_12"}
    assert await shown(to="2026-03-10") == {"mk_10"}
    assert await shown(channel=str(shop["id"]), **{"from": "2026-03-12"}) == {"shop_12"}
    response = await client.get("/orders", params={"from": "11/03/2026"})
    assert "is not a date (use YYYY-MM-DD)" in html.unescape(response.text)


async def import_many(channel: dict, count: int, *, prefix: str = "N", same_time_every: int = 3) -> list[int]:
    """`count` orders; groups of `same_time_every` share a placement time to test keyset tie-breaks."""
    base = dt.datetime(2026, 2, 1, 8, tzinfo=dt.UTC)
    orders = [
        make_order(
            f"{prefix}-{i:04d}",
            placed_at=base + dt.timedelta(minutes=i // same_time_every),
            last_name="Nováková" if i % 2 else "Svoboda",
        )
        for i in range(count)
    ]
    result = await import_orders(channel, orders)
    assert result.created == count
    rows = await Order.select(Order.id).order_by(Order.id)
    return [r["id"] for r in rows]


async def test_keyset_pagination_follows_next_links_without_gaps_or_duplicates(client, users, channel):
    all_ids = await import_many(channel, 137)
    await login(client, "viewer")
    seen: list[int] = []
    url: str | None = "/orders"
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        on_page = order_ids_in(response.text)
        assert 0 < len(on_page) <= 50
        seen.extend(on_page)
        url = next_link(response.text)
        pages += 1
        assert pages < 10
    assert pages == 3
    assert len(seen) == len(set(seen)) == 137
    assert set(seen) == set(all_ids)
    placed = {r["id"]: (r["placed_at"], r["id"]) for r in await Order.select(Order.id, Order.placed_at)}
    keys = [placed[i] for i in seen]
    assert keys == sorted(keys, reverse=True), "newest first, ties broken by id"


async def test_pagination_keeps_filters(client, users, channel):
    await import_many(channel, 120)
    await login(client, "viewer")
    seen: list[int] = []
    url: str | None = "/orders?q=novakova"
    while url:
        response = await client.get(url, headers={"HX-Request": "true", "HX-Target": "results"})
        seen.extend(order_ids_in(response.text))
        url = next_link(response.text)
        if url:
            assert "q=novakova" in url
    expected = {r["id"] for r in await Order.select(Order.id).where(Order.ship_last_name == "Nováková")}
    assert len(seen) == len(expected) == 60
    assert set(seen) == expected


async def test_a_malformed_cursor_shows_the_first_page(client, users, channel):
    await import_many(channel, 3)
    await login(client, "viewer")
    response = await client.get("/orders", params={"cursor": "not-a-cursor"})
    assert response.status_code == 200
    assert len(order_ids_in(response.text)) == 3


def parse_csv(body: str) -> list[dict[str, str]]:
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


async def test_csv_export_contains_exactly_the_filtered_rows(client, users, channel):
    shop = await add_channel("Web shop")
    await import_many(channel, 1_030, same_time_every=7)  # more than one export batch
    await import_one(shop, make_order("OTHER-1", last_name="Nováková"))
    await import_one(channel, make_order("REVIEW-1", last_name="Nováková", postcode="1"))
    await login(client, "viewer")

    response = await client.get("/orders/export.csv", params={"channel": str(channel["id"]), "q": "novakova"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = parse_csv(response.text)
    expected = await Order.select(Order.channel_order_id).where(
        (Order.channel == channel["id"]) & (Order.ship_last_name == "Nováková")
    )
    assert len(rows) == len(expected) == 516
    assert sorted(r["Channel order id"] for r in rows) == sorted(r["channel_order_id"] for r in expected)
    assert len({r["Channel order id"] for r in rows}) == len(rows)
    assert {r["Channel"] for r in rows} == {"Test Marketplace"}
    review = next(r for r in rows if r["Channel order id"] == "REVIEW-1")
    assert review["Status"] == "Pending review"
    assert "Invalid postcode" in review["Review reasons"]

    tab = parse_csv((await client.get("/orders/export.csv", params={"tab": "pending_review"})).text)
    assert [r["Channel order id"] for r in tab] == ["REVIEW-1"]
    everything = parse_csv((await client.get("/orders/export.csv")).text)
    assert len(everything) == 1_032


async def test_csv_export_row_content(client, users, channel):
    await import_one(
        channel,
        make_order(
            "E-1",
            placed_at=dt.datetime(2026, 7, 1, 22, 15, tzinfo=dt.UTC),
            lines=[("SKU-A", 2, 1990), ("SKU-B", 1, 4500)],
            payment_method="on_account",
        ),
    )
    await login(client, "viewer")
    (row,) = parse_csv((await client.get("/orders/export.csv")).text)
    assert row["Channel order id"] == "E-1"
    assert row["Placed at"] == "2026-07-02 00:15"  # Europe/Paris, summer time
    assert row["Customer"] == "Zoë Dvořák"
    assert row["Items"] == "3"
    assert row["SKUs"] == "SKU-A SKU-B"
    assert row["Total"] == "84.80"
    assert row["Currency"] == "EUR"
    assert row["Payment"] == "unpaid"


async def test_csv_export_never_lets_marketplace_text_run_as_a_formula(client, users, channel):
    await import_one(channel, make_order("F-1", first_name='=HYPERLINK("http://evil")', last_name="@SUM(A1)"))
    await login(client, "viewer")
    (row,) = parse_csv((await client.get("/orders/export.csv")).text)
    assert row["Customer"] == '\'=HYPERLINK("http://evil") @SUM(A1)'
    assert row["Channel order id"] == "F-1"


# JSON API -------------------------------------------------------------------------------------------------


async def create_token_via_settings(client: httpx.AsyncClient, username: str, name: str = "integration") -> str:
    await login(client, username)
    response = await client.post("/settings/tokens", data={"name": name, "_csrf_token": await page_csrf(client)})
    assert response.status_code == 200, response.text
    assert "shown only once" in response.text
    match = re.search(r"\bwb_[A-Za-z0-9_\-]{20,}", response.text)
    assert match, "the new token is shown"
    return match.group(0)


async def test_api_with_a_token_created_on_the_settings_page(client, users, channel):
    order_id = await import_one(channel, make_order("API-1", last_name=""))
    await import_one(channel, make_order("API-2"))
    token = await create_token_via_settings(client, "operator")
    stored = await ApiToken.select().first()
    assert stored["token_hash"] != token and token not in str(stored), "only a digest is stored"
    client.cookies.clear()  # the API must work on the token alone
    auth = {"Authorization": f"Bearer {token}"}

    listing = await client.get("/api/v1/orders", headers=auth)
    assert listing.status_code == 200
    body = listing.json()
    assert {o["channel_order_id"] for o in body["orders"]} == {"API-1", "API-2"}
    assert body["next_cursor"] is None
    reasons = {o["channel_order_id"]: o["review_reasons"] for o in body["orders"]}
    assert reasons["API-1"] and reasons["API-1"][0].startswith("Missing surname")

    review = await client.get("/api/v1/orders", params={"tab": "pending_review"}, headers=auth)
    assert [o["id"] for o in review.json()["orders"]] == [order_id]

    detail = await client.get(f"/api/v1/orders/{order_id}", headers=auth)
    assert detail.status_code == 200
    order = detail.json()
    assert order["channel_order_id"] == "API-1"
    assert order["status"] == "pending_review"
    assert order["channel_name"] == "Test Marketplace"
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in order["lines"]] == [
        ("SKU-1", 2, "19.90"),
        ("SKU-2", 1, "45.00"),
    ]
    assert [i["code"] for i in order["review_issues"]] == ["missing_surname"]
    assert [e["kind"] for e in order["events"]] == ["review_issue_opened", "imported"]  # newest first
    assert order["events"][0]["actor"] == "channel: Test Marketplace"
    assert order["shipments"] == []

    last_used = (await ApiToken.select(ApiToken.last_used_at).first())["last_used_at"]
    assert last_used is not None


async def test_api_pagination_by_cursor(client, users, channel):
    all_ids = await import_many(channel, 25)
    token = (
        await create_token_via_settings(client, "viewer-ish")
        if False
        else await create_token_via_settings(client, "operator")
    )
    auth = {"Authorization": f"Bearer {token}"}
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/api/v1/orders", params=params, headers=auth)).json()
        seen.extend(o["id"] for o in body["orders"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == set(all_ids)
    too_big = await client.get("/api/v1/orders", params={"limit": "1000"}, headers=auth)
    assert too_big.status_code == 400


async def test_viewer_cannot_create_a_token(client, users):
    await login(client, "viewer")
    response = await client.post("/settings/tokens", data={"name": "x", "_csrf_token": await page_csrf(client)})
    assert response.status_code == 403
    assert await ApiToken.count() == 0


async def test_a_revoked_token_is_refused(client, users, channel):
    await import_one(channel, make_order("REV-1"))
    token = await create_token_via_settings(client, "operator")
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/orders", headers=auth)).status_code == 200

    settings_page = await client.get("/account")
    token_id = int(re.search(r'action="/settings/tokens/(\d+)/revoke"', settings_page.text).group(1))
    revoked = await client.post(
        f"/settings/tokens/{token_id}/revoke", data={"_csrf_token": csrf_from(settings_page.text)}
    )
    assert revoked.status_code == 200
    assert "API token revoked." in revoked.text
    response = await client.get("/api/v1/orders", headers=auth)
    assert response.status_code == 401
    assert (await client.get("/api/v1/orders/1", headers=auth)).status_code == 401


async def test_a_token_of_a_deactivated_user_is_refused(client, users):
    token = await create_token_via_settings(client, "operator")
    await User.update({User.active: False}).where(User.username == "operator")
    assert (await client.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_a_user_cannot_revoke_someone_elses_token(client, users):
    admin_token = await create_token_via_settings(client, "admin")
    admin_token_id = (await ApiToken.select(ApiToken.id).first())["id"]
    client.cookies.clear()
    await login(client, "operator")
    refused = await client.post(
        f"/settings/tokens/{admin_token_id}/revoke", data={"_csrf_token": await page_csrf(client)}
    )
    assert refused.status_code == 404 and "revoked" not in refused.text.lower()
    assert (await ApiToken.select().first())["revoked_at"] is None
    assert (await client.get("/api/v1/orders", headers={"Authorization": f"Bearer {admin_token}"})).status_code == 200


async def test_openapi_schema_documents_the_orders_api(client, users):
    await login(client, "viewer")
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert "get" in paths["/api/v1/orders"]
    assert "get" in paths["/api/v1/orders/{order_id}"]
    parameters = {p["name"] for p in paths["/api/v1/orders"]["get"]["parameters"]}
    assert {"tab", "q", "channel", "supplier", "from", "to", "cursor", "limit"} <= parameters
    assert not any(path.startswith(("/orders", "/settings", "/login")) for path in paths), "pages stay out of the API"
    assert "Bearer" in schema["info"]["description"]


# Refusals reach the merchant as messages, not errors ------------------------------------------------------


@get("/test-only/cancel/{order_id:int}", sync_to_thread=False)
async def cancel_via_http(order_id: int) -> dict:
    await cancel_order(order_id, Actor.user("operator"), "customer asked")
    return {"ok": True}


@get("/api/test-only/cancel/{order_id:int}", sync_to_thread=False)
async def cancel_via_api(order_id: int) -> dict:
    await cancel_order(order_id, Actor.user("operator"), "customer asked")
    return {"ok": True}


@pytest.fixture
async def app_client(settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, extra_route_handlers=[cancel_via_http, cancel_via_api])
    async with serve_in_test_loop(app) as test_client:
        yield test_client


async def test_a_refused_transition_is_a_clear_message_in_page_and_api(app_client, users, channel):
    order_id = await import_one(channel, make_order("RT-1"))
    await cancel_order(order_id, Actor.user("operator"), "customer asked")
    await login(app_client, "operator")
    page = await app_client.get(f"/test-only/cancel/{order_id}")
    assert page.status_code == 422
    assert "Cancel order: the order is already cancelled." in page.text
    assert "<html" in page.text

    fragment = await app_client.get(f"/test-only/cancel/{order_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 422
    assert "<html" not in fragment.text
    assert "already cancelled" in fragment.text

    token = await create_token_via_settings(app_client, "operator")
    api = await app_client.get(f"/api/test-only/cancel/{order_id}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 422
    assert api.json() == {"status_code": 422, "detail": "Cancel order: the order is already cancelled."}
