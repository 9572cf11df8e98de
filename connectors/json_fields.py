"""Reading fields of a decoded JSON body that may hold anything, with messages that say what came.

Each connector raises its own error type (so its caller knows which system sent the bad body);
the checks and the wording are the same everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SHOWN_LENGTH = 60


def kind(value: Any) -> str:
    """What a JSON value is, in words: "an object", "a list", "text", "a number"…"""
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def show(value: Any, limit: int = SHOWN_LENGTH) -> str:
    """A value as JSON, cut to `limit` characters, for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # e.g. an integer with thousands of digits
        return "a value too large to show"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def number_text(value: int | float, what: str, error: type[Exception]) -> str:
    try:
        return str(value)
    except ValueError:  # an integer with thousands of digits
        raise error(f"{what} is an absurdly long number.") from None


def text(value: Any, what: str, error: type[Exception]) -> str:
    """A free-text field: absent or null is empty; numbers are written out; anything else is refused."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value, what, error)
    raise error(f"{what} should be text, got {kind(value)}.")


def object_of(value: Any, what: str, error: type[Exception]) -> Mapping[str, Any]:
    """An object field: absent or null is empty; anything but an object is refused."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise error(f"{what} should be an object, got {kind(value)}.")
    return value
