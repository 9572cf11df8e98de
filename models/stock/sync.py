"""Stock sync: supplier stock in, offer quantities out, by each channel's rules.

For every channel SKU in the catalog:

    supplier stock = what its suppliers can ship (0 from a supplier that cannot take orders,
                     e.g. its prepaid wallet is below the supplier's minimum)
    reserved       = units on open orders not yet sent to a supplier (held from the moment an order
                     is imported until the supplier has it, when the supplier's own stock drops)
    available      = supplier stock - reserved, never below 0
    offered        = available - the channel's safety buffer, capped, never below 0

Only offers whose quantity changed are queued; the outbox then sends them to the channel in the batch
size its API takes (see `jobs.stock_push`), always the latest quantity at the time of sending.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from models import db
from models.core.clock import now
from models.db.table_statistics import analyze_grown_tables
from models.db.tables import ChannelOffer, OutboxMessage, StockEvent, Supplier, SupplierStock

#: Order statuses whose lines hold stock: imported, not yet with a supplier.
RESERVING_STATUSES = ("pending_review", "awaiting_acceptance", "awaiting_fulfillment")
QUEUED, OK, FAILING, UNKNOWN = "queued", "ok", "failing", "unknown"
STOCK_ACTION = "stock"
#: Rows per bulk statement (both engines cap bound parameters).
CHUNK = 2_000
#: The tables planning writes to in bulk (their statistics follow them as they fill up).
PLANNED_TABLES = ("channel_offer", "stock_event", "outbox_message")


@dataclass
class PlanResult:
    """What a planning pass found: offers looked at, changed, and messages queued per channel."""

    offers: int = 0
    changed: int = 0
    messages: dict[int, int] = field(default_factory=dict)
    #: The outbox messages queued, for a caller who sends them at once (*Push now*).
    message_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.changed} of {self.offers} offers changed, {sum(self.messages.values())} pushes queued"


# --------------------------------------------------------------------------- supplier stock


async def record_supplier_stock(supplier_id: int, levels: dict[str, int]) -> int:
    """Keep what a supplier's stock API said; SKUs it no longer lists count as 0. Returns rows changed."""
    stamp = now()
    known = {
        r["supplier_sku"]: (r["id"], r["quantity"])
        for r in await SupplierStock.select(SupplierStock.id, SupplierStock.supplier_sku, SupplierStock.quantity).where(
            SupplierStock.supplier == supplier_id
        )
    }
    new = [
        SupplierStock(supplier=supplier_id, supplier_sku=sku, quantity=max(0, qty), changed_at=stamp)
        for sku, qty in levels.items()
        if sku not in known
    ]
    changed = [
        (row_id, max(0, levels.get(sku, 0))) for sku, (row_id, old) in known.items() if levels.get(sku, 0) != old
    ]
    async with db.transaction():
        await db.insert_chunked(new)
        await _bulk_set("supplier_stock", "quantity", changed)
        await _bulk_set_time("supplier_stock", "changed_at", [row_id for row_id, _ in changed], stamp)
        await Supplier.update({Supplier.stock_read_at: stamp}).where(Supplier.id == supplier_id)
    await analyze_grown_tables(["supplier_stock"])
    return len(new) + len(changed)


async def _bulk_set_time(table: str, column: str, ids: list[int], stamp: Any) -> None:
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        marks = ", ".join("{}" for _ in part)
        await db.fetch(f"UPDATE {table} SET {column} = {{}} WHERE id IN ({marks})", stamp, *part)


async def _bulk_set(table: str, column: str, values: list[tuple[int, int | None]]) -> None:
    """`UPDATE table SET column = value WHERE id = …` for many rows, a chunk per statement."""
    for start in range(0, len(values), CHUNK):
        part = values[start : start + CHUNK]
        rows = ", ".join("(CAST({} AS INTEGER), CAST({} AS INTEGER))" for _ in part)
        args = [x for pair in part for x in pair]
        await db.fetch(
            f"UPDATE {table} SET {column} = v.column2 FROM (VALUES {rows}) AS v WHERE {table}.id = v.column1", *args
        )


# --------------------------------------------------------------------------- the per-SKU view


