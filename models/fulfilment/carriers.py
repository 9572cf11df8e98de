"""Carriers: the list an operator maintains, with each channel's code and the tracking formats.

A carrier has a name, its code on each channel (what that marketplace calls it: a Mirakl carrier code,
a Back Market shipper; MALL takes none), a link to its tracking page with `{tracking}` where the
number goes, and optionally a regular expression every tracking number of that carrier matches.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlparse

import regex

from models.core.errors import FieldErrors, NotFound
from models.core.links import web_link
from models.core.quoting import quoted
from models.core.versions import save_versioned
from models.db.tables import Carrier, Channel
from models.ports import directory

TRACKING_PLACEHOLDER = "{tracking}"
#: Longest a tracking-number format may take on one number. Formats are regular expressions typed by
#: people, and some (`(a|aa)+$`) take exponential time on a long number: bounded, they cannot stall a page.
MATCH_SECONDS = 0.05
#: Tracking numbers longer than this are refused before any format is tried.
MAX_TRACKING_NUMBER = 100
logger = logging.getLogger(__name__)


@dataclass
class CarrierForm:
    """What the merchant typed; `codes` maps channel id to that channel's code for the carrier."""

    name: str = ""
    tracking_url_pattern: str = ""
    tracking_number_pattern: str = ""
    codes: dict[int, str] = field(default_factory=dict)
    #: The carrier's version when the form was opened (None: a new carrier, or a form that sends none).
    version: int | None = None


def _codes_of(row: dict[str, Any]) -> dict[int, str]:
    try:
        raw = json.loads(row.get("channel_codes") or "{}")
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {int(k): str(v) for k, v in raw.items() if str(k).isdigit() and str(v).strip()}


def _with_codes(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "codes": _codes_of(row)}


