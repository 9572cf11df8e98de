"""Turn dashboard/API query parameters into an `OrderFilter`, explaining what was ignored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from models.orders.lifecycle import TAB_STATUSES
from models.orders.queries import OrderFilter

FILTER_KEYS = ("tab", "q", "channel", "supplier", "from", "to")


@dataclass
class ParsedFilter:
    flt: OrderFilter
    values: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    def query(self, **overrides: Any) -> str:
        """The query string for this view, with `overrides` applied (None removes a key)."""
        values = {**self.values, **overrides}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _parse_id(raw: str, label: str, warnings: list[str]) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
        if value > 0:
            return value
    except ValueError:
        pass
    warnings.append(f"Ignored the {label} filter: “{raw}” is not a valid choice.")
    return None


def _parse_date(raw: str, label: str, tz: ZoneInfo, warnings: list[str]) -> dt.datetime | None:
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        warnings.append(f"Ignored the {label} date: “{raw}” is not a date (use YYYY-MM-DD).")
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def parse_filter(params: dict[str, str], tz: ZoneInfo) -> ParsedFilter:
    # NUL can be in no stored text (PostgreSQL refuses it in a query), so it matches nothing anyway.
    params = {k: v.replace("\x00", "") for k, v in params.items() if isinstance(v, str)}
    warnings: list[str] = []
    tab = params.get("tab") or "all"
    if tab not in TAB_STATUSES:
        warnings.append(f"Unknown tab “{tab}”: showing all orders.")
        tab = "all"
    q = (params.get("q") or "").strip()[:200]
    placed_from = _parse_date(params.get("from", ""), "from", tz, warnings)
    placed_to = _parse_date(params.get("to", ""), "to", tz, warnings)
    if placed_to:
        placed_to += dt.timedelta(days=1)  # the "to" day is included
    if placed_from and placed_to and placed_from >= placed_to:
        warnings.append("The “from” date is after the “to” date, so no order can match.")
    flt = OrderFilter(
        tab=tab,
        q=q,
        channel_id=_parse_id(params.get("channel", ""), "channel", warnings),
        supplier_id=_parse_id(params.get("supplier", ""), "supplier", warnings),
        placed_from=placed_from,
        placed_to=placed_to,
    )
    values = {k: (params.get(k) or "").strip() for k in FILTER_KEYS}
    values["tab"] = tab
    values["q"] = q
    return ParsedFilter(flt=flt, values=values, warnings=warnings)
