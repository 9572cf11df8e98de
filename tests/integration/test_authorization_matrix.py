"""Every route of the app × anonymous, viewer, operator and admin: who gets in and who is turned away.

The routes are read from the app itself, so a new route without a line in `MATRIX` fails the suite
until someone decides who may use it.

Refusals: an anonymous visitor is sent to the log-in page (pages) or answered 401 (the API); a signed-in
user whose role is too low is answered 403. Anything else (200, a redirect elsewhere, 400/404/409/422 from
the handler itself) means the request got past authentication and the role guards.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from litestar import Litestar

from models.accounts.users import create_api_token
from models.db.tables import ApiToken, Carrier, OrderLine, RawPayload, User
from tests.conftest import csrf_from, import_one, login, make_order, serve_in_test_loop
from tests.integration.support import add_supplier
from web.app import create_app

PUBLIC, SIGNED_IN, OPERATOR, ADMIN = 0, 1, 2, 3
RANK = {"anonymous": 0, "viewer": 1, "operator": 2, "admin": 3}
ROLES = tuple(RANK)

#: (method, route path as the app declares it) → the least role allowed. Viewers see everything and change
#: nothing; operators work on orders, suppliers' catalogs and mappings; admins add and edit users, channels,
#: suppliers, carriers and the time zone.
MATRIX: dict[tuple[str, str], int] = {
    # Public: logging in, health checks for load balancers, static files.
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    # The log-in's second step: only a log-in waiting for its code (its own token in the cookie) gets further.
    ("GET", "/login/code"): PUBLIC,
    ("POST", "/login/code"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/static/{file_path:path}"): PUBLIC,
    ("HEAD", "/static/{file_path:path}"): PUBLIC,
    # Addresses nothing else answers: log in first, then a not-found page.
    **{(method, "/{unknown:path}"): SIGNED_IN for method in ("GET", "POST", "PUT", "PATCH", "DELETE")},
    # Signed in, any role: reading.
    ("GET", "/"): SIGNED_IN,
    ("GET", "/orders"): SIGNED_IN,
    ("GET", "/orders/badge"): SIGNED_IN,
    ("GET", "/orders/export.csv"): SIGNED_IN,
    ("GET", "/orders/{order_id:int}"): SIGNED_IN,
    ("GET", "/orders/{order_id:int}/payloads/{payload_id:int}"): SIGNED_IN,
    ("GET", "/orders/{order_id:int}/address"): SIGNED_IN,
    ("GET", "/orders/{order_id:int}/audit"): SIGNED_IN,
    ("GET", "/channels"): SIGNED_IN,
    ("GET", "/channels/{channel_id:int}"): SIGNED_IN,
    ("GET", "/suppliers"): SIGNED_IN,
    ("GET", "/suppliers/{supplier_id:int}"): SIGNED_IN,
    ("GET", "/suppliers/{supplier_id:int}/catalog"): SIGNED_IN,
    ("GET", "/suppliers/{supplier_id:int}/shipping-mappings"): SIGNED_IN,
    ("GET", "/suppliers/{supplier_id:int}/shipping-mappings/rates"): SIGNED_IN,
    ("GET", "/connection-issues"): SIGNED_IN,
    ("GET", "/metrics"): SIGNED_IN,
    ("GET", "/inventory"): SIGNED_IN,
    ("GET", "/inventory/sku"): SIGNED_IN,
    ("GET", "/notifications"): SIGNED_IN,
    ("GET", "/settings"): SIGNED_IN,
    ("GET", "/settings/carriers"): SIGNED_IN,
    ("GET", "/schema"): SIGNED_IN,
    ("GET", "/schema/swagger"): SIGNED_IN,
    ("GET", "/schema/openapi.json"): SIGNED_IN,
    ("GET", "/schema/oauth2-redirect.html"): SIGNED_IN,
    ("GET", "/schema/{path:str}"): SIGNED_IN,
    # Signed in, any role: one's own session and inbox.
    ("POST", "/logout"): SIGNED_IN,
    ("POST", "/notifications/{message_id:int}/read"): SIGNED_IN,
    ("POST", "/notifications/read-all"): SIGNED_IN,
    # Operators: working on orders.
    ("GET", "/orders/{order_id:int}/address/edit"): OPERATOR,
    ("POST", "/orders/{order_id:int}/address"): OPERATOR,
    ("POST", "/orders/{order_id:int}/lines/{line_id:int}/quantity"): OPERATOR,
    ("POST", "/orders/{order_id:int}/process"): OPERATOR,
    ("POST", "/orders/{order_id:int}/process-row"): OPERATOR,
    ("POST", "/orders/{order_id:int}/accept-row"): OPERATOR,
    ("POST", "/orders/{order_id:int}/resubmit"): OPERATOR,
    ("POST", "/orders/{order_id:int}/sent-manually"): OPERATOR,
    ("POST", "/orders/{order_id:int}/issues/dismiss"): OPERATOR,
    ("POST", "/orders/{order_id:int}/shipping-method"): OPERATOR,
    ("POST", "/orders/{order_id:int}/cancel"): OPERATOR,
    ("POST", "/orders/{order_id:int}/deliver"): OPERATOR,
    ("POST", "/orders/{order_id:int}/mark-paid"): OPERATOR,
    ("POST", "/orders/{order_id:int}/return"): OPERATOR,
    ("GET", "/orders/{order_id:int}/shipping"): OPERATOR,
    ("GET", "/orders/{order_id:int}/shipping/add"): OPERATOR,
    ("POST", "/orders/{order_id:int}/shipping/tracking"): OPERATOR,
    ("POST", "/orders/{order_id:int}/shipping/mark-shipped"): OPERATOR,
    ("POST", "/orders/{order_id:int}/shipping/{shipment_id:int}/remove"): OPERATOR,
    ("GET", "/orders/{order_id:int}/acceptance"): OPERATOR,
    ("GET", "/orders/{order_id:int}/decision-answer"): OPERATOR,
    ("POST", "/orders/{order_id:int}/accept"): OPERATOR,
    ("POST", "/orders/{order_id:int}/reject"): OPERATOR,
    ("POST", "/orders/{order_id:int}/lines/{line_id:int}/accept"): OPERATOR,
    ("POST", "/orders/{order_id:int}/lines/{line_id:int}/reject"): OPERATOR,
    ("POST", "/orders/{order_id:int}/lines/{line_id:int}/edit"): OPERATOR,
    ("POST", "/channels/{channel_id:int}/sync"): OPERATOR,
    ("POST", "/suppliers/{supplier_id:int}/wallet/refresh"): OPERATOR,
    ("POST", "/suppliers/{supplier_id:int}/catalog/uploads"): OPERATOR,
    ("POST", "/suppliers/{supplier_id:int}/catalog/uploads/{upload_id:int}/next"): OPERATOR,
    ("POST", "/suppliers/{supplier_id:int}/shipping-mappings"): OPERATOR,
    ("POST", "/suppliers/{supplier_id:int}/shipping-mappings/{mapping_id:int}"): OPERATOR,
    ("POST", "/suppliers/{supplier_id:int}/shipping-mappings/{mapping_id:int}/delete"): OPERATOR,
    ("POST", "/suppliers/{supplier_id:int}/resubmit-all"): OPERATOR,
    ("POST", "/suppliers/{supplier_id:int}/resubmit-all/{run_id:int}/next"): OPERATOR,
    ("POST", "/connection-issues/{issue_id:int}/retry"): OPERATOR,
    ("POST", "/inventory/sync"): OPERATOR,
    ("POST", "/inventory/push"): OPERATOR,
    # Reconciliation reads every order at its channel and suppliers: not for viewers.
    ("GET", "/channels/reconciliation"): OPERATOR,
    ("POST", "/channels/reconciliation/resync"): OPERATOR,
    ("POST", "/settings/notifications"): OPERATOR,
    ("GET", "/account"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("POST", "/account/sessions/{session_id:int}/end"): SIGNED_IN,
    ("POST", "/account/logout-everywhere"): SIGNED_IN,
    ("GET", "/account/two-step"): SIGNED_IN,
    ("POST", "/account/two-step/setup"): SIGNED_IN,
    ("POST", "/account/two-step/confirm"): SIGNED_IN,
    ("POST", "/account/two-step/disable"): SIGNED_IN,
    ("POST", "/settings/users/{user_id:int}/role"): ADMIN,
    ("POST", "/settings/users/{user_id:int}/deactivate"): ADMIN,
    ("POST", "/settings/users/{user_id:int}/reactivate"): ADMIN,
    ("POST", "/settings/users/{user_id:int}/revoke-tokens"): ADMIN,
    ("POST", "/settings/users/{user_id:int}/reset-password"): ADMIN,
    ("POST", "/settings/users/{user_id:int}/reset-two-step"): ADMIN,
    ("POST", "/settings/tokens"): OPERATOR,
    ("POST", "/settings/tokens/{token_id:int}/revoke"): OPERATOR,
    # Admins: users, channels, suppliers, carriers, the time zone.
    ("GET", "/channels/new"): ADMIN,
    ("POST", "/channels"): ADMIN,
    ("GET", "/channels/{channel_id:int}/edit"): ADMIN,
    ("POST", "/channels/{channel_id:int}"): ADMIN,
    ("GET", "/suppliers/new"): ADMIN,
    ("POST", "/suppliers"): ADMIN,
    ("GET", "/suppliers/{supplier_id:int}/edit"): ADMIN,
    ("POST", "/suppliers/{supplier_id:int}"): ADMIN,
    ("POST", "/settings/users"): ADMIN,
    ("POST", "/settings/timezone"): ADMIN,
    ("POST", "/inventory/rules/channels/{channel_id:int}"): ADMIN,
    ("POST", "/inventory/rules/suppliers/{supplier_id:int}"): ADMIN,
    ("POST", "/settings/carriers"): ADMIN,
    ("GET", "/settings/carriers/{carrier_id:int}/edit"): ADMIN,
    ("POST", "/settings/carriers/{carrier_id:int}"): ADMIN,
    ("POST", "/settings/carriers/{carrier_id:int}/delete"): ADMIN,
    # The JSON API (bearer tokens): reading for every role, changes for operators and admins.
    ("GET", "/api/v1/orders"): SIGNED_IN,
    ("GET", "/api/v1/orders/{order_id:int}"): SIGNED_IN,
    ("GET", "/api/v1/orders/{order_id:int}/shipping"): SIGNED_IN,
    ("GET", "/api/v1/carriers"): SIGNED_IN,
    ("POST", "/api/v1/orders/{order_id:int}/accept"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/reject"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/lines/{line_id:int}/accept"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/lines/{line_id:int}/reject"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/lines/{line_id:int}/quantity"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/shipments"): OPERATOR,
    ("DELETE", "/api/v1/orders/{order_id:int}/shipments/{shipment_id:int}"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/ship"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/mark-paid"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/deliver"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/return"): OPERATOR,
    ("POST", "/api/v1/orders/{order_id:int}/cancel"): OPERATOR,
}

#: Requests that end the session run last, so they do not log out the rest of the sweep.
#: Routes that end the caller's session: run last, each with a fresh log-in.
LAST = {("POST", "/logout"), ("POST", "/account/logout-everywhere")}
PARAM = re.compile(r"\{(\w+):\w+\}")


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route handler the app serves, without Litestar's automatic OPTIONS answers."""
    app = create_app()
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                if method != "OPTIONS":
                    found.add((method, route.path))
    return found


