"""Merchant-level settings kept in the database (shared by every instance)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

from models import db
from models.core.errors import Conflict, FieldErrors
from models.core.quoting import quoted
from models.db.tables import Setting

DEFAULT_TIMEZONE = "Europe/Paris"


async def get_setting(key: str, default: str = "") -> str:
    row = await Setting.select(Setting.value).where(Setting.key == key).first()
    return row["value"] if row else default


async def set_setting(key: str, value: str) -> None:
    await Setting.insert(Setting(key=key, value=value)).on_conflict(
        target=Setting.key, action="DO UPDATE", values=[Setting.value]
    )


async def merchant_timezone() -> ZoneInfo:
    return ZoneInfo(await get_setting("timezone", DEFAULT_TIMEZONE))


async def set_merchant_timezone(name: str, shown: str | None = None) -> None:
    """Save the merchant's time zone. `shown`: the one the form displayed; if another admin changed it since,
    nothing is saved (`Conflict`)."""
    if name not in available_timezones():
        raise FieldErrors({"timezone": f"{quoted(name)} is not a known time zone, e.g. Europe/Paris."})
    async with db.transaction():
        current = await get_setting("timezone", DEFAULT_TIMEZONE)
        if shown is not None and shown != current:
            raise Conflict(
                f"The time zone was changed to {current} by someone else after you opened this page, so nothing "
                "was saved. Choose again if you still want another one."
            )
        await set_setting("timezone", name)
