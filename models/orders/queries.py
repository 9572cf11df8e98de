"""Read side of the dashboard: filtered, keyset-paginated order lists, tab counts, order detail.

Lists are ordered newest first by (placed_at, id) and paged by keyset so any page costs the same.
Tab counts without filters come from trigger-maintained counters; with filters they are counted
up to a cap so a broad search never scans the whole table.

Search words and the supplier filter are planned by how many rows they match (counted up to a cap
through their index): a selective one drives the query (its orders are looked up by id), a broad
one is checked per order while orders are read newest first. Either way a page reads few rows.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from models import db
from models.core.bounds import row_id, within_days
from models.core.clock import from_row
from models.core.search_terms import prefix_upper_bound, query_words
from models.db.tables import (
    Channel,
    Event,
    Order,
    OrderLine,
    ReviewIssue,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierOrder,
)
from models.orders.lifecycle import TAB_STATUSES, TABS, OrderStatus
from models.orders.shipping_summary import ShippingSummary, summarize

PAGE_SIZE = 50
#: Filtered tab counts look at no more than this many matching orders; beyond it they read "1,000+".
#: (Each matching order counted is a lookup, about 2 µs on SQLite: 10,000 of them took a search page
#: past its 50 ms budget at a million orders.)
COUNT_CAP = 1_000
#: A search word or supplier matching at most this many rows drives a list query; a broader one is
#: checked per order instead (reading ~PAGE_SIZE × orders / matches orders).
DRIVE_LIMIT = 5_000
#: With several criteria (which intersect to fewer orders), the most selective drives up to this many.
MULTI_DRIVE_LIMIT = 10_000

LIST_COLUMNS = (
    "o.id, o.channel, o.channel_order_id, o.status, o.placed_at, o.currency, o.total, "
    "o.customer_first_name, o.customer_last_name, o.ship_first_name, o.ship_last_name, "
    "o.ship_city, o.ship_postcode, o.ship_country, o.payment_status, o.version"
)


@dataclass
class OrderFilter:
    tab: str = "all"
    q: str = ""
    channel_id: int | None = None
    supplier_id: int | None = None
    placed_from: dt.datetime | None = None
    placed_to: dt.datetime | None = None
    #: How the search words and supplier filter are planned, worked out once per filter (see below).
    _plan: tuple[tuple, asyncio.Future] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def narrows_beyond_channel(self) -> bool:
        return bool(query_words(self.q) or self.supplier_id or self.placed_from or self.placed_to)


@dataclass
class OrderPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    issues: dict[int, list[str]] = field(default_factory=dict)
    line_summary: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Orders of the page awaiting fulfillment that already have a supplier order (no Process for them).
    dispatched: set[int] = field(default_factory=set)


#: Cursors are about 60 characters; a longer one is not ours.
MAX_CURSOR_LENGTH = 200


def encode_cursor(placed_at: dt.datetime, order_id: int) -> str:
    raw = json.dumps([placed_at.isoformat(), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int] | None:
    """Parse a cursor; a malformed one, or one beyond what a row can hold, means "first page" rather than an error."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        placed, order_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        placed_at = dt.datetime.fromisoformat(placed)
        if placed_at.tzinfo is None or not within_days(placed_at):
            return None
        return placed_at, row_id(order_id)
    except (ValueError, TypeError, RecursionError):  # (`OutOfBounds` is a `ValueError`)
        return None


@dataclass
class _Criterion:
    """A search word or the supplier filter: rows of `source` naming matching orders, and their index."""

    source: str  # table and alias
    condition: str  # matching rows (an index range)
    order_id: str  # the column naming the order
    newest_first: str  # ORDER BY walking the index range backwards: newest orders first within a key
    args: list[Any]
    rows: int = 0  # matching index entries, counted up to MULTI_DRIVE_LIMIT + 1

    @property
    def ids_sql(self) -> str:
        return f"SELECT {self.order_id} FROM {self.source} WHERE {self.condition}"

    @property
    def exists_sql(self) -> str:
        return f"EXISTS (SELECT 1 FROM {self.source} WHERE {self.order_id} = o.id AND {self.condition})"