def _probes(pattern: str) -> list[str]:
    """Long near-misses built from the pattern's own characters: the inputs that make backtracking explode."""
    characters = sorted({c for c in pattern if c.isalnum()} | {"a", "A", "0"})[:16]
    return [c * MAX_TRACKING_NUMBER + "!" for c in characters] + ["0A" * (MAX_TRACKING_NUMBER // 2) + "!"]


def pattern_problem(pattern: str) -> str | None:
    """Why a tracking-number format cannot be used, or None. A format must compile and decide quickly on
    every probe, so one that would take seconds on some tracking number is refused when it is saved."""
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        return f"This is not a valid regular expression ({exc}). Fix it, or leave the field empty to accept any number."
    try:
        for probe in _probes(pattern):
            compiled.fullmatch(probe, timeout=MATCH_SECONDS)
    except TimeoutError:
        return (
            "This expression takes too long to check some tracking numbers (a repeat inside a repeat, such as "
            "(a|aa)+). Simplify it, e.g. [A-Z0-9]{10,30}."
        )
    return None


def matches_format(pattern: str, tracking_number: str) -> bool:
    """Whether a tracking number fits the carrier's format. A carrier without a usable format accepts any
    number, and so does a check that runs out of time: the format helps catch typos, it never blocks a parcel."""
    if not pattern:
        return True
    try:
        return regex.fullmatch(pattern, tracking_number, timeout=MATCH_SECONDS) is not None
    except regex.error:
        return True
    except TimeoutError:
        logger.warning("Tracking format %r ran out of time on a %d-character number", pattern, len(tracking_number))
        return True


def tracking_url(pattern: str, tracking_number: str) -> str:
    """The carrier's tracking page for a number; the number is URL-encoded, so it cannot change the address."""
    if not pattern or not tracking_number:
        return ""
    return web_link(pattern.replace(TRACKING_PLACEHOLDER, quote(tracking_number, safe="")))


def _validated(form: CarrierForm, channel_ids: set[int]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name:
        errors["name"] = "Give the carrier a name, e.g. “Colissimo”."
    elif len(name) > 100:
        errors["name"] = "Use at most 100 characters."
    url = form.tracking_url_pattern.strip()
    if url:
        parsed = urlparse(url.replace(TRACKING_PLACEHOLDER, "0"))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors["tracking_url_pattern"] = (
                "Enter a web address starting with https://, e.g. https://track.example/{tracking}."
            )
        elif TRACKING_PLACEHOLDER not in url:
            errors["tracking_url_pattern"] = (
                "Put {tracking} where the tracking number goes, e.g. https://track.example/{tracking}."
            )
        elif len(url) > 500:
            errors["tracking_url_pattern"] = "Use at most 500 characters."
    pattern = form.tracking_number_pattern.strip()
    if len(pattern) > 200:
        errors["tracking_number_pattern"] = "Use at most 200 characters."
    elif pattern and (problem := pattern_problem(pattern)):
        errors["tracking_number_pattern"] = problem
    codes: dict[str, str] = {}
    for channel_id, raw in form.codes.items():
        code = raw.strip()
        if channel_id not in channel_ids or not code:
            continue
        if len(code) > 100:
            errors[f"code_{channel_id}"] = "Use at most 100 characters."
        codes[str(channel_id)] = code
    if errors:
        raise FieldErrors(errors, "Please correct the fields marked below; nothing was saved.")
    return {
        "name": name,
        "tracking_url_pattern": url,
        "tracking_number_pattern": pattern,
        "channel_codes": json.dumps(codes, sort_keys=True, ensure_ascii=False),
    }


async def _channel_ids() -> set[int]:
    return {row["id"] for row in await Channel.select(Channel.id)}


async def _name_taken(name: str, except_id: int | None = None) -> bool:
    wanted = name.casefold()
    rows = await Carrier.select(Carrier.id, Carrier.name)
    return any(row["name"].casefold() == wanted and row["id"] != except_id for row in rows)


def _name_error(name: str) -> FieldErrors:
    return FieldErrors(
        {"name": f"A carrier named {quoted(name)} already exists. Edit that one, or choose another name."},
        "Please correct the fields marked below; nothing was saved.",
    )


async def create_carrier(form: CarrierForm) -> int:
    values = _validated(form, await _channel_ids())
    if await _name_taken(values["name"]):
        raise _name_error(values["name"])
    rows = await Carrier.insert(Carrier(**values, active=True)).returning(Carrier.id)
    return rows[0]["id"]


async def update_carrier(carrier_id: int, form: CarrierForm, expected_version: int | None = None) -> int:
    """Save the form over the carrier it was opened for (`expected_version`); returns the new version."""
    current = await get_carrier(carrier_id)
    values = _validated(form, await _channel_ids())
    if await _name_taken(values["name"], except_id=carrier_id):
        raise _name_error(values["name"])
    updates = {getattr(Carrier, key): value for key, value in values.items()}
    return await save_versioned(Carrier, carrier_id, updates, expected_version, f"Carrier {quoted(current['name'])}")


async def delete_carrier(carrier_id: int) -> str:
    """Remove a carrier from the list; shipments keep its name. Returns the name."""
    carrier = await get_carrier(carrier_id)
    await Carrier.delete().where(Carrier.id == carrier_id)
    return carrier["name"]


async def get_carrier(carrier_id: int) -> dict[str, Any]:
    row = await Carrier.select().where(Carrier.id == carrier_id).first()
    if row is None:
        raise NotFound(f"Carrier {carrier_id} does not exist; it may have been deleted.")
    return _with_codes(row)


async def list_carriers(active_only: bool = False) -> list[dict[str, Any]]:
    """Carriers by name, each with `codes` (channel id → code)."""
    query = Carrier.select()
    if active_only:
        query = query.where(Carrier.active.eq(True))
    rows = await query
    rows.sort(key=lambda row: row["name"].casefold())
    return [_with_codes(row) for row in rows]


async def code_channels() -> list[dict[str, Any]]:
    """Every channel, each with what its marketplace calls a carrier's code (`code_name`; empty: it takes none)."""
    kinds = directory().channel_kinds()
    rows = await Channel.select(Channel.id, Channel.name, Channel.kind).order_by(Channel.name)
    return [{**row, "code_name": getattr(kinds.get(row["kind"]), "carrier_code_name", "")} for row in rows]


def form_of(carrier: dict[str, Any]) -> CarrierForm:
    """The form filled with a stored carrier, for editing."""
    return CarrierForm(
        name=carrier["name"],
        tracking_url_pattern=carrier["tracking_url_pattern"],
        tracking_number_pattern=carrier["tracking_number_pattern"],
        codes=dict(carrier.get("codes") or _codes_of(carrier)),
        version=carrier["version"],
    )


def channel_code(carrier: dict[str, Any] | None, channel_id: int) -> str:
    """The carrier's code on one channel; empty when the merchant has not given one."""
    if carrier is None:
        return ""
    codes = carrier.get("codes")
    if codes is None:
        codes = _codes_of(carrier)
    return codes.get(int(channel_id), "")


async def carrier_named(name: str) -> dict[str, Any] | None:
    """The carrier a supplier means by `name`: same name, or one of its codes (case and spacing ignored)."""
    wanted = " ".join(name.split()).casefold()
    if not wanted:
        return None
    for carrier in await list_carriers(active_only=True):
        names = {carrier["name"], carrier["code"], *carrier["codes"].values()}
        if wanted in {" ".join(n.split()).casefold() for n in names if n}:
            return carrier
    return None
