"""Log in and out."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from models.accounts.users import LoginThrottled, authenticate
from web.auth import SESSION_USER_KEY
from web.form_body import FORM


def _safe_next(target: str) -> str:
    """Only redirect to local paths, never to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/orders"


class LoginController(Controller):
    @get("/", include_in_schema=False)
    async def home(self) -> Redirect:
        return Redirect("/orders")

    @get("/login", include_in_schema=False)
    async def login_form(self, request: Request, next: FromQuery[str] = "/orders") -> Template | Redirect:
        if request.session.get(SESSION_USER_KEY):
            return Redirect(_safe_next(next))
        return Template("accounts/login.html", context={"next": _safe_next(next), "username": "", "error": ""})

    @post("/login", include_in_schema=False)
    async def login(
        self,
        request: Request,
        data: FORM,
    ) -> Template | Redirect:
        username = str(data.get("username", "")).strip()
        password = str(data.get("password", ""))
        target = _safe_next(str(data.get("next", "/orders")))
        ip = request.client.host if request.client else "unknown"
        error = ""
        user = None
        retry_after = None
        if not username or not password:
            error = "Enter your username and password."
        else:
            try:
                user = await authenticate(username, password, ip)
            except LoginThrottled as exc:
                error = exc.message
                retry_after = exc.retry_after
            else:
                if user is None:
                    error = "Wrong username or password."
        if user is None:
            return Template(
                "accounts/login.html",
                context={"next": target, "username": username, "error": error},
                status_code=401 if retry_after is None else 429,
                headers={} if retry_after is None else {"Retry-After": str(max(1, int(retry_after.total_seconds())))},
            )
        request.clear_session()
        request.set_session({SESSION_USER_KEY: user.id})
        return Redirect(target)

    @post("/logout", include_in_schema=False)
    async def logout(self, request: Request) -> Redirect:
        request.clear_session()
        return Redirect("/login")
