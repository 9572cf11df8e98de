"""Settings: the merchant's time zone, API tokens, carriers and (for admins) users."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from models.accounts.users import (
    create_api_token,
    create_user,
    list_api_tokens,
    notification_preferences,
    revoke_api_token,
    set_notification_preferences,
)
from models.core.app_settings import set_merchant_timezone
from models.core.errors import FieldErrors
from models.db.tables import User
from models.fulfilment.carriers import code_channels, list_carriers
from web.auth import require_admin, require_operator
from web.form_body import FORM
from web.notifications.pages import mail_status
from web.pages import current_timezone, forget_timezone, render

COMMON_TIMEZONES = sorted(tz for tz in available_timezones() if "/" in tz and not tz.startswith(("Etc/", "SystemV/")))


class SettingsController(Controller):
    path = "/settings"
    include_in_schema = False

    @staticmethod
    async def _page(request: Request, status_code: int = 200, **extra: Any) -> Template:
        """The page; also the answer of other Settings sections (carriers) to a plain form post."""
        user = request.user
        context: dict[str, Any] = {
            "nav": "settings",
            "timezones": COMMON_TIMEZONES,
            "current_tz": str(await current_timezone()),
            "tokens": await list_api_tokens(user.id),
            "users": await User.select(
                User.id, User.username, User.email, User.role, User.active, User.notify_new_orders
            ).order_by(User.username)
            if user.is_admin
            else [],
            "errors": {},
            "new_token": None,
            "message": "",
            "form": {},
            "prefs": await notification_preferences(user.id),
            "mail_status": mail_status(request),
            "carriers": await list_carriers(),
            "carrier_channels": await code_channels(),
        }
        context.update(extra)
        return await render(request, "settings/page.html", status_code=status_code, **context)

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

    @post("/notifications", guards=[require_operator])
    async def update_notifications(self, request: Request, data: FORM) -> Template:
        email = str(data.get("email", ""))
        notify = str(data.get("notify_new_orders", "")) in ("1", "on", "true")
        try:
            await set_notification_preferences(request.user.id, email, notify)
        except FieldErrors as exc:
            # What was typed stays in the form, with the reason.
            prefs = {**await notification_preferences(request.user.id), "email": email, "notify_new_orders": notify}
            return await self._page(request, 400, errors={"notify_email": exc.errors["email"]}, prefs=prefs)
        saved = await notification_preferences(request.user.id)
        if saved["notify_new_orders"] and not saved["email"]:
            message = "Notification settings saved. Add an e-mail address to get them by e-mail too."
        elif saved["notify_new_orders"]:
            message = f"Notification settings saved: orders waiting for acceptance are e-mailed to {saved['email']}."
        else:
            message = "Notification settings saved: you are not e-mailed about new orders."
        return await self._page(request, message=message)

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