async def supply(skus: Iterable[str] | None = None) -> dict[str, int]:
    """Channel SKU → units its active suppliers can ship (a supplier that cannot take orders counts 0).

    SKUs whose stock was never read from any supplier are left out: they are not offered at 0 by mistake."""
    where, args = _sku_filter("ci.channel_sku", skus)
    rows = await db.fetch(
        "SELECT ci.channel_sku AS sku, s.prepaid, s.wallet_balance, s.stock_min_wallet, ss.quantity "
        "FROM catalog_item ci JOIN supplier s ON s.id = ci.supplier "
        "LEFT JOIN supplier_stock ss ON ss.supplier = ci.supplier AND ss.supplier_sku = ci.supplier_sku "
        f"WHERE ci.active = {{}} AND s.active = {{}}{where}",
        True,
        True,
        *args,
    )
    out: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["quantity"] is None:
            continue  # never read from this supplier: unknown, not 0
        out[row["sku"]] += int(row["quantity"]) if can_take_orders(row) else 0
    return dict(out)


async def stock_read_at(skus: Iterable[str]) -> dict[str, Any]:
    """Channel SKU → when its supplier stock was last read: the oldest read among the active suppliers
    it is counted from, since the sum is only as fresh as its stalest part (a supplier whose reads fail
    keeps its old stock). SKUs never read are left out."""
    where, args = _sku_filter("ci.channel_sku", skus)
    rows = await db.fetch(
        "SELECT ci.channel_sku AS sku, s.stock_read_at AS read_at "
        "FROM catalog_item ci JOIN supplier s ON s.id = ci.supplier "
        "JOIN supplier_stock ss ON ss.supplier = ci.supplier AND ss.supplier_sku = ci.supplier_sku "
        f"WHERE ci.active = {{}} AND s.active = {{}} AND s.stock_read_at IS NOT NULL{where}",
        True,
        True,
        *args,
    )
    out: dict[str, Any] = {}
    for row in rows:
        if row["sku"] not in out or row["read_at"] < out[row["sku"]]:
            out[row["sku"]] = row["read_at"]
    return out


def can_take_orders(supplier: dict[str, Any]) -> bool:
    """False for a prepaid supplier whose wallet is below its minimum (or unknown while a minimum is set)."""
    minimum = supplier.get("stock_min_wallet")
    if not supplier.get("prepaid") or minimum is None:
        return True
    balance = supplier.get("wallet_balance")
    return balance is not None and balance >= minimum


async def reserved(skus: Iterable[str] | None = None) -> dict[str, int]:
    """Channel SKU → units on imported orders that no supplier has yet."""
    where, args = _sku_filter("ol.sku", skus)
    placeholders = ", ".join("{}" for _ in RESERVING_STATUSES)
    rows = await db.fetch(
        'SELECT ol.sku AS sku, SUM(ol.quantity) AS n FROM order_line ol JOIN orders o ON o.id = ol."order" '
        f"WHERE o.status IN ({placeholders}) AND ol.status NOT IN ({{}}, {{}}){where} GROUP BY ol.sku",
        *RESERVING_STATUSES,
        "rejected",
        "cancelled",
        *args,
    )
    return {r["sku"]: int(r["n"] or 0) for r in rows}


def offered(available: int, channel: dict[str, Any]) -> int:
    """The channel's rules: keep the safety buffer back, then cap."""
    quantity = max(0, available - int(channel.get("stock_buffer") or 0))
    cap = channel.get("stock_cap")
    return min(quantity, int(cap)) if cap is not None else quantity


#: Beyond this many SKUs a query reads them all instead of listing them (statements cap their parameters).
MAX_LISTED_SKUS = 5_000


def _sku_filter(column: str, skus: Iterable[str] | None) -> tuple[str, list[str]]:
    wanted = None if skus is None else sorted(set(skus))
    if wanted is None or len(wanted) > MAX_LISTED_SKUS:
        return "", []
    if not wanted:
        return f" AND {column} IS NULL", []
    return f" AND {column} IN ({', '.join('{}' for _ in wanted)})", wanted


# --------------------------------------------------------------------------- planning


async def syncing_channels() -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT id, name, kind, stock_buffer, stock_cap FROM channel WHERE stock_sync = {} AND active = {} ORDER BY id",
        True,
        True,
    )


