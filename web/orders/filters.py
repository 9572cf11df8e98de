"""Turn dashboard/API query parameters into an `OrderFilter`, explaining what was refused.

A refused value (not a number or a day, or out of bounds) is left out of the filter and named in `errors`:
the dashboard shows the orders without it with status 400; the CSV export (400) and the API (422) list
nothing. An unknown tab only falls back to all orders, with a note.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from models.core.bounds import OutOfBounds, day, row_id
from models.core.quoting import quoted
from models.orders.lifecycle import TAB_STATUSES
from models.orders.queries import OrderFilter

FILTER_KEYS = ("tab", "q", "channel", "supplier", "from", "to")


@dataclass
class ParsedFilter:
    flt: OrderFilter
    values: dict[str, str]
    #: What the page shows: each refusal ("Ignored the … filter: …") and notes such as an empty date range.
    warnings: list[str] = field(default_factory=list)
    #: Refused values: query parameter → why, e.g. "channel" → "“abc” is not a whole number".
    errors: dict[str, str] = field(default_factory=dict)

    def query(self, **overrides: Any) -> str:
        """The query string for this view, with `overrides` applied (None removes a key)."""
        values = {**self.values, **overrides}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    def refuse(self, key: str, label: str, reason: str) -> None:
        """Leave `key` out of the view (and of its links), saying why."""
        self.errors[key] = reason
        self.warnings.append(f"Ignored the {label}: {reason}.")
        self.values[key] = ""

    @property
    def refusal(self) -> str:
        """The refused values in one sentence, for an answer that lists nothing (CSV export, API)."""
        return "These filters cannot be used: " + " ".join(f"{key}: {why}." for key, why in self.errors.items())


def _parse_id(parsed: ParsedFilter, key: str) -> int | None:
    raw = parsed.values[key]
    if not raw:
        return None
    try:
        return row_id(raw)
    except OutOfBounds as exc:
        parsed.refuse(key, f"{key} filter", exc.message)
        return None


def _parse_date(parsed: ParsedFilter, key: str, tz: ZoneInfo) -> dt.datetime | None:
    raw = parsed.values[key]
    if not raw:
        return None
    try:
        first = day(raw)
    except OutOfBounds as exc:
        parsed.refuse(key, f"{key} date", exc.message)
        return None
    return dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def parse_filter(params: dict[str, str], tz: ZoneInfo) -> ParsedFilter:
    # NUL can be in no stored text (PostgreSQL refuses it in a query), so it matches nothing anyway.
    params = {k: v.replace("\x00", "") for k, v in params.items() if isinstance(v, str)}
    values = {k: (params.get(k) or "").strip() for k in FILTER_KEYS}
    parsed = ParsedFilter(flt=OrderFilter(), values=values)
    tab = values["tab"] or "all"
    if tab not in TAB_STATUSES:
        parsed.warnings.append(f"Unknown tab {quoted(tab[:40])}: showing all orders.")  # a note: it falls back
        tab = "all"
    q = values["q"][:200]
    placed_from = _parse_date(parsed, "from", tz)
    placed_to = _parse_date(parsed, "to", tz)
    if placed_to:
        placed_to += dt.timedelta(days=1)  # the "to" day is included
    if placed_from and placed_to and placed_from >= placed_to:
        parsed.warnings.append("The “from” date is after the “to” date, so no order can match.")
    parsed.flt = OrderFilter(
        tab=tab,
        q=q,
        channel_id=_parse_id(parsed, "channel"),
        supplier_id=_parse_id(parsed, "supplier"),
        placed_from=placed_from,
        placed_to=placed_to,
    )
    values["tab"] = tab
    values["q"] = q
    return parsed
