"""Security properties over HTTP: CSRF, cookie flags, log-in throttling, hashed and revocable API tokens,
and channel and supplier credentials encrypted at rest."""

from __future__ import annotations

import html
import re
from http.cookies import SimpleCookie

import httpx
import pytest

from models.db.tables import ALL_TABLES, ApiToken, Channel, LoginAttempt, Order, Supplier
from tests.conftest import TEST_PASSWORD, csrf_from, import_one, login, make_order, serve_in_test_loop
from web.app import create_app
from web.settings import Settings


async def database_text() -> str:
    """Every row of every table, as text: what someone reading the database (or a backup) would see."""
    parts = []
    for table in ALL_TABLES:
        parts.extend(repr(row) for row in await table.select())
    return "\n".join(parts)


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Name → attributes (lower-case keys) of each Set-Cookie header of a response."""
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            attributes = {key.lower(): str(value) for key, value in morsel.items() if value}
            lowered = header.lower()
            attributes["httponly"] = "httponly" in lowered
            attributes["secure"] = "; secure" in lowered
            cookies[name] = attributes
    return cookies


async def login_response(client: httpx.AsyncClient, username: str, password: str = TEST_PASSWORD) -> httpx.Response:
    form = await client.get("/login")
    return await client.post(
        "/login",
        data={"username": username, "password": password, "next": "/orders", "_csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )


# CSRF -----------------------------------------------------------------------------------------------------


async def order_status(order_id: int) -> str:
    return (await Order.select(Order.status).where(Order.id == order_id).first())["status"]


async def test_order_actions_without_a_csrf_token_are_refused_and_change_nothing(client, users, channel):
    order_id = await import_one(channel, make_order("CSRF-1"))
    await login(client, "operator")
    page = await client.get(f"/orders/{order_id}")
    token = csrf_from(page.text)

    plain = await client.post(f"/orders/{order_id}/accept", data={})
    assert plain.status_code == 403
    assert "This form has expired or did not come from Waybill. Reload the page and try again." in plain.text

    htmx = await client.post(f"/orders/{order_id}/accept", headers={"HX-Request": "true"})
    assert htmx.status_code == 403
    assert htmx.headers["hx-retarget"] == "#flash", "htmx shows the refusal in the page's message area"
    assert "Reload the page and try again." in htmx.text

    forged = await client.post(f"/orders/{order_id}/accept", headers={"HX-Request": "true", "X-CSRFToken": "x" * 64})
    assert forged.status_code == 403
    assert await order_status(order_id) == "awaiting_acceptance"

    accepted = await client.post(f"/orders/{order_id}/accept", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 200
    assert await order_status(order_id) == "awaiting_fulfillment"


async def test_a_csrf_token_of_another_browser_is_refused(client, users, channel):
    """A page from the attacker's own session gives a valid-looking token; it must not work with the victim's cookie."""
    order_id = await import_one(channel, make_order("CSRF-2"))
    await login(client, "operator")
    victim = httpx.Cookies(client.cookies)
    client.cookies.clear()
    attacker_token = csrf_from((await client.get("/login")).text)
    client.cookies = victim
    response = await client.post(f"/orders/{order_id}/accept", data={"_csrf_token": attacker_token})
    assert response.status_code == 403
    assert await order_status(order_id) == "awaiting_acceptance"


async def test_the_log_in_form_needs_its_csrf_token(client, users):
    """No log-in forced from another site (login CSRF)."""
    response = await client.post("/login", data={"username": "operator", "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert not client.cookies.get("waybill_session")


# Cookies -------------------------------------------------------------------------------------------------


async def test_session_and_csrf_cookies_are_httponly_and_samesite(client, users):
    csrf = set_cookies(await client.get("/login", follow_redirects=False))
    assert csrf["waybill_csrf"]["httponly"] and csrf["waybill_csrf"]["samesite"].lower() == "lax"
    assert not csrf["waybill_csrf"]["secure"], "plain HTTP unless configured"
    response = await login_response(client, "viewer")
    assert response.status_code in (302, 303)
    session = set_cookies(response)["waybill_session"]
    assert session["httponly"]
    assert session["samesite"].lower() == "lax"
    assert not session["secure"]
    assert session["path"] == "/"


async def test_cookies_are_secure_when_configured_for_https(settings, users):
    secure = Settings(database_url=settings.database_url, secret_key=settings.secret_key, secure_cookies=True)
    app = create_app(secure)
    async with (
        serve_in_test_loop(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://waybill.example") as client,
    ):
        csrf = set_cookies(await client.get("/login", follow_redirects=False))["waybill_csrf"]
        session = set_cookies(await login_response(client, "viewer"))["waybill_session"]
    assert csrf["secure"] and csrf["httponly"]
    assert session["secure"] and session["httponly"] and session["samesite"].lower() == "lax"


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({}, False),
        ({"WAYBILL_PUBLIC_URL": "https://orders.example.com"}, True),
        ({"WAYBILL_PUBLIC_URL": "http://10.0.0.5:8000"}, False),
        ({"WAYBILL_PUBLIC_URL": "https://orders.example.com", "WAYBILL_SECURE_COOKIES": "0"}, False),
        ({"WAYBILL_SECURE_COOKIES": "1"}, True),
    ],
)
def test_an_https_public_url_makes_cookies_secure_unless_told_otherwise(monkeypatch, env, secure):
    for name in ("WAYBILL_PUBLIC_URL", "WAYBILL_SECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().secure_cookies is secure


# Log-in throttling -------------------------------------------------------------------------------------


async def test_the_log_in_form_pauses_a_username_after_five_failures_and_says_for_how_long(client, users):
    for _ in range(5):
        wrong = await login_response(client, "operator", "not-it-at-all")
        assert wrong.status_code == 401
        assert "Wrong username or password." in wrong.text
    paused = await login_response(client, "operator")
    assert paused.status_code == 429
    text = html.unescape(paused.text)
    assert "Too many failed log-in attempts for this username. Log-in is paused: try again in 15 minutes." in text
    assert "If you have forgotten your password, ask an admin." in text
    assert 'role="alert"' in paused.text
    assert 'value="operator"' in paused.text, "the username stays in the form"
    assert not client.cookies.get("waybill_session")


async def test_many_failures_from_one_address_pause_every_username_from_it(client, users):
    for n in range(20):
        assert (await login_response(client, f"guess{n}", "password-guess")).status_code == 401
    paused = await login_response(client, "admin")
    assert paused.status_code == 429
    assert "Too many failed log-in attempts from your network address." in html.unescape(paused.text)
    assert await LoginAttempt.count().where(LoginAttempt.outcome == "failed") == 20, "a paused attempt is not checked"
    assert await LoginAttempt.count().where(LoginAttempt.outcome == "refused") == 1, "but it is on record"


# API tokens ----------------------------------------------------------------------------------------------


async def test_api_tokens_are_stored_only_as_digests_and_revoked_ones_get_401(client, users, channel):
    await import_one(channel, make_order("TOK-1"))
    await login(client, "operator")
    form = csrf_from((await client.get("/settings")).text)
    created = await client.post("/settings/tokens", data={"name": "ERP", "_csrf_token": form})
    token = re.search(r"\bwb_[A-Za-z0-9_\-]{20,}", created.text).group(0)
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/orders", headers=auth)).status_code == 200

    stored = await database_text()
    assert token not in stored
    assert token[3:] not in stored, "not even the random part"
    assert "shown only once" in created.text
    assert token not in (await client.get("/settings")).text, "the settings page never shows it again"

    row = await ApiToken.select().where(ApiToken.name == "ERP").first()
    revoked = await client.post(
        f"/settings/tokens/{row['id']}/revoke", data={"_csrf_token": csrf_from((await client.get("/settings")).text)}
    )
    assert "API token revoked." in revoked.text
    for path in ("/api/v1/orders", "/api/v1/carriers"):
        refused = await client.get(path, headers=auth)
        assert refused.status_code == 401, path
        assert refused.json()["status_code"] == 401


# Credentials at rest --------------------------------------------------------------------------------------


async def test_channel_and_supplier_credentials_are_encrypted_at_rest_and_never_shown(client, users):
    channel_secret = "mirakl-live-key-7f3a9c1e5b"
    supplier_secret = "bigbuy-live-key-2d8e6b4f0a"
    await login(client, "admin")
    token = csrf_from((await client.get("/channels/new")).text)
    await client.post(
        "/channels",
        data={
            "_csrf_token": token,
            "name": "Secret Mirakl",
            "kind": "mirakl",
            "base_url": "https://shop.example.com",
            "cred_api_key": channel_secret,
            "poll_interval_s": "300",
            "handling_days": "2",
            "currency": "EUR",
            "active": "on",
        },
    )
    token = csrf_from((await client.get("/suppliers/new")).text)
    await client.post(
        "/suppliers",
        data={
            "_csrf_token": token,
            "name": "Secret BigBuy",
            "kind": "bigbuy",
            "base_url": "https://api.bigbuy.eu",
            "cred_bigbuy_api_key": supplier_secret,
            "prepaid": "on",
            "active": "on",
        },
    )
    channel = await Channel.select().where(Channel.name == "Secret Mirakl").first()
    supplier = await Supplier.select().where(Supplier.name == "Secret BigBuy").first()
    assert channel and supplier, "both were saved"
    assert channel["credentials"].startswith("enc1:") and supplier["credentials"].startswith("enc1:")
    stored = await database_text()
    for secret in (channel_secret, supplier_secret):
        assert secret not in stored
    for path in (
        f"/channels/{channel['id']}",
        f"/channels/{channel['id']}/edit",
        f"/suppliers/{supplier['id']}",
        f"/suppliers/{supplier['id']}/edit",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert channel_secret not in page.text and supplier_secret not in page.text, path


# Hostile marketplace data ---------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "'; DROP TABLE orders; --",
    "1' OR '1'='1",
    "%_\\",
    "\u202etxt.exe",
    "zero\u200bwidth",
    "Z\u0334\u0327a\u0338",
    "📦🚚",
    "nul\x00byte",
    "W" * 5_000,
]


async def test_nul_is_dropped_from_text_and_refused_in_identifiers(channel):
    from models.channels.importing import import_orders
    from models.core.actors import Actor

    clean = make_order("NUL-1", last_name="Dvo\x00řák")
    clean.lines[0].title = "Mug\x00"
    broken = make_order("NUL-\x002")
    result = await import_orders(channel, [clean, broken], Actor.channel(channel["name"]))
    assert [order_id for order_id, _ in result.failed] == ["NUL-\x002"]
    assert "contains a NUL character" in result.failed[0][1]
    stored = await Order.select().where(Order.channel_order_id == "NUL-1").first()
    assert stored["customer_last_name"] == "Dvořák"
    assert await Order.count() == 1


async def test_search_with_hostile_strings_errs_nowhere(client, users, channel):
    order = make_order("HOSTILE-1", last_name=HOSTILE[0], first_name=HOSTILE[4])
    order.lines[0].title = HOSTILE[1]
    await import_one(channel, order)
    await login(client, "operator")
    form = csrf_from((await client.get("/settings")).text)
    created = await client.post("/settings/tokens", data={"name": "search", "_csrf_token": form})
    auth = {"Authorization": "Bearer " + re.search(r"\bwb_[A-Za-z0-9_\-]{20,}", created.text).group(0)}
    for text in HOSTILE:
        for path, headers in (
            ("/orders", {}),
            ("/orders", {"HX-Request": "true", "HX-Target": "results"}),
            ("/orders/export.csv", {}),
            ("/api/v1/orders", auth),
        ):
            response = await client.get(path, params={"q": text, "tab": "all"}, headers=headers)
            assert response.status_code == 200, (path, text[:30], response.status_code)
            assert "<script>alert" not in response.text or path.endswith(".csv") or path.startswith("/api/")
    found = await client.get("/api/v1/orders", params={"q": "script"}, headers=auth)
    assert [o["channel_order_id"] for o in found.json()["orders"]] == ["HOSTILE-1"]


async def test_a_nul_in_typed_text_is_never_a_server_error(client, users, channel):
    """PostgreSQL cannot store NUL: the change is refused with a message and nothing changes; SQLite keeps it."""
    order_id = await import_one(channel, make_order("NUL-FORM"))
    await login(client, "operator")
    token = csrf_from((await client.get(f"/orders/{order_id}")).text)
    response = await client.post(f"/orders/{order_id}/cancel", data={"reason": "bad\x00reason", "_csrf_token": token})
    assert response.status_code in (200, 422), response.status_code
    if response.status_code == 422:
        assert "NUL character" in html.unescape(response.text)
        assert await order_status(order_id) == "awaiting_acceptance"