def _criteria_of(flt: OrderFilter) -> list[_Criterion]:
    criteria = []
    if flt.supplier_id:
        criteria.append(
            _Criterion(
                "supplier_order so",
                "so.supplier = {}",
                'so."order"',
                'so.supplier DESC, so."order" DESC',
                [flt.supplier_id],
            )
        )
    for word in query_words(flt.q):
        criteria.append(
            _Criterion(
                "order_search_term t",
                "t.term >= {} AND t.term < {}",
                't."order"',
                't.term DESC, t."order" DESC',
                [word, prefix_upper_bound(word)],
            )
        )
    return criteria


async def _planned_criteria(flt: OrderFilter) -> list[_Criterion]:
    """The filter's criteria, most selective first, each with its (capped) number of matching rows.

    Worked out once per filter object: the list and its tab counts (often fetched concurrently)
    share one plan."""
    if not (flt.supplier_id or query_words(flt.q)):
        return []
    key = (flt.q, flt.supplier_id, asyncio.get_running_loop())
    if flt._plan is None or flt._plan[0] != key:
        flt._plan = (key, asyncio.ensure_future(_estimate_criteria(flt)))
    return list(await asyncio.shield(flt._plan[1]))


async def _estimate_criteria(flt: OrderFilter) -> list[_Criterion]:
    criteria = _criteria_of(flt)
    for criterion in criteria:
        rows = await db.fetch(
            f"SELECT COUNT(*) AS n FROM ({criterion.ids_sql} LIMIT {{}}) matched",
            *criterion.args,
            MULTI_DRIVE_LIMIT + 1,
        )
        criterion.rows = int(rows[0]["n"])
    criteria.sort(key=lambda c: c.rows)
    return criteria


def _where(
    flt: OrderFilter, statuses: tuple[OrderStatus, ...], criteria: list[_Criterion], may_drive: bool = True
) -> tuple[list[str], list[Any]]:
    """WHERE clauses for `flt` restricted to `statuses`. Of the planned `criteria`, the most selective one
    drives (`o.id IN …`) when it is selective enough; the others are per-order `EXISTS` tests."""
    clauses: list[str] = []
    args: list[Any] = []
    if statuses:
        clauses.append("o.status IN (" + ", ".join("{}" for _ in statuses) + ")")
        args.extend(s.value for s in statuses)
    if flt.channel_id:
        clauses.append("o.channel = {}")
        args.append(flt.channel_id)
    if flt.placed_from:
        clauses.append("o.placed_at >= {}")
        args.append(flt.placed_from)
    if flt.placed_to:
        clauses.append("o.placed_at < {}")
        args.append(flt.placed_to)
    # Several criteria intersect to fewer orders than any one of them matches, so then the most
    # selective one may drive with more matches.
    limit = DRIVE_LIMIT if len(criteria) == 1 else MULTI_DRIVE_LIMIT
    drives = may_drive and bool(criteria) and criteria[0].rows <= limit
    for i, criterion in enumerate(criteria):
        if i == 0 and drives:
            clauses.append(f"o.id IN ({criterion.ids_sql})")
        else:
            clauses.append(criterion.exists_sql)
        args.extend(criterion.args)
    return clauses, args


