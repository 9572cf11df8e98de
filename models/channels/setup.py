"""Channels: add and edit them, with validation a merchant can act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from models.accounts import credentials
from models.core.clock import now
from models.core.errors import FieldErrors, NotFound
from models.core.quoting import quoted
from models.core.versions import save_versioned
from models.db.tables import Channel
from models.orders.auto_accept import parse_below_cost_pct

MIN_POLL_INTERVAL_S = 10
MAX_POLL_INTERVAL_S = 86_400
MIN_HANDLING_DAYS = 1
MAX_HANDLING_DAYS = 60


@dataclass
class ChannelForm:
    name: str
    kind: str
    base_url: str
    poll_interval_s: str | int = 300
    auto_accept: bool = False
    #: The auto-accept rule (models.orders.auto_accept): hold orders with an unknown SKU …
    hold_unknown_sku: bool = False
    #: … or a line more than this many percent below its catalog cost ("" or None: no price check).
    hold_below_cost_pct: str | int | None = ""
    auto_process: bool = False
    active: bool = True
    currency: str = "EUR"
    #: Days from acceptance within which orders should ship (late after that, on the Metrics page).
    handling_days: str | int = 2
    #: New credential values; empty values keep what is stored.
    credentials: dict[str, str] = field(default_factory=dict)


def validate(form: ChannelForm, known_kinds: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = form.name.strip()
    if not name:
        errors["name"] = "Give the channel a name, e.g. “Fnac marketplace”."
    elif len(name) > 100:
        errors["name"] = "Use at most 100 characters."
    if form.kind not in known_kinds:
        errors["kind"] = "Choose a channel kind from the list."
    parsed = urlparse(form.base_url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        errors["base_url"] = "Enter the API base URL, starting with https:// (e.g. https://yourshop.mirakl.net)."
    try:
        interval = int(str(form.poll_interval_s).strip())
        if not MIN_POLL_INTERVAL_S <= interval <= MAX_POLL_INTERVAL_S:
            raise ValueError
    except ValueError:
        errors["poll_interval_s"] = f"Enter a number of seconds from {MIN_POLL_INTERVAL_S} to {MAX_POLL_INTERVAL_S}."
        interval = 300
    try:
        handling_days = int(str(form.handling_days).strip())
        if not MIN_HANDLING_DAYS <= handling_days <= MAX_HANDLING_DAYS:
            raise ValueError
    except ValueError:
        errors["handling_days"] = f"Enter a whole number of days from {MIN_HANDLING_DAYS} to {MAX_HANDLING_DAYS}."
        handling_days = 2
    currency = form.currency.strip().upper() or "EUR"
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = "Use a three-letter currency code such as EUR or CZK."
    below_cost_pct = None
    try:
        below_cost_pct = parse_below_cost_pct("" if form.hold_below_cost_pct is None else str(form.hold_below_cost_pct))
    except FieldErrors as exc:
        errors.update(exc.errors)
    if errors:
        raise FieldErrors(errors)
    return {
        "name": name,
        "kind": form.kind,
        "base_url": form.base_url.strip().rstrip("/"),
        "poll_interval_s": interval,
        "auto_accept": form.auto_accept,
        "hold_unknown_sku": form.hold_unknown_sku,
        "hold_below_cost_pct": below_cost_pct,
        "auto_process": form.auto_process,
        "handling_days": handling_days,
        "active": form.active,
        "currency": currency,
    }


async def create_channel(form: ChannelForm, known_kinds: dict[str, Any]) -> int:
    values = validate(form, known_kinds)
    if await Channel.exists().where(Channel.name == values["name"]):
        raise FieldErrors({"name": f"A channel named {quoted(values['name'])} already exists."})
    rows = await Channel.insert(
        Channel(**values, credentials=credentials.encrypt(form.credentials), created_at=now())
    ).returning(Channel.id)
    return rows[0]["id"]


async def update_channel(
    channel_id: int, form: ChannelForm, known_kinds: dict[str, Any], expected_version: int | None = None
) -> int:
    """Save the form over the channel it was opened for (`expected_version`); returns the new version."""
    values = validate(form, known_kinds)
    current = await get_channel(channel_id)
    if await Channel.exists().where((Channel.name == values["name"]) & (Channel.id != channel_id)):
        raise FieldErrors({"name": f"A channel named {quoted(values['name'])} already exists."})
    try:
        stored = credentials.decrypt(current["credentials"])
    except credentials.CredentialsUnreadable as exc:  # saving could only lose them: refuse, change nothing
        raise FieldErrors({"credentials": exc.message}, exc.message) from None
    updates = {getattr(Channel, k): v for k, v in values.items()}
    merged = stored | {k: v for k, v in form.credentials.items() if v}
    if merged != stored:  # only a typed value changes them; the column is left alone otherwise
        updates[Channel.credentials] = credentials.encrypt(merged)
    return await save_versioned(Channel, channel_id, updates, expected_version, f"Channel {quoted(current['name'])}")


async def get_channel(channel_id: int) -> dict[str, Any]:
    row = await Channel.select().where(Channel.id == channel_id).first()
    if row is None:
        raise NotFound(f"Channel {channel_id} does not exist.")
    return row


def credential_fields_set(channel: dict[str, Any]) -> list[str]:
    """Names of stored credential fields (never their values); none when this key cannot read them."""
    try:
        return sorted(credentials.decrypt(channel.get("credentials", "")))
    except credentials.CredentialsUnreadable:
        return []


def credentials_unreadable(channel: dict[str, Any]) -> bool:
    """Whether credentials are stored that this instance's secret keys cannot decrypt."""
    return not credentials.readable(channel.get("credentials", ""))
