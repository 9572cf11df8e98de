"""Turn the Metrics page's query parameters into a channel and a `Period`, explaining what was ignored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from models.core.bounds import row_id_or_none
from models.core.clock import now
from models.metrics.figures import MAX_PERIOD_DAYS, Period

#: The preset periods: query value → (days, label).
PRESETS: dict[str, tuple[int, str]] = {
    "7": (7, "Last 7 days"),
    "30": (30, "Last 30 days"),
    "90": (90, "Last 90 days"),
}
DEFAULT_PRESET = "30"
CUSTOM = "custom"


@dataclass
class MetricsFilter:
    period: Period
    channel_id: int | None
    #: What the form shows: channel, period, from, to (as typed, so bad input is not lost).
    values: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    @property
    def preset(self) -> str:
        return self.values["period"]

    def query(self, **overrides: Any) -> str:
        """The query string for this view with `overrides` applied (None or "" removes a key)."""
        values = {**self.values, **overrides}
        if values.get("period") != CUSTOM:
            values.pop("from", None)
            values.pop("to", None)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _date(raw: str, label: str, warnings: list[str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        warnings.append(f"The {label} date “{raw}” is not a date; use the calendar or YYYY-MM-DD.")
        return None


def parse_metrics_filter(params: dict[str, str], tz: ZoneInfo, channel_ids: set[int]) -> MetricsFilter:
    warnings: list[str] = []
    today = now().astimezone(tz).date()
    values = {
        "channel": (params.get("channel") or "").strip(),
        # `preset` carries the current preset through a change of channel; a clicked period wins.
        "period": (params.get("period") or params.get("preset") or "").strip(),
        "from": (params.get("from") or "").strip()[:10],
        "to": (params.get("to") or "").strip()[:10],
    }
    channel_id: int | None = None
    if values["channel"]:
        chosen = row_id_or_none(values["channel"])
        if chosen in channel_ids:
            channel_id = chosen
        else:
            warnings.append("That channel does not exist (any more): showing all channels.")
            values["channel"] = ""
    if not values["period"]:
        values["period"] = CUSTOM if values["from"] or values["to"] else DEFAULT_PRESET
    if values["period"] in PRESETS:
        return MetricsFilter(Period.last_days(PRESETS[values["period"]][0], tz, today), channel_id, values, warnings)
    if values["period"] != CUSTOM:
        warnings.append(f"Unknown period “{values['period'][:20]}”: showing the last 30 days.")
        values["period"] = DEFAULT_PRESET
        return MetricsFilter(Period.last_days(30, tz, today), channel_id, values, warnings)
    period = _custom_period(values, today, tz, warnings)
    if period is None:
        # Keep the dates as typed in the form; show the default period meanwhile.
        warnings.append("Showing the last 30 days until the dates are corrected.")
        period = Period.last_days(30, tz, today)
    return MetricsFilter(period, channel_id, values, warnings)


def _custom_period(values: dict[str, str], today: dt.date, tz: ZoneInfo, warnings: list[str]) -> Period | None:
    if not values["from"] or not values["to"]:
        warnings.append("Choose both a “from” and a “to” date for a custom period.")
        return None
    first = _date(values["from"], "“from”", warnings)
    last = _date(values["to"], "“to”", warnings)
    if first is None or last is None:
        return None
    if first > last:
        warnings.append("The “from” date is after the “to” date; swap them or pick new dates.")
        return None
    if first > today:
        warnings.append("The period starts in the future, so it has no orders yet; pick an earlier “from” date.")
        return None
    if last > today:
        warnings.append(f"Figures stop at today ({today:%d %b %Y}): later days have no orders yet.")
        last = today
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        warnings.append("A period can be at most two years long; pick dates closer together.")
        return None
    return Period(first, last, tz)
