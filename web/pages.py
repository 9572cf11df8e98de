"""Rendering pages and fragments with the context every page needs."""

from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.response import Template

from models.core.app_settings import merchant_timezone
from models.orders.menu_counts import menu_counts

_TZ_CACHE: dict[str, Any] = {"at": 0.0, "tz": None}
TZ_CACHE_SECONDS = 10.0


async def current_timezone() -> ZoneInfo:
    if _TZ_CACHE["tz"] is None or time.monotonic() - _TZ_CACHE["at"] > TZ_CACHE_SECONDS:
        _TZ_CACHE["tz"] = await merchant_timezone()
        _TZ_CACHE["at"] = time.monotonic()
    return _TZ_CACHE["tz"]


def forget_timezone() -> None:
    _TZ_CACHE["tz"] = None


async def base_context(request: Request) -> dict[str, Any]:
    user = request.user if "user" in request.scope else None
    counts = await menu_counts(user.id if user else None)
    return {
        "user": user,
        "tz": await current_timezone(),
        "pending_review": counts.pending_review,
        "connection_issues": counts.connection_issues,
        "notifications_unread": counts.notifications_unread,
    }


async def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    """A full page: layout context plus the page's own."""
    full = await base_context(request)
    full.update(context)
    return Template(template_name=template, context=full, status_code=status_code)


async def fragment(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    """An htmx fragment: no layout, but the same filters and time zone."""
    context.setdefault("tz", await current_timezone())
    context.setdefault("user", request.user if "user" in request.scope else None)
    return Template(template_name=template, context=context, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
