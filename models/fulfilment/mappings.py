"""Shipping mappings: a channel's shipping rate (e.g. *Free shipping*) → a supplier's method (*UPS Ground*).

One mapping per (channel, channel rate, supplier). Rates are matched exactly as the channel sends
them (surrounding spaces aside), which is how `models.suppliers.routing.shipping_method` looks them up.
"""

from __future__ import annotations

from typing import Any

from models import db
from models.core.errors import FieldErrors, NotFound
from models.core.quoting import quoted
from models.db.tables import Channel, ShippingMapping

MAX_LENGTH = 200
#: Suggestions are read from this many of a channel's (or supplier's) latest orders at most.
SUGGESTION_SAMPLE = 5000
MAX_SUGGESTIONS = 50


async def supplier_mappings(supplier_id: int) -> list[dict[str, Any]]:
    """The supplier's mappings with their channel's name, by channel then rate."""
    return await db.fetch(
        "SELECT m.id, m.channel, c.name AS channel_name, m.channel_rate, m.method "
        "FROM shipping_mapping m JOIN channel c ON c.id = m.channel "
        "WHERE m.supplier = {} ORDER BY c.name, m.channel_rate, m.id",
        supplier_id,
    )


def _text(value: str, field: str, empty_message: str, errors: dict[str, str]) -> str:
    value = (value or "").strip()
    if not value:
        errors[field] = empty_message
    elif len(value) > MAX_LENGTH:
        errors[field] = f"Use at most {MAX_LENGTH} characters."
    return value


def _method(value: str, errors: dict[str, str], field: str = "method") -> str:
    return _text(value, field, "Enter the supplier's carrier or shipping method, e.g. “UPS Ground”.", errors)


async def _duplicate_message(channel_id: int, channel_rate: str, supplier_id: int, channel_name: str) -> str | None:
    exists = await ShippingMapping.exists().where(
        (ShippingMapping.channel == channel_id)
        & (ShippingMapping.channel_rate == channel_rate)
        & (ShippingMapping.supplier == supplier_id)
    )
    return f"A mapping for {quoted(channel_rate)} on {channel_name} already exists." if exists else None


async def add_mapping(supplier_id: int, channel: str | int, channel_rate: str, method: str) -> int:
    """Add a mapping for the supplier; refuses empty values and a second mapping of the same rate."""
    errors: dict[str, str] = {}
    channel_row = None
    if str(channel).strip().isdigit():
        channel_row = await Channel.select(Channel.id, Channel.name).where(Channel.id == int(channel)).first()
    if channel_row is None:
        errors["channel"] = "Choose the channel whose shipping rate this is."
    channel_rate = _text(
        channel_rate, "channel_rate", "Enter the channel's shipping rate name, e.g. “Free shipping”.", errors
    )
    method = _method(method, errors)
    if channel_row and "channel_rate" not in errors:
        duplicate = await _duplicate_message(channel_row["id"], channel_rate, supplier_id, channel_row["name"])
        if duplicate:
            errors["channel_rate"] = duplicate
    if errors:
        raise FieldErrors(errors)
    try:
        async with db.transaction():
            mapping = ShippingMapping(
                channel=channel_row["id"], channel_rate=channel_rate, supplier=supplier_id, method=method
            )
            rows = await ShippingMapping.insert(mapping).returning(ShippingMapping.id)
    except Exception:
        # Someone added the same mapping at the same moment: the unique index refused this one.
        duplicate = await _duplicate_message(channel_row["id"], channel_rate, supplier_id, channel_row["name"])
        if duplicate:
            raise FieldErrors({"channel_rate": duplicate}) from None
        raise
    return rows[0]["id"]


async def _mapping(supplier_id: int, mapping_id: int) -> dict[str, Any]:
    mapping = (
        await ShippingMapping.select()
        .where((ShippingMapping.id == mapping_id) & (ShippingMapping.supplier == supplier_id))
        .first()
    )
    if mapping is None:
        raise NotFound("This shipping mapping no longer exists: reload the page to see the current ones.")
    return mapping


async def update_mapping(supplier_id: int, mapping_id: int, method: str) -> None:
    """Change the supplier method a mapping translates to."""
    await _mapping(supplier_id, mapping_id)
    errors: dict[str, str] = {}
    method = _method(method, errors)
    if errors:
        raise FieldErrors(errors)
    await ShippingMapping.update({ShippingMapping.method: method}).where(ShippingMapping.id == mapping_id)


async def delete_mapping(supplier_id: int, mapping_id: int) -> dict[str, Any]:
    """Remove a mapping; returns it as it was."""
    mapping = await _mapping(supplier_id, mapping_id)
    await ShippingMapping.delete().where(ShippingMapping.id == mapping_id)
    return mapping


async def channel_rates(channel_id: int | None) -> list[str]:
    """Shipping rate names the channel has sent, for suggestions: read from its latest orders only
    (one range of the (channel, channel order id) index), plus the rates already mapped for it."""
    if not channel_id:
        return []
    seen, mapped = await db.concurrently(
        db.fetch(
            "SELECT DISTINCT shipping_rate FROM (SELECT shipping_rate FROM orders WHERE channel = {} "
            "ORDER BY channel_order_id DESC LIMIT {}) recent WHERE shipping_rate <> ''",
            channel_id,
            SUGGESTION_SAMPLE,
        ),
        ShippingMapping.select(ShippingMapping.channel_rate).where(ShippingMapping.channel == channel_id),
    )
    rates = {row["shipping_rate"] for row in seen} | {row["channel_rate"] for row in mapped}
    return sorted(rates, key=str.casefold)[:MAX_SUGGESTIONS]


async def known_methods(supplier_id: int) -> list[str]:
    """Methods this supplier has been given before: in its mappings and its latest supplier orders."""
    used, mapped = await db.concurrently(
        db.fetch(
            "SELECT DISTINCT shipping_method FROM (SELECT shipping_method FROM supplier_order WHERE supplier = {} "
            "ORDER BY \"order\" DESC LIMIT {}) recent WHERE shipping_method <> ''",
            supplier_id,
            SUGGESTION_SAMPLE,
        ),
        ShippingMapping.select(ShippingMapping.method).where(ShippingMapping.supplier == supplier_id),
    )
    methods = {row["shipping_method"] for row in used} | {row["method"] for row in mapped}
    return sorted(methods, key=str.casefold)[:MAX_SUGGESTIONS]
