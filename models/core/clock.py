"""The current time, in one place so every timestamp is timezone-aware UTC.

`frozen_at` stops the clock at a given moment, so tests can run domain operations "at" known times
(accepted three hours after the order was placed, shipped two days later) and check exact figures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    return _frozen if _frozen is not None else dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Make `now()` answer `moment` (UTC) inside the block; blocks nest."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs a timezone-aware moment")
    previous, _frozen = _frozen, moment.astimezone(dt.UTC)
    try:
        yield
    finally:
        _frozen = previous


def to_utc_seconds(value: dt.datetime) -> dt.datetime:
    """UTC, whole seconds: the form in which order timestamps are stored and compared."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)


def from_row(value: object) -> dt.datetime:
    """A timestamp as a raw query returns it (SQLite: ISO text, PostgreSQL: datetime), aware and in UTC."""
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
