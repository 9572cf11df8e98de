"""My account: change my password, two-step verification, my sessions (end one, log out everywhere) and my
API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from models.accounts.access import log_out_everywhere, set_password
from models.accounts.login import LoginThrottled, check_own_password
from models.accounts.passwords import HashingBusy
from models.accounts.second_factor import is_enabled
from models.accounts.sessions import end_own_session, live_sessions
from models.accounts.users import create_api_token, list_api_tokens, revoke_api_token
from models.core.errors import FieldErrors
from web.accounts.login import client_ip
from web.auth import require_operator, session_policy
from web.form_body import FORM
from web.orders.page import actor_of
from web.pages import render


def _hours(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)} days"
    return "1 hour" if hours == 1 else f"{hours:g} hours"


async def account_page(request: Request, status_code: int = 200, **extra: Any) -> Template:
    user = request.user
    policy = session_policy(request)
    context: dict[str, Any] = {
        "nav": "account",
        "tokens": await list_api_tokens(user.id),
        "sessions": await live_sessions(user.id, policy),
        "session_idle": _hours(policy.idle),
        "session_lifetime": _hours(policy.lifetime),
        "two_step": await is_enabled(user.id),
        "errors": {},
        "new_token": None,
        "message": "",
    }
    context.update(extra)
    return await render(request, "accounts/page.html", status_code=status_code, **context)


class AccountController(Controller):
    include_in_schema = False

    @get("/account")
    async def page(self, request: Request) -> Template:
        return await account_page(request)

    @post("/account/password")
    async def change_password(self, request: Request, data: FORM) -> Template:
        current = str(data.get("current_password", ""))
        new, again = str(data.get("new_password", "")), str(data.get("new_password_again", ""))
        errors: dict[str, str] = {}
        try:
            if not await check_own_password(request.user, current, client_ip(request)):
                errors["current_password"] = "This is not your current password."
        except (LoginThrottled, HashingBusy) as exc:
            errors["current_password"] = exc.message
        if new != again:
            errors["new_password_again"] = "The two new passwords differ."
        if not errors:
            try:
                ended = await set_password(
                    request.user.id, new, actor_of(request), keep_session=request.user.session_id
                )
            except FieldErrors as exc:
                errors.update(exc.errors)
            else:
                others = f" {ended} other session(s) ended." if ended else ""
                return await account_page(request, message=f"Password changed.{others}")
        return await account_page(request, 400, errors=errors)

    @post("/account/sessions/{session_id:int}/end")
    async def end_one(self, request: Request, session_id: FromPath[int]) -> Template | Redirect:
        if not await end_own_session(request.user.id, session_id):
            raise NotFoundException("You have no such session open.")
        if session_id == request.user.session_id:
            request.clear_session()
            return Redirect("/login")
        return await account_page(request, message="That session is logged out.")

    @post("/account/logout-everywhere")
    async def everywhere(self, request: Request) -> Redirect:
        await log_out_everywhere(request.user.id, actor_of(request))
        request.clear_session()
        return Redirect("/login")

    @post("/settings/tokens", guards=[require_operator])
    async def create_token(self, request: Request, data: FORM) -> Template:
        try:
            token = await create_api_token(request.user.id, str(data.get("name", "")))
        except FieldErrors as exc:
            return await account_page(request, 400, errors=exc.errors)
        return await account_page(
            request, new_token=token, message="API token created. Copy it now: it is shown only once."
        )

    @post("/settings/tokens/{token_id:int}/revoke", guards=[require_operator])
    async def revoke_token(self, request: Request, token_id: FromPath[int]) -> Template:
        if not await revoke_api_token(request.user.id, token_id):
            raise NotFoundException("You have no live API token with this id.")
        return await account_page(request, message="API token revoked.")
