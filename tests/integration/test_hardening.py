"""What every answer promises a browser, and the smaller doors: log-in redirects, unknown addresses for
visitors, CSRF exclusions, the API schema with a token, and the sandboxes refusing other sites."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import post

from models.accounts.users import create_api_token
from models.db.tables import User
from tests.conftest import csrf_from, import_one, login, make_order, serve_in_test_loop
from web.app import create_app

PAGE_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def assert_page_headers(response) -> None:
    for name, value in PAGE_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name, response.headers.get(name))
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


async def test_every_kind_of_answer_carries_the_security_headers(client, users, channel):
    order_id = await import_one(channel, make_order("HDR-1"))
    assert_page_headers(await client.get("/login"))
    assert_page_headers(await client.get("/orders", follow_redirects=False))  # the redirect to log in
    await login(client, "operator")
    for path in ("/orders", f"/orders/{order_id}", "/orders/export.csv", "/settings", "/no-such-page", "/orders/0"):
        assert_page_headers(await client.get(path))
    assert_page_headers(await client.get("/api/v1/orders"))  # 401 without a token
    static = await client.get("/static/waybill.css")
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in static.headers.get("cache-control", ""), "static files may be cached"


async def test_no_page_carries_inline_script_the_policy_would_block(client, users, channel):
    order_id = await import_one(channel, make_order("HDR-2"))
    await login(client, "admin")
    for path in ("/orders", f"/orders/{order_id}", "/channels/new", "/suppliers/new", "/settings", "/account"):
        page = (await client.get(path)).text
        assert "<script>" not in page and " onchange=" not in page and " onclick=" not in page, path
        assert "<style" not in page and ' style="' not in page, path


async def test_the_log_in_redirect_keeps_the_page_url_encoded(client, users):
    answer = await client.get("/orders?tab=shipped&q=a b&channel=1", follow_redirects=False)
    assert answer.status_code in (302, 303)
    location = answer.headers["location"]
    assert location.startswith("/login?next=%2Forders%3F")
    assert parse_qs(urlsplit(location).query)["next"] == ["/orders?tab=shipped&q=a%20b&channel=1"]


async def test_a_form_post_without_a_session_goes_to_log_in_not_back_to_a_post_only_address(client, users, channel):
    order_id = await import_one(channel, make_order("HDR-3"))
    csrf = csrf_from((await client.get("/login")).text)
    answer = await client.post(f"/orders/{order_id}/accept", data={"_csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code in (302, 303) and answer.headers["location"] == "/login"


async def test_a_visitor_asking_for_an_unknown_address_gets_the_log_in_page(client, users):
    answer = await client.get("/definitely/not/here", follow_redirects=False)
    assert answer.status_code in (302, 303) and answer.headers["location"].startswith("/login?")
    assert "There is nothing" not in (await client.get("/definitely/not/here")).text, "the log-in page instead"
    for below_a_page in ("/orders/abc", "/orders/1/nothing"):
        answer = await client.get(below_a_page, follow_redirects=False)
        assert answer.status_code in (302, 303) and answer.headers["location"].startswith("/login"), below_a_page
    await login(client, "viewer")
    known = await client.get("/definitely/not/here")
    assert known.status_code == 404 and "There is nothing at this address." in known.text
    assert 'aria-label="Main"' in known.text, "a logged-in user keeps the menu"


async def test_an_error_page_for_a_visitor_shows_no_menu(client, users):
    page = await client.post("/login", data={"username": "x", "password": "y"})  # no CSRF token
    assert page.status_code == 403
    assert 'aria-label="Main"' not in page.text and 'href="/settings"' not in page.text


async def test_the_csv_export_names_its_charset_once(client, users, channel):
    await import_one(channel, make_order("HDR-4"))
    await login(client, "viewer")
    export = await client.get("/orders/export.csv")
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"


@post("/orders/test-only/api/echo", sync_to_thread=False)
def echo_under_orders() -> str:
    return "changed"


@post("/settings/test-only/sandbox/echo", sync_to_thread=False)
def echo_under_settings() -> str:
    return "changed"


async def test_csrf_exclusions_hold_only_at_the_start_of_the_path(settings, users):
    app = create_app(settings, extra_route_handlers=[echo_under_orders, echo_under_settings])
    async with serve_in_test_loop(app) as client:
        await login(client, "admin")
        for path in ("/orders/test-only/api/echo", "/settings/test-only/sandbox/echo"):
            refused = await client.post(path, data={})
            assert refused.status_code == 403 and "changed" not in refused.text, path


async def test_the_api_schema_is_readable_with_an_api_token(client, users):
    user = await User.select(User.id).where(User.username == "viewer").first()
    token = await create_api_token(user["id"], "schema reader")
    schema = await client.get("/schema/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "Waybill API"
    wrong = await client.get("/schema/openapi.json", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "A valid API token is required" in wrong.json()["detail"]
    anonymous = await client.get("/schema/openapi.json", follow_redirects=False)
    assert anonymous.status_code in (302, 303) and anonymous.headers["location"].startswith("/login")


async def test_the_schema_marks_a_body_required_only_where_the_api_needs_one(client, users):
    await login(client, "viewer")
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    required = {
        path: operation["requestBody"].get("required", False)
        for path, item in paths.items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert required["/api/v1/orders/{order_id}/accept"] is False
    assert required["/api/v1/orders/{order_id}/ship"] is False
    assert required["/api/v1/orders/{order_id}/mark-paid"] is False
    assert required["/api/v1/orders/{order_id}/reject"] is True, "a rejection needs its reason"
    assert required["/api/v1/orders/{order_id}/deliver"] is True


@pytest.fixture
async def sandbox_client(settings):
    async with serve_in_test_loop(create_app(dataclasses.replace(settings, sandboxes=True))) as client:
        yield client


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)
async def test_the_sandbox_refuses_changes_started_by_another_site(sandbox_client, headers):
    refused = await sandbox_client.post("/sandbox/mirakl/_control/faults", json={"error_rate": 1}, headers=headers)
    assert refused.status_code == 403
    faults = (await sandbox_client.get("/sandbox/mirakl/_control/faults")).json()
    assert faults.get("error_rate", 0) == 0, "nothing was applied"


async def test_the_sandbox_takes_calls_from_programs_and_its_own_pages(sandbox_client):
    for headers in ({}, {"Origin": "http://testserver.local", "Sec-Fetch-Site": "same-origin"}):
        answer = await sandbox_client.post("/sandbox/mirakl/_control/faults", json={"latency_ms": 0}, headers=headers)
        assert answer.status_code in (200, 201), answer.text
