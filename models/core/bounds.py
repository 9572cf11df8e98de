"""Bounds of what comes in: whole numbers the database can hold and days an order can be on.

Ids, versions and quantities are 32-bit integer columns. A larger number names no row, and the database
driver fails on it (PostgreSQL's past 32 bits, SQLite's past 64), so it is refused before any query runs.
Days are kept to 2000–2099: no order is placed outside them, and year 1 or 9999 overflows once shifted by
a time zone. A refusal says what was sent and what is accepted, for a person to act on.
"""

from __future__ import annotations

import datetime as dt
import re

from models.core.quoting import quoted

#: The largest id, version or quantity (a PostgreSQL `integer`).
MAX_INT = 2_147_483_647
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)

#: ASCII digits only: `str.isdigit` is true of "²", which `int` refuses.
_WHOLE = re.compile(r"[+-]?[0-9]+")
#: A number with more digits than this is out of range without being converted.
_MAX_DIGITS = 20


class OutOfBounds(ValueError):
    """Input that is not a number or day this system can hold; `message` says why, e.g.
    "“²” is not a whole number" (no final stop: callers put it in a sentence). `malformed`: not a number
    or day at all, rather than one out of range."""

    def __init__(self, message: str, malformed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.malformed = malformed


def shown(raw: object) -> str:
    """`raw` quoted for a message, cut to 40 characters."""
    text = str(raw)
    return quoted(text if len(text) <= 40 else text[:40] + "…")


def whole_number(raw: object, low: int = 0, high: int = MAX_INT) -> int:
    """`raw` (an int, or text of ASCII digits) as a whole number from `low` to `high`; raises `OutOfBounds`."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        text = str(raw).strip()
        if not _WHOLE.fullmatch(text):
            raise OutOfBounds(f"{shown(raw)} is not a whole number", malformed=True)
        value = int(text) if len(text.lstrip("+-")) <= _MAX_DIGITS else high + 1
    if not low <= value <= high:
        raise OutOfBounds(f"{shown(raw)} is out of range: use a whole number from {low} to {high}")
    return value


def row_id(raw: object) -> int:
    """`raw` as an id a row can have (1 to `MAX_INT`); raises `OutOfBounds`."""
    return whole_number(raw, 1, MAX_INT)


def row_id_or_none(raw: object) -> int | None:
    """The id `raw` names, or None when it names none a row can have: for optional choices that fall back."""
    try:
        return row_id(raw)
    except OutOfBounds:
        return None


def day(raw: str) -> dt.date:
    """`raw` (YYYY-MM-DD) as a day from `FIRST_DAY` to `LAST_DAY`; raises `OutOfBounds`."""
    text = str(raw).strip()
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        raise OutOfBounds(f"{shown(raw)} is not a date (use YYYY-MM-DD)", malformed=True) from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise OutOfBounds(f"{shown(raw)} is out of range: use a day from {FIRST_DAY} to {LAST_DAY}")
    return value


def within_days(moment: dt.datetime) -> bool:
    """Whether `moment` falls on a day from `FIRST_DAY` to `LAST_DAY`."""
    return FIRST_DAY <= moment.date() <= LAST_DAY
