"""Log in and out."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from models.accounts.login import LoginThrottled, authenticate
from models.accounts.passwords import HashingBusy
from models.accounts.sessions import end_session, session_user, start_session
from web.auth import SESSION_TOKEN_KEY, session_policy
from web.form_body import FORM

CSRF_COOKIE = "waybill_csrf"


def _safe_next(target: str) -> str:
    """Only redirect to local paths, never to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/orders"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class LoginController(Controller):
    @get("/", include_in_schema=False)
    async def home(self) -> Redirect:
        return Redirect("/orders")

    @get("/login", include_in_schema=False)
    async def login_form(self, request: Request, next: FromQuery[str] = "/orders") -> Template | Redirect:
        token = request.session.get(SESSION_TOKEN_KEY)
        if token and await session_user(str(token), session_policy(request)):
            return Redirect(_safe_next(next))
        if token:
            request.clear_session()  # ended or expired: the form, not a redirect back to a page that refuses it
        return Template("accounts/login.html", context={"next": _safe_next(next), "username": "", "error": ""})

    @post("/login", include_in_schema=False)
    async def login(self, request: Request, data: FORM) -> Template | Redirect:
        username = str(data.get("username", "")).strip()
        password = str(data.get("password", ""))
        target = _safe_next(str(data.get("next", "/orders")))
        error = ""
        user = None
        retry_after: int | None = None
        if not username or not password:
            error = "Enter your username and password."
        elif len(username) > 80 or len(password) > 1024:
            error = "Wrong username or password."
        else:
            try:
                user = await authenticate(username, password, client_ip(request))
            except LoginThrottled as exc:
                error = exc.message
                retry_after = max(1, int(exc.retry_after.total_seconds()))
            except HashingBusy as exc:
                error = exc.message
                retry_after = 5
            else:
                if user is None:
                    error = "Wrong username or password."
        if user is None:
            return Template(
                "accounts/login.html",
                context={"next": target, "username": username, "error": error},
                status_code=401 if retry_after is None else 429,
                headers={} if retry_after is None else {"Retry-After": str(retry_after)},
            )
        token = await start_session(user.id, client_ip(request), request.headers.get("user-agent", ""))
        request.clear_session()
        request.set_session({SESSION_TOKEN_KEY: token})
        redirect = Redirect(target)
        # A new CSRF token with the new session: one seen before log-in is worth nothing after it.
        redirect.delete_cookie(CSRF_COOKIE)
        return redirect

    @post("/logout", include_in_schema=False)
    async def logout(self, request: Request) -> Redirect:
        if request.user.session_id is not None:
            await end_session(request.user.session_id)
        request.clear_session()
        return Redirect("/login")
