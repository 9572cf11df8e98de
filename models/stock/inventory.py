"""The Inventory page's reads: a page of SKUs with stock, reservations and offers, and one SKU in full."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from models import db
from models.core.bounds import OutOfBounds, whole_number
from models.core.errors import FieldErrors
from models.core.quoting import quoted
from models.db.tables import Channel, ChannelOffer, StockEvent, Supplier
from models.stock.sync import FAILING, QUEUED, UNKNOWN, can_take_orders, offered, reserved, stock_read_at, supply

PAGE_SIZE = 50
FILTERS = {"all": "All SKUs", "out": "Out of stock", "failing": "Push failing"}
#: An offer whose push is failing: given up, unknown to the channel, or failed and waiting for its retry.
FAILING_SQL = f"(state IN ('{FAILING}', '{UNKNOWN}') OR (state = '{QUEUED}' AND message <> ''))"
HISTORY = 100


@dataclass
class InventoryPage:
    rows: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    next_after: str = ""
    counts: dict[str, int] = field(default_factory=dict)


async def stock_channels() -> list[dict[str, Any]]:
    """Channels that sync stock, or still hold offers from when they did."""
    return await db.fetch(
        "SELECT id, name, kind, stock_sync, stock_buffer, stock_cap FROM channel "
        "WHERE stock_sync = {} OR id IN (SELECT DISTINCT channel FROM channel_offer) ORDER BY name",
        True,
    )


async def inventory_page(q: str = "", show: str = "all", after: str = "") -> InventoryPage:
    """Up to 50 SKUs from the catalog in SKU order after `after`, matching the search and the filter."""
    clauses, args = ["ci.active = {}"], [True]
    term = q.strip()
    if term:
        clauses.append("LOWER(ci.channel_sku) LIKE {}")
        args.append(f"%{term.lower()}%")
    if after:
        clauses.append("ci.channel_sku > {}")
        args.append(after)
    if show == "out":
        clauses.append("ci.channel_sku IN (SELECT sku FROM channel_offer GROUP BY sku HAVING MAX(quantity) = 0)")
    elif show == "failing":
        clauses.append(f"ci.channel_sku IN (SELECT sku FROM channel_offer WHERE {FAILING_SQL})")
    rows = await db.fetch(
        f"SELECT DISTINCT ci.channel_sku AS sku FROM catalog_item ci WHERE {' AND '.join(clauses)} "
        f"ORDER BY ci.channel_sku LIMIT {PAGE_SIZE + 1}",
        *args,
    )
    skus = [r["sku"] for r in rows[:PAGE_SIZE]]
    channels = await stock_channels()
    return InventoryPage(
        rows=await sku_rows(skus, channels),
        channels=channels,
        next_after=skus[-1] if len(rows) > PAGE_SIZE else "",
        counts=await filter_counts(),
    )


async def filter_counts() -> dict[str, int]:
    out, failing = await db.concurrently(
        db.fetch("SELECT COUNT(*) AS n FROM (SELECT sku FROM channel_offer GROUP BY sku HAVING MAX(quantity) = 0) x"),
        db.fetch(f"SELECT COUNT(DISTINCT sku) AS n FROM channel_offer WHERE {FAILING_SQL}"),
    )
    return {"out": int(out[0]["n"]), "failing": int(failing[0]["n"])}


async def sku_rows(skus: list[str], channels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per SKU: supplier stock and when it was read, reserved, available, and its offer on each channel."""
    if not skus:
        return []
    supplies, holds, reads = await db.concurrently(supply(skus), reserved(skus), stock_read_at(skus))
    offers = await ChannelOffer.select().where(ChannelOffer.sku.is_in(skus))
    by_sku: dict[str, dict[int, dict[str, Any]]] = {}
    for offer in offers:
        offer["failing"] = is_failing(offer)
        by_sku.setdefault(offer["sku"], {})[offer["channel"]] = offer
    rows = []
    for sku in skus:
        stock, held = supplies.get(sku, 0), holds.get(sku, 0)
        rows.append(
            {
                "sku": sku,
                "supplier_stock": stock,
                "stock_read": sku in supplies,
                "read_at": reads.get(sku),
                "reserved": held,
                "available": max(0, stock - held),
                "offers": by_sku.get(sku, {}),
                "failing": any(o["failing"] for o in by_sku.get(sku, {}).values()),
            }
        )
    return rows


