"""Settings: the merchant's time zone, API tokens and (for admins) users."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Template

from models.app_settings import set_merchant_timezone
from models.errors import FieldErrors
from models.tables import User
from models.users import create_api_token, create_user, list_api_tokens, revoke_api_token
from web.auth import require_admin, require_operator
from web.pages import current_timezone, forget_timezone, render

FORM = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
COMMON_TIMEZONES = sorted(tz for tz in available_timezones() if "/" in tz and not tz.startswith(("Etc/", "SystemV/")))


class SettingsController(Controller):
    path = "/settings"
    include_in_schema = False

    async def _page(self, request: Request, status_code: int = 200, **extra: Any) -> Template:
        user = request.user
        context: dict[str, Any] = {
            "nav": "settings",
            "timezones": COMMON_TIMEZONES,
            "current_tz": str(await current_timezone()),
            "tokens": await list_api_tokens(user.id),
            "users": await User.select(User.id, User.username, User.email, User.role, User.active).order_by(
                User.username
            )
            if user.is_admin
            else [],
            "errors": {},
            "new_token": None,
            "message": "",
            "form": {},
        }
        context.update(extra)
        return await render(request, "settings.html", status_code=status_code, **context)

    @get("/")
    async def settings_page(self, request: Request) -> Template:
        return await self._page(request)

    @post("/timezone", guards=[require_admin])
    async def update_timezone(self, request: Request, data: FORM) -> Template:
        try:
            await set_merchant_timezone(str(data.get("timezone", "")))
        except FieldErrors as exc:
            return await self._page(request, 400, errors=exc.errors)
        forget_timezone()
        return await self._page(request, message="Time zone saved.")

    @post("/tokens", guards=[require_operator])
    async def create_token(self, request: Request, data: FORM) -> Template:
        try:
            token = await create_api_token(request.user.id, str(data.get("name", "")))
        except FieldErrors as exc:
            return await self._page(request, 400, errors=exc.errors)
        return await self._page(
            request, new_token=token, message="API token created. Copy it now: it is shown only once."
        )

    @post("/tokens/{token_id:int}/revoke", guards=[require_operator])
    async def revoke_token(self, request: Request, token_id: FromPath[int]) -> Template:
        await revoke_api_token(request.user.id, token_id)
        return await self._page(request, message="API token revoked.")

    @post("/users", guards=[require_admin])
    async def add_user(self, request: Request, data: FORM) -> Template:
        form = {k: str(v) for k, v in data.items() if k != "password"}
        try:
            created = await create_user(
                form.get("username", ""),
                str(data.get("password", "")),
                form.get("role", "operator"),
                form.get("email", ""),
            )
        except FieldErrors as exc:
            return await self._page(request, 400, errors=exc.errors, form=form)
        return await self._page(request, message=f"User {created.username} created.")