def test_every_route_has_a_line_in_the_matrix():
    routes = app_routes()
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, "Routes with no line in MATRIX (decide who may use them): " + repr(missing)
    assert not stale, "MATRIX lines for routes the app no longer has: " + repr(stale)


@dataclass
class Caller:
    role: str
    client: httpx.AsyncClient
    csrf: str
    token: str = ""


async def path_values(channel: dict) -> dict[str, str]:
    """Real ids for the path parameters, so allowed requests reach real objects."""
    order_id = await import_one(channel, make_order("MATRIX-1"))
    line = await OrderLine.select(OrderLine.id).where(OrderLine.order == order_id).first()
    payload = await RawPayload.select(RawPayload.id).first()
    supplier_id = await add_supplier("Matrix Supplier", "demo", "", {})
    carrier = (await Carrier.insert(Carrier(name="Matrix Post", code="MP")).returning(Carrier.id))[0]["id"]
    viewer_id = (await User.select(User.id).where(User.username == "viewer").first())["id"]
    await create_api_token(viewer_id, "matrix")
    token_id = (await ApiToken.select(ApiToken.id).first())["id"]
    return {
        "order_id": str(order_id),
        "line_id": str(line["id"]),
        "payload_id": str(payload["id"] if payload else 1),
        "channel_id": str(channel["id"]),
        "supplier_id": str(supplier_id),
        "carrier_id": str(carrier),
        "token_id": str(token_id),
        # Admin actions aim at the viewer, so that the admin's own session lives through the sweep.
        "user_id": str(viewer_id),
        "session_id": "999999",
        "file_path": "waybill.css",
        "path": "openapi.yaml",
    }


