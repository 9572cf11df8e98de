"""The current time, in one place so every timestamp is timezone-aware UTC."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_utc_seconds(value: dt.datetime) -> dt.datetime:
    """UTC, whole seconds: the form in which order timestamps are stored and compared."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)
