"""JSON for marketplace and supplier bodies: orjson's speed, the standard library's reach.

A backfill decodes every listing page and keeps every order as it was sent, so both directions run
for each of thousands of orders. orjson does this several times faster. What it refuses (`NaN`,
which some servers write) falls back to `json`, so no body is lost. Integers beyond 64 bits, which
no API here uses for ids or amounts, are read as floats, as JavaScript would.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: What a caller catches for a body that is not JSON (both libraries' errors derive from it).
DecodeError = ValueError


def loads(body: bytes | str) -> Any:
    """Decode a body; `ValueError` (incl. `UnicodeDecodeError`) when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses some bodies the standard library reads (NaN, Infinity): it decides.
        return json.loads(body)


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as is; anything not JSON-native is written as its `str`."""
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # e.g. an integer over 64 bits
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