def concrete(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values.get(m.group(1), "1"), path)


#: Routes whose own answer is a redirect to the log-in page: they log the caller out.
ENDS_A_SESSION = ("/logout", "/account/logout-everywhere")


def refusal(path: str, response: httpx.Response, signed_in: bool = False) -> str | None:
    """What kind of refusal the response is, or None when the request got through."""
    if response.status_code == 401:
        return "401"
    if response.status_code == 403:
        return "403"
    location = response.headers.get("location", "")
    if response.is_redirect and (
        location.startswith("/login?next=") or (location == "/login" and not (signed_in and path in ENDS_A_SESSION))
    ):
        return "to-login"  # (`/` and a form's POST-only address land on /login without `next`)
    return None


def expected_refusal(role: str, path: str) -> str:
    if role == "anonymous":
        return "401" if path.startswith("/api/") else "to-login"
    return "403"


@dataclass
class Sweep:
    """The app with real objects behind the path parameters; `caller(role)` signs a client in."""

    app: Litestar
    base_url: str
    values: dict[str, str]
    clients: list[httpx.AsyncClient]

    async def caller(self, role: str) -> Caller:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=self.base_url)
        self.clients.append(http)
        token = ""
        if role != "anonymous":
            http.follow_redirects = True
            await login(http, role)
            user = await User.select(User.id).where(User.username == role).first()
            token = await create_api_token(user["id"], f"matrix-{role}")
        form = await http.get("/login" if role == "anonymous" else "/settings")
        http.follow_redirects = False
        return Caller(role, http, csrf_from(form.text), token)


