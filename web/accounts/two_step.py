"""My account → Two-step verification: set it up with an authenticator app, see the recovery codes once, turn
it off; and, when the instance requires it (`WAYBILL_REQUIRE_ADMIN_TOTP`), the hook that sends an admin
without it there before any other page opens.

API tokens of such an admin keep working: they are separate credentials, made on a page that itself
needed the log-in, stored as digests and revocable; a script cannot type a code.
"""

from __future__ import annotations

from typing import Any

import segno
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from models.accounts import second_factor
from models.accounts.second_factor import Enrolment
from models.core.errors import DomainError, FieldErrors
from web.accounts.login import client_ip
from web.form_body import FORM
from web.orders.page import actor_of
from web.pages import is_htmx, render

SETUP_PATH = "/account/two-step"
#: What an admin who must still set up two-step verification may open: the set-up, log-out, static files.
OPEN_BEFORE_SETUP = (SETUP_PATH, "/logout", "/static/", "/login")


def qr_code(enrolment: Enrolment) -> str:
    """The `otpauth://` address as a QR code, an SVG `data:` URI for an <img> (the CSP allows `img-src data:`)."""
    return segno.make(enrolment.uri, error="m").svg_data_uri(scale=5, border=4, dark="#101828", light="#ffffff")


def _required(request: Request) -> bool:
    settings = getattr(request.app.state, "settings", None)
    return bool(settings and settings.require_admin_totp and request.user.is_admin)


async def two_step_page(request: Request, status_code: int = 200, **extra: Any) -> Template:
    user = request.user
    state = await second_factor.overview(user.id, user.username)
    context: dict[str, Any] = {
        "nav": "account",
        "state": state,
        "qr": qr_code(state.enrolment) if state.enrolment else "",
        "required": _required(request),
        "recovery_codes": [],
        "errors": {},
        "message": "",
    }
    context.update(extra)
    return await render(request, "accounts/two_step.html", status_code=status_code, **context)


class TwoStepController(Controller):
    path = SETUP_PATH
    include_in_schema = False

    @get("/")
    async def page(self, request: Request) -> Template:
        return await two_step_page(request)

    @post("/setup")
    async def setup(self, request: Request) -> Template:
        """A new secret to scan; two-step verification is on only once its first code is confirmed."""
        try:
            await second_factor.start_enrolment(request.user)
        except DomainError as exc:
            return await two_step_page(request, 409, errors={"setup": exc.message})
        return await two_step_page(request)

    @post("/confirm")
    async def confirm(self, request: Request, data: FORM) -> Template:
        try:
            codes, ended = await second_factor.confirm_enrolment(
                request.user, str(data.get("code", ""))[:64], actor_of(request), keep_session=request.user.session_id
            )
        except FieldErrors as exc:
            return await two_step_page(request, 400, errors=exc.errors)
        except DomainError as exc:
            return await two_step_page(request, 409, errors={"setup": exc.message})
        others = f" {ended} other session(s) ended." if ended else ""
        return await two_step_page(request, recovery_codes=codes, message=f"Two-step verification is on.{others}")

    @post("/disable")
    async def disable(self, request: Request, data: FORM) -> Template:
        try:
            await second_factor.disable(
                request.user,
                str(data.get("current_password", ""))[:1024],
                str(data.get("code", ""))[:64],
                client_ip(request),
                actor_of(request),
            )
        except FieldErrors as exc:
            return await two_step_page(request, 400, errors=exc.errors)
        except DomainError as exc:
            return await two_step_page(request, 409, errors={"setup": exc.message})
        return await two_step_page(request, message="Two-step verification is off: your password alone logs you in.")


async def require_admin_second_factor(request: Request) -> Response | None:
    """`before_request` hook: with `WAYBILL_REQUIRE_ADMIN_TOTP`, an admin logged in without two-step
    verification is sent to set it up, from every page but the set-up itself, log-out and static files.

    Set on the app; Litestar runs only the closest `before_request`, so a controller or handler with its own
    would have to call this one too."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None or not settings.require_admin_totp:
        return None
    user = request.scope.get("user")
    if user is None or not user.is_admin or user.session_id is None:  # public pages, other roles, API tokens
        return None
    if user.two_step or request.url.path.startswith(OPEN_BEFORE_SETUP):  # read with the session: no query
        return None
    if is_htmx(request):
        return Response("", status_code=200, headers={"HX-Redirect": SETUP_PATH})
    return Redirect(SETUP_PATH, status_code=302 if request.method in ("GET", "HEAD") else 303)
