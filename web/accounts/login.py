"""Log in and out; for a user with two-step verification, the log-in's second step asks for a code."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from models.accounts.login import LoginThrottled, authenticate
from models.accounts.passwords import HashingBusy
from models.accounts.second_factor import (
    TOO_LATE,
    ChallengeOver,
    answer_challenge,
    find_challenge,
    is_enabled,
    start_challenge,
)
from models.accounts.sessions import end_session, session_user, start_session
from models.core.errors import DomainError
from web.auth import SESSION_TOKEN_KEY, session_policy
from web.form_body import FORM

CSRF_COOKIE = "waybill_csrf"
#: The cookie session's key holding the token of a log-in waiting for its code (it opens no page).
CHALLENGE_KEY = "challenge"


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
        if await is_enabled(user.id):
            # No session yet: the password was right, the code is asked for next.
            challenge = await start_challenge(user.id, target, client_ip(request))
            request.clear_session()
            request.set_session({CHALLENGE_KEY: challenge})
            return Redirect("/login/code")
        return await _start_session(request, user.id, target)

    @get("/login/code", include_in_schema=False)
    async def code_form(self, request: Request) -> Template | Redirect:
        challenge = await find_challenge(str(request.session.get(CHALLENGE_KEY) or ""))
        if challenge is None:
            return Redirect("/login")
        if challenge.expired:
            return await self._start_over(request, challenge.next_path, TOO_LATE)
        return _code_page(challenge.username)

    @post("/login/code", include_in_schema=False)
    async def code(self, request: Request, data: FORM) -> Template | Redirect:
        token = str(request.session.get(CHALLENGE_KEY) or "")
        challenge = await find_challenge(token)
        if challenge is None:
            return Redirect("/login")
        typed = str(data.get("code", ""))[:64]
        if not typed.strip():
            return _code_page(challenge.username, "Enter the 6-digit code from your app, or a recovery code.", 400)
        try:
            user, target = await answer_challenge(token, typed, client_ip(request))
        except ChallengeOver as exc:
            return await self._start_over(request, challenge.next_path, exc.message)
        except LoginThrottled as exc:
            retry = str(max(1, int(exc.retry_after.total_seconds())))
            return _code_page(challenge.username, exc.message, 429, {"Retry-After": retry})
        except DomainError as exc:  # a wrong or replayed code, a secret no key reads
            return _code_page(challenge.username, exc.message, 401)
        return await _start_session(request, user.id, _safe_next(target))

    @staticmethod
    async def _start_over(request: Request, target: str, message: str) -> Template:
        """Back to the password: the waiting log-in took too long."""
        request.clear_session()
        context = {"next": _safe_next(target), "username": "", "error": message or TOO_LATE}
        return Template("accounts/login.html", context=context, status_code=401)

    @post("/logout", include_in_schema=False)
    async def logout(self, request: Request) -> Redirect:
        if request.user.session_id is not None:
            await end_session(request.user.session_id)
        request.clear_session()
        return Redirect("/login")


def _code_page(
    username: str, error: str = "", status_code: int = 200, headers: dict[str, str] | None = None
) -> Template:
    return Template(
        "accounts/login_code.html",
        context={"username": username, "error": error},
        status_code=status_code,
        headers=headers or {},
    )


async def _start_session(request: Request, user_id: int, target: str) -> Redirect:
    """The log-in is complete: a server-side session, its id in the cookie, a new CSRF token."""
    token = await start_session(user_id, client_ip(request), request.headers.get("user-agent", ""))
    request.clear_session()
    request.set_session({SESSION_TOKEN_KEY: token})
    redirect = Redirect(target)
    # A new CSRF token with the new session: one seen before log-in is worth nothing after it.
    redirect.delete_cookie(CSRF_COOKIE)
    return redirect