async def list_orders(flt: OrderFilter, cursor: str | None = None, limit: int = PAGE_SIZE) -> OrderPage:
    statuses = TAB_STATUSES.get(flt.tab, ())
    position = decode_cursor(cursor) if cursor else None
    criteria = await _planned_criteria(flt)

    clauses, args = _where(flt, statuses, criteria)
    if position:
        # A row-value comparison is one index range; the equivalent OR form made the database walk
        # the index from the newest order down to the cursor, so deep pages got slower and slower.
        clauses.append("(o.placed_at, o.id) < ({}, {})")
        args.extend([position[0], position[1]])
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    newest_first = "ORDER BY o.placed_at DESC, o.id DESC"
    # The page's ids first, then its rows by id. PostgreSQL takes a common status (Delivered: 82 % of
    # the orders) to be spread evenly over time: asked for the rows at once, it walked the placed_at
    # index past the 30,000 newest orders, still open, reading each (8.5 ms at a million orders).
    # Asked for the ids, it reads them from the (status, placed_at, id) index alone (0.3 ms).
    # SQLite answers both forms alike.
    ids = f"SELECT o.id FROM orders o{where} {newest_first} LIMIT {{}}"
    sql = f"SELECT {LIST_COLUMNS} FROM orders o WHERE o.id IN ({ids}) {newest_first}"
    rows = await db.fetch(sql, *args, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(from_row(last["placed_at"]), last["id"])
    for row in rows:
        row["placed_at"] = from_row(row["placed_at"])
    page = OrderPage(rows=rows, next_cursor=next_cursor)
    ids = [row["id"] for row in rows]
    if ids:
        awaiting = [row["id"] for row in rows if row["status"] == OrderStatus.AWAITING_FULFILLMENT]
        page.issues, page.line_summary, page.dispatched = await db.concurrently(
            open_issue_messages(ids), line_summaries(ids), dispatched_orders(awaiting)
        )
    return page


async def list_row(order_id: int) -> OrderPage:
    """One order as a dashboard row (after an action on that row)."""
    rows = await db.fetch(f"SELECT {LIST_COLUMNS} FROM orders o WHERE o.id = {{}}", order_id)
    for row in rows:
        row["placed_at"] = from_row(row["placed_at"])
    page = OrderPage(rows=rows, next_cursor=None)
    if rows:
        page.issues = await open_issue_messages([order_id])
        page.line_summary = await line_summaries([order_id])
        page.dispatched = await dispatched_orders([order_id])
    return page


#: Supplier order statuses after which Process is no longer offered.
SENT_OR_QUEUED = ("pending", "processed", "on_hold", "shipped")


async def channel_names() -> dict[int, str]:
    return {row["id"]: row["name"] for row in await Channel.select(Channel.id, Channel.name)}


async def dispatched_orders(order_ids: list[int]) -> set[int]:
    """Which of these orders are sent, or queued to be sent, to a supplier (the order page's rule too)."""
    if not order_ids:
        return set()
    # The status is tested here, not in SQL: with both conditions SQLite's planner may read every
    # supplier order of those statuses (1.6 million "shipped" at a million orders, 2 s) instead of
    # the few rows of these orders.
    rows = await SupplierOrder.select(SupplierOrder.order, SupplierOrder.status).where(
        SupplierOrder.order.is_in(order_ids)
    )
    return {row["order"] for row in rows if row["status"] in SENT_OR_QUEUED}


async def open_issue_messages(order_ids: list[int]) -> dict[int, list[str]]:
    rows = (
        await ReviewIssue.select(ReviewIssue.order, ReviewIssue.message)
        .where(ReviewIssue.order.is_in(order_ids) & ReviewIssue.resolved_at.is_null())
        .order_by(ReviewIssue.id)
    )
    out: dict[int, list[str]] = {}
    for row in rows:
        out.setdefault(row["order"], []).append(row["message"])
    return out


async def line_summaries(order_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = (
        await OrderLine.select(OrderLine.order, OrderLine.sku, OrderLine.quantity)
        .where(OrderLine.order.is_in(order_ids))
        .order_by(OrderLine.position)
    )
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        summary = out.setdefault(row["order"], {"items": 0, "skus": []})
        summary["items"] += row["quantity"]
        summary["skus"].append(row["sku"])
    return out


async def status_counts(channel_id: int | None = None) -> dict[str, int]:
    """Orders per status from the trigger-maintained counters (never scans orders)."""
    if channel_id:
        rows = await db.fetch("SELECT status, n FROM order_status_count WHERE channel_id = {}", channel_id)
    else:
        rows = await db.fetch("SELECT status, SUM(n) AS n FROM order_status_count GROUP BY status")
    return {row["status"]: int(row["n"] or 0) for row in rows}


async def pending_review_count() -> int:
    rows = await db.fetch(
        "SELECT SUM(n) AS n FROM order_status_count WHERE status = {}",
        OrderStatus.PENDING_REVIEW.value,
    )
    return int(rows[0]["n"] or 0) if rows else 0


@dataclass
class TabCount:
    slug: str
    label: str
    count: int
    capped: bool = False


async def tab_counts(flt: OrderFilter) -> list[TabCount]:
    """Orders per tab. Unfiltered: from the counters. Filtered: one pass over at most `COUNT_CAP` + 1
    matching orders; when more match, every count is "at least" (`capped`)."""
    if not flt.narrows_beyond_channel:
        per_status = await status_counts(flt.channel_id)
        result = []
        for slug, label, statuses in TABS:
            count = sum(per_status.get(s.value, 0) for s in statuses) if statuses else sum(per_status.values())
            result.append(TabCount(slug, label, count))
        return result
    criteria = await _planned_criteria(flt)
    if criteria and db.is_sqlite():
        # Read the matches of the most selective criterion through its index, newest first, stopping
        # at the cap: never more than COUNT_CAP + 1 orders are looked up, however broad the search.
        driver, others = criteria[0], criteria[1:]
        clauses, args = _where(flt, (), others, may_drive=False)
        where = " AND ".join([driver.condition, f"o.id = {driver.order_id}", *clauses])
        rows = await db.fetch(
            f"SELECT status, COUNT(*) AS n FROM (SELECT DISTINCT o.id, o.status FROM {driver.source} "
            f"CROSS JOIN orders o WHERE {where} ORDER BY {driver.newest_first} LIMIT {{}}) capped GROUP BY status",
            *driver.args,
            *args,
            COUNT_CAP + 1,
        )
    else:
        clauses, args = _where(flt, (), criteria)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = await db.fetch(
            f"SELECT status, COUNT(*) AS n FROM (SELECT o.status FROM orders o{where} LIMIT {{}}) capped "
            "GROUP BY status",
            *args,
            COUNT_CAP + 1,
        )
    per_status = {row["status"]: int(row["n"]) for row in rows}
    total = sum(per_status.values())
    capped = total > COUNT_CAP
    result = []
    for slug, label, statuses in TABS:
        count = sum(per_status.get(s.value, 0) for s in statuses) if statuses else total
        result.append(TabCount(slug, label, min(count, COUNT_CAP), capped=capped))
    return result


@dataclass
class OrderDetail:
    order: dict[str, Any]
    channel: dict[str, Any]
    lines: list[dict[str, Any]]
    shipments: list[dict[str, Any]]
    issues: list[dict[str, Any]]
    events: list[dict[str, Any]]
    supplier_orders: list[dict[str, Any]]

    @property
    def shipping(self) -> ShippingSummary:
        """Per accepted line: shipped, waiting for Mark as shipped, and left to ship."""
        return summarize(self.lines, self.shipments)


async def order_supplier_orders(order_id: int) -> list[dict[str, Any]]:
    """An order's supplier orders with their supplier's name, oldest first."""
    return await (
        SupplierOrder.select(SupplierOrder.all_columns(), SupplierOrder.supplier.name)
        .where(SupplierOrder.order == order_id)
        .order_by(SupplierOrder.id)
    )


async def order_with_lines(order_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """An order's row and its lines in position order: what an answer about a decision shows."""
    order = await Order.select().where(Order.id == order_id).first()
    if order is None:
        return None
    lines = await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.position)
    return order, lines


@dataclass
class OrderShipping:
    """An order with what its shipping depends on: the part of the order page the shipping API answers with."""

    order: dict[str, Any]
    channel: dict[str, Any]
    lines: list[dict[str, Any]]
    shipments: list[dict[str, Any]]

    @property
    def shipping(self) -> ShippingSummary:
        """Per accepted line: shipped, waiting for Mark as shipped, and left to ship."""
        return summarize(self.lines, self.shipments)


def _channel_of(order: dict[str, Any]):
    return Channel.select(Channel.id, Channel.name, Channel.kind).where(Channel.id == order["channel"]).first().run()


def _lines_of(order_id: int):
    return OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.position).run()


def _shipments_of(order_id: int):
    return Shipment.select().where(Shipment.order == order_id).order_by(Shipment.id).run()


async def _with_parcel_lines(shipments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each shipment's lines (`sku`, `quantity`, `line_id`) under its `lines` key."""
    if not shipments:
        return shipments
    shipment_lines = (
        await ShipmentLine.select(
            ShipmentLine.shipment, ShipmentLine.quantity, ShipmentLine.order_line, ShipmentLine.order_line.sku
        )
        .where(ShipmentLine.shipment.is_in([s["id"] for s in shipments]))
        .order_by(ShipmentLine.id)
    )
    by_shipment: dict[int, list[dict[str, Any]]] = {}
    for row in shipment_lines:
        by_shipment.setdefault(row["shipment"], []).append(
            {"sku": row["order_line.sku"], "quantity": row["quantity"], "line_id": row["order_line"]}
        )
    for shipment in shipments:
        shipment["lines"] = by_shipment.get(shipment["id"], [])
    return shipments


async def order_shipping(order_id: int) -> OrderShipping | None:
    """The order, its channel, lines and parcels; not its audit trail, issues or supplier orders."""
    order = await Order.select().where(Order.id == order_id).first()
    if order is None:
        return None
    channel, lines, shipments = await db.concurrently(_channel_of(order), _lines_of(order_id), _shipments_of(order_id))
    return OrderShipping(order, channel or {}, lines, await _with_parcel_lines(shipments))


async def order_detail(order_id: int, event_limit: int = 200) -> OrderDetail | None:
    order = await Order.select().where(Order.id == order_id).first()
    if order is None:
        return None
    channel, lines, shipments, issues, events, supplier_orders = await db.concurrently(
        _channel_of(order),
        _lines_of(order_id),
        _shipments_of(order_id),
        ReviewIssue.select()
        .where((ReviewIssue.order == order_id) & ReviewIssue.resolved_at.is_null())
        .order_by(ReviewIssue.id)
        .run(),
        Event.select(
            Event.id,
            Event.at,
            Event.actor_kind,
            Event.actor_name,
            Event.kind,
            Event.message,
            Event.order_line,
            Event.order_line.sku,
        )
        .where(Event.order == order_id)
        .order_by(Event.at, ascending=False)
        .order_by(Event.id, ascending=False)
        .limit(event_limit)
        .run(),
        order_supplier_orders(order_id),
    )
    shipments = await _with_parcel_lines(shipments)
    return OrderDetail(order, channel or {}, lines, shipments, issues, events, supplier_orders)


async def filter_choices() -> dict[str, list[dict[str, Any]]]:
    channels = await Channel.select(Channel.id, Channel.name).order_by(Channel.name)
    suppliers = await Supplier.select(Supplier.id, Supplier.name).order_by(Supplier.name)
    return {"channels": channels, "suppliers": suppliers}


async def iter_export_rows(flt: OrderFilter, batch: int = 1000):
    """Every order of the filtered view, in list order, in batches (for CSV export)."""
    cursor: str | None = None
    while True:
        with db.reads_in_threads():  # a thousand orders a batch
            page = await list_orders(flt, cursor, limit=batch)
        yield page
        if not page.next_cursor:
            return
        cursor = page.next_cursor