def is_failing(offer: dict[str, Any]) -> bool:
    return offer["state"] in (FAILING, UNKNOWN) or (offer["state"] == QUEUED and bool(offer["message"]))


async def sku_detail(sku: str) -> dict[str, Any] | None:
    """One SKU: each supplier's stock, the reservation, each channel's offer and rule, and its history."""
    sources = await db.fetch(
        "SELECT s.id, s.name, s.prepaid, s.wallet_balance, s.wallet_currency, s.stock_min_wallet, s.active, "
        "s.stock_read_at, ci.supplier_sku, ci.active AS item_active, ss.quantity, ss.changed_at "
        "FROM catalog_item ci JOIN supplier s ON s.id = ci.supplier "
        "LEFT JOIN supplier_stock ss ON ss.supplier = ci.supplier AND ss.supplier_sku = ci.supplier_sku "
        "WHERE ci.channel_sku = {} ORDER BY ci.priority, s.name",
        sku,
    )
    if not sources:
        return None
    for source in sources:
        source["takes_orders"] = can_take_orders(source)
    channels = await stock_channels()
    [row] = await sku_rows([sku], channels)
    for channel in channels:
        channel["rule_quantity"] = offered(row["available"], channel) if channel["stock_sync"] else None
    history = (
        await StockEvent.select(StockEvent.at, StockEvent.kind, StockEvent.message, StockEvent.channel)
        .where(StockEvent.sku == sku)
        .order_by(StockEvent.at, ascending=False)
        .order_by(StockEvent.id, ascending=False)
        .limit(HISTORY)
    )
    return {"sku": sku, "sources": sources, "row": row, "channels": channels, "history": history}


# --------------------------------------------------------------------------- rules


async def stock_rules() -> dict[str, list[dict[str, Any]]]:
    channels = await Channel.select(
        Channel.id, Channel.name, Channel.kind, Channel.stock_sync, Channel.stock_buffer, Channel.stock_cap
    ).order_by(Channel.name)
    suppliers = (
        await Supplier.select(
            Supplier.id, Supplier.name, Supplier.wallet_balance, Supplier.wallet_currency, Supplier.stock_min_wallet
        )
        .where(Supplier.prepaid == True)  # noqa: E712
        .order_by(Supplier.name)
    )
    return {"channels": channels, "suppliers": suppliers}


def _whole(value: str, label: str, errors: dict[str, str], key: str, *, allow_empty: bool) -> int | None:
    text = (value or "").strip()
    if not text:
        if not allow_empty:
            errors[key] = f"{label}: enter a whole number, 0 or more."
        return None
    try:
        return whole_number(text)
    except OutOfBounds as exc:
        too_big = not exc.malformed and not text.startswith("-")
        why = exc.message if too_big else f"{quoted(text)} is not a whole number, 0 or more"
        errors[key] = f"{label}: {why}."
        return None


async def set_channel_rule(channel_id: int, sync: bool, buffer: str, cap: str) -> None:
    """Save a channel's stock rule; refused input changes nothing and says which field is wrong."""
    errors: dict[str, str] = {}
    buffer_value = _whole(buffer, "Safety buffer", errors, "buffer", allow_empty=True) or 0
    cap_value = _whole(cap, "Cap", errors, "cap", allow_empty=True)
    if errors:
        raise FieldErrors(errors)
    await Channel.update(
        {Channel.stock_sync: sync, Channel.stock_buffer: buffer_value, Channel.stock_cap: cap_value}
    ).where(Channel.id == channel_id)


async def set_supplier_minimum(supplier_id: int, minimum: str) -> None:
    """Below this wallet balance (in the wallet's currency, e.g. `50` or `49.90`; empty: none) the
    supplier's stock counts as 0 on every channel."""
    text = (minimum or "").strip().replace(",", ".")
    value = None
    if text:
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:
            raise FieldErrors({"minimum": f"Minimum wallet: {quoted(minimum)} is not an amount such as 50 or 49.90."})
        value = int(amount * 100)
    await Supplier.update({Supplier.stock_min_wallet: value}).where(Supplier.id == supplier_id)
