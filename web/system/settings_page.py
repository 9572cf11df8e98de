"""Settings: the merchant's time zone, notifications, carriers and (for admins) users and their access."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from zoneinfo import available_timezones

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from models.accounts.access import (
    UnknownUser,
    account_history,
    add_user,
    change_role,
    reset_password,
    revoke_tokens,
    set_active,
)
from models.accounts.access import users_overview as list_users
from models.accounts.second_factor import reset as reset_second_factor
from models.accounts.users import notification_preferences, set_notification_preferences
from models.core.app_settings import set_merchant_timezone
from models.core.errors import Conflict, DomainError, FieldErrors
from models.db.tables import User
from models.fulfilment.carriers import code_channels, list_carriers
from web.auth import require_admin, require_operator, session_policy
from web.form_body import FORM
from web.notifications.pages import mail_status
from web.orders.page import actor_of
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
            "users": await list_users(session_policy(request)) if user.is_admin else [],
            "account_history": await account_history() if user.is_admin else [],
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
        shown = str(data["shown_timezone"]) if "shown_timezone" in data else None
        try:
            await set_merchant_timezone(str(data.get("timezone", "")), shown)
        except FieldErrors as exc:
            return await self._page(request, 400, errors=exc.errors)
        except Conflict as exc:
            return await self._page(request, 409, errors={"timezone": exc.message})
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

    @post("/users", guards=[require_admin])
    async def add_user(self, request: Request, data: FORM) -> Template:
        form = {k: str(v) for k, v in data.items() if k != "password"}
        try:
            created = await add_user(
                form.get("username", ""),
                str(data.get("password", "")),
                form.get("role", "operator"),
                form.get("email", ""),
                actor_of(request),
            )
        except FieldErrors as exc:
            return await self._page(request, 400, errors=exc.errors, form=form)
        return await self._page(request, message=f"User {created.username} created.")

    @post("/users/{user_id:int}/role", guards=[require_admin])
    async def user_role(self, request: Request, user_id: FromPath[int], data: FORM) -> Template:
        return await self._user_change(request, change_role(user_id, str(data.get("role", "")), actor_of(request)))

    @post("/users/{user_id:int}/deactivate", guards=[require_admin])
    async def deactivate_user(self, request: Request, user_id: FromPath[int]) -> Template:
        return await self._user_change(request, set_active(user_id, False, actor_of(request), request.user.id))

    @post("/users/{user_id:int}/reactivate", guards=[require_admin])
    async def reactivate_user(self, request: Request, user_id: FromPath[int]) -> Template:
        return await self._user_change(request, set_active(user_id, True, actor_of(request), request.user.id))

    @post("/users/{user_id:int}/revoke-tokens", guards=[require_admin])
    async def revoke_user_tokens(self, request: Request, user_id: FromPath[int]) -> Template:
        return await self._user_change(request, revoke_tokens(user_id, actor_of(request)))

    @post("/users/{user_id:int}/reset-password", guards=[require_admin])
    async def reset_user_password(self, request: Request, user_id: FromPath[int]) -> Template:
        try:
            password = await reset_password(user_id, actor_of(request))
        except UnknownUser as exc:
            raise NotFoundException(exc.message) from exc
        row = await User.select(User.username).where(User.id == user_id).first()
        message = f"Password of {row['username']} reset; they are logged out everywhere."
        new_password = {"username": row["username"], "password": password}
        return await self._page(request, message=message, new_password=new_password)

    @post("/users/{user_id:int}/reset-two-step", guards=[require_admin])
    async def reset_user_two_step(self, request: Request, user_id: FromPath[int]) -> Template:
        """For a user who lost their phone: their log-in takes the password alone until they set it up again."""
        return await self._user_change(request, reset_second_factor(user_id, actor_of(request), request.user.id))

    async def _user_change(self, request: Request, change: Awaitable[str]) -> Template:
        """Run an admin's change to a user; a refusal is shown above the user list, nothing changed."""
        try:
            message = await change
        except UnknownUser as exc:
            raise NotFoundException(exc.message) from exc
        except FieldErrors as exc:
            return await self._page(request, 400, user_error=" ".join(exc.errors.values()))
        except DomainError as exc:
            return await self._page(request, 409, user_error=exc.message)
        return await self._page(request, message=message)