async def plan_offers(
    skus: Iterable[str] | None = None,
    batch_sizes: dict[str, int] | None = None,
    force: bool = False,
    channel_ids: Iterable[int] | None = None,
) -> PlanResult:
    """Work out every offer's quantity (or only these SKUs'), queue pushes for those that changed.

    `batch_sizes`: offers per push by channel kind (the connector's `stock_batch_size`). `force` queues
    the SKUs even when nothing changed, and sends unknown and failing ones again (*Push now*).
    `channel_ids` limits the work to these channels (Retry on one channel's issue).
    """
    sku_set = None if skus is None else set(skus)
    channels = await syncing_channels()
    if channel_ids is not None:
        wanted = set(channel_ids)
        channels = [channel for channel in channels if channel["id"] in wanted]
    if not channels:
        return PlanResult()
    catalog_skus = await _catalog_skus(sku_set)
    supplies, holds = await db.concurrently(supply(sku_set), reserved(sku_set))
    available = {sku: max(0, supplies[sku] - holds.get(sku, 0)) for sku in catalog_skus if sku in supplies}
    result = PlanResult(offers=len(available) * len(channels))
    stamp = now()
    async with db.transaction():
        for channel in channels:
            existing = await _offers(channel["id"], sku_set)
            new_rows, quantity_changes, requeue, events, to_send = [], [], [], [], []
            for sku, units in available.items():
                wanted = offered(units, channel)
                row = existing.get(sku)
                behind = (supplies.get(sku, 0), holds.get(sku, 0))
                if row is None:
                    new_rows.append(
                        ChannelOffer(channel=channel["id"], sku=sku, quantity=wanted, state=QUEUED, changed_at=stamp)
                    )
                    events.append(_offer_event(channel, sku, None, wanted, *behind, stamp))
                    to_send.append(sku)
                    continue
                changed = row["quantity"] != wanted
                if changed:
                    quantity_changes.append((row["id"], wanted))
                    events.append(_offer_event(channel, sku, row["quantity"], wanted, *behind, stamp))
                if row["state"] == QUEUED and not force:
                    continue  # the queued push reads the quantity when it sends
                stale = row["state"] == OK and row["sent_quantity"] != wanted
                if force or changed or stale:
                    requeue.append(row["id"])
                    to_send.append(sku)
            await db.insert_chunked(new_rows)
            await _bulk_set("channel_offer", "quantity", quantity_changes)
            await _mark_queued(requeue, stamp)
            await db.insert_chunked(events)
            result.changed += len(to_send)
            size = (batch_sizes or {}).get(channel["kind"], 100)
            queued = await _queue_pushes(channel["id"], to_send, size, stamp)
            result.messages[channel["id"]] = len(queued)
            result.message_ids.extend(queued)
    await analyze_grown_tables(PLANNED_TABLES)
    return result


def _offer_event(
    channel: dict[str, Any], sku: str, before: int | None, after: int, stock: int, held: int, stamp: Any
) -> StockEvent:
    """The history line of an offer change, with the stock and reservation behind it.

    A SKU's first offer (`before` None) is a change too: nothing was offered, so it reads as from 0."""
    if before is None:
        change = f"first offer 0 → {after}" if after else "first offer 0"
    else:
        change = f"offer {before} → {after}"
    return StockEvent(
        sku=sku,
        channel=channel["id"],
        at=stamp,
        kind="offer",
        message=f"{channel['name']}: {change} (supplier stock {stock}, reserved {held})",
    )


async def _catalog_skus(skus: set[str] | None) -> list[str]:
    where, args = _sku_filter("channel_sku", skus)
    rows = await db.fetch(f"SELECT DISTINCT channel_sku FROM catalog_item WHERE active = {{}}{where}", True, *args)
    return [r["channel_sku"] for r in rows if skus is None or r["channel_sku"] in skus]


async def _offers(channel_id: int, skus: set[str] | None) -> dict[str, dict[str, Any]]:
    where, args = _sku_filter("sku", skus)
    rows = await db.fetch(
        f"SELECT id, sku, quantity, sent_quantity, state FROM channel_offer WHERE channel = {{}}{where}",
        channel_id,
        *args,
    )
    return {r["sku"]: r for r in rows}


async def _mark_queued(offer_ids: list[int], stamp: Any) -> None:
    for start in range(0, len(offer_ids), CHUNK):
        await ChannelOffer.update({ChannelOffer.state: QUEUED, ChannelOffer.changed_at: stamp}).where(
            ChannelOffer.id.is_in(offer_ids[start : start + CHUNK])
        )


async def _queue_pushes(channel_id: int, skus: list[str], size: int, stamp: Any) -> list[int]:
    """One outbox message per batch of SKUs; the message names the SKUs, never a quantity."""
    messages = [
        OutboxMessage(
            target_kind="channel",
            target_id=channel_id,
            order=None,
            action=STOCK_ACTION,
            idempotency_key=f"stock:{channel_id}:{uuid.uuid4().hex}",
            payload=json.dumps({"skus": skus[start : start + size]}),
            next_attempt_at=stamp,
            created_at=stamp,
        )
        for start in range(0, len(skus), max(1, size))
    ]
    return [row["id"] for row in await db.insert_chunked(messages, OutboxMessage.id)]