@pytest.fixture
async def sweep(settings, users, channel) -> AsyncIterator[Sweep]:
    values = await path_values(channel)
    app = create_app(settings)
    async with serve_in_test_loop(app) as first:
        state = Sweep(app, str(first.base_url), values, [])
        try:
            yield state
        finally:
            for http in state.clients:
                await http.aclose()


async def call(caller: Caller, method: str, path: str) -> httpx.Response:
    headers = {}
    if path.startswith("/api/"):
        if caller.token:
            headers["Authorization"] = f"Bearer {caller.token}"
    elif method not in ("GET", "HEAD"):
        headers["X-CSRFToken"] = caller.csrf
    json_body = {} if path.startswith("/api/") and method in ("POST", "DELETE") else None
    if json_body is not None and method == "POST":
        return await caller.client.request(method, path, headers=headers, json=json_body)
    return await caller.client.request(method, path, headers=headers)


@pytest.mark.parametrize("role", ROLES)
async def test_each_route_lets_in_exactly_the_roles_the_matrix_allows(sweep, role):
    caller = await sweep.caller(role)
    values = sweep.values
    mistakes = []
    order = sorted(MATRIX, key=lambda key: (key in LAST, key[1], key[0]))
    for method, route in order:
        least = MATRIX[(method, route)]
        path = concrete(route, values)
        if (method, route) in LAST and role != "anonymous":
            caller = await sweep.caller(role)
        response = await call(caller, method, path)
        got = refusal(path, response, signed_in=role != "anonymous")
        allowed = RANK[role] >= least
        if response.status_code >= 500:
            mistakes.append(f"{method} {path}: {response.status_code} server error")
        elif allowed and got and least != PUBLIC:
            mistakes.append(f"{method} {path}: refused ({got}, {response.status_code}) but {role} may use it")
        elif allowed and got == "403":
            mistakes.append(f"{method} {path}: refused with 403 but it is public")
        elif not allowed and got != expected_refusal(role, path):
            mistakes.append(
                f"{method} {path}: {role} should be refused ({expected_refusal(role, path)}) "
                f"but got {response.status_code} {response.headers.get('location', '')}"
            )
        elif not allowed and path.startswith("/api/"):
            body = response.json()
            if body.get("status_code") != response.status_code or not body.get("detail"):
                mistakes.append(f"{method} {path}: refusal is not the API's JSON error: {body}")
    assert not mistakes, f"{role}:\n" + "\n".join(mistakes)


async def test_an_api_token_does_not_open_the_pages(sweep):
    """Tokens are for /api/v1 (and its schema) only; pages need the log-in form's session."""
    admin_id = (await User.select(User.id).where(User.username == "admin").first())["id"]
    token = await create_api_token(admin_id, "pages?")
    anonymous = await sweep.caller("anonymous")
    for path in ("/orders", "/settings", "/account"):
        response = await anonymous.client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert refusal(path, response) == "to-login", path


async def test_options_requests_answer_only_after_authentication(sweep):
    """Litestar answers OPTIONS on every route; it must neither skip the log-in nor trip over the role guards."""
    anonymous = await sweep.caller("anonymous")
    viewer = await sweep.caller("viewer")
    mistakes = []
    for route in sorted({path for _, path in MATRIX}):
        path = concrete(route, sweep.values)
        least = min(level for (_, p), level in MATRIX.items() if p == route)
        public = least == PUBLIC
        answer = await anonymous.client.options(path)
        if not public and refusal(path, answer) != expected_refusal("anonymous", path):
            mistakes.append(f"OPTIONS {path} anonymous: {answer.status_code}")
        headers = {"Authorization": f"Bearer {viewer.token}"} if path.startswith("/api/") else {}
        answer = await viewer.client.options(path, headers=headers)
        if answer.status_code == 204 and answer.headers.get("allow"):
            continue
        if not (answer.status_code == 403 and least > SIGNED_IN):  # guards of operator-only controllers apply
            mistakes.append(f"OPTIONS {path} viewer: {answer.status_code}")
    assert not mistakes, "\n".join(mistakes)
