"""Idempotent import of channel orders: the one way orders enter Waybill.

Re-reading an order never duplicates it and never overwrites the merchant's edits; every distinct
version of the channel's payload is kept. A batch goes in one transaction; if the batch fails, each
order is retried alone so one bad order never blocks the others.

Rows are built as plain tuples and written with `models.db.bulk` (a backfill writes a dozen rows per
order, and building Piccolo objects for them cost far more than the database did).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from models import db
from models.core.actors import Actor
from models.core.clock import now, to_utc_seconds
from models.core.quoting import isolated, quoted
from models.core.search_terms import order_terms
from models.db import bulk
from models.db.table_statistics import analyze_grown_tables
from models.db.tables import Event, Order, OrderLine, OrderSearchTerm, OutboxMessage, RawPayload, ReviewIssue
from models.notifications.new_orders import queue_acceptance_notices
from models.orders.auto_accept import HELD_EVENT, held_message, orders_to_hold
from models.orders.lifecycle import LineStatus, OrderStatus, PaymentMethod, PaymentStatus
from models.orders.validation import Problem, order_problems
from models.ports import IncomingOrder, clean_identifiers, drop_nul

log = logging.getLogger(__name__)

#: Values per `IN (…)` list, well below both engines' bound-parameter limits.
IN_CHUNK = 5_000
#: New orders handed to the database at a time: it starts on the first ones while the next are built.
ORDERS_PER_INSERT = 256

INSERT_ORDER = bulk.TableInsert(
    Order,
    (
        "channel", "channel_order_id", "status", "version", "channel_status", "channel_status_confirmed_at",
        "payment_method", "payment_status", "currency", "total", "shipping_total", "shipping_rate",
        "customer_first_name", "customer_last_name", "customer_email", "customer_phone",
        "ship_first_name", "ship_last_name", "ship_company", "ship_street1", "ship_street2", "ship_postcode",
        "ship_city", "ship_region", "ship_country", "ship_phone", "placed_at", "imported_at", "updated_at",
        "accepted_at",
    ),
)  # fmt: skip
INSERT_LINE = bulk.TableInsert(
    OrderLine, ("order", "position", "channel_line_id", "sku", "title", "quantity", "unit_price", "status")
)
INSERT_ISSUE = bulk.TableInsert(ReviewIssue, ("order", "order_line", "code", "message", "source", "opened_at"))
INSERT_EVENT = bulk.TableInsert(
    Event, ("order", "order_line", "at", "actor_kind", "actor_name", "kind", "message", "details")
)
INSERT_TERM = bulk.TableInsert(OrderSearchTerm, ("order", "term"))
INSERT_PAYLOAD = bulk.TableInsert(RawPayload, ("channel", "channel_order_id", "digest", "received_at", "body"))
INSERT_OUTBOX = bulk.TableInsert(
    OutboxMessage,
    (
        "target_kind", "target_id", "order", "action", "idempotency_key", "payload", "state", "next_attempt_at",
        "created_at",
    ),
)  # fmt: skip


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    needs_review: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: ImportResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.needs_review += other.needs_review
        self.failed.extend(other.failed)

    def summary(self) -> str:
        parts = [f"{self.created} new", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.needs_review:
            parts.append(f"{self.needs_review} need review")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)


def payload_digest(incoming: IncomingOrder) -> str:
    return hashlib.sha256(incoming.raw.encode("utf-8")).hexdigest()


async def import_orders(
    channel: dict[str, Any], orders: list[IncomingOrder], actor: Actor | None = None
) -> ImportResult:
    """Upsert `orders` from `channel` (a Channel row as a dict)."""
    with bulk.collector_paused():
        result = await _import_orders(channel, orders, actor)
    if len(orders) > 1:
        await analyze_grown_tables(IMPORTED_TABLES)
    return result


#: The tables an import writes to in bulk.
IMPORTED_TABLES = (
    "orders",
    "order_line",
    "order_search_term",
    "raw_payload",
    "event",
    "review_issue",
    "outbox_message",
)


async def _import_orders(channel: dict[str, Any], orders: list[IncomingOrder], actor: Actor | None) -> ImportResult:
    actor = actor or Actor.channel(channel["name"])
    unique: dict[str, IncomingOrder] = {}
    refused = ImportResult()
    for incoming in orders:
        drop_nul(incoming)
        clean_identifiers(incoming)
        problem = oversized_identifier(incoming)
        if problem:
            refused.failed.append((incoming.channel_order_id[:100], problem))
        else:
            unique[incoming.channel_order_id] = incoming
    batch = list(unique.values())
    if not batch:
        return refused
    if len(batch) > 1:
        try:
            async with db.transaction():
                result = await _import_batch(channel, batch, actor)
            result.merge(refused)
            return result
        except Exception:
            log.info("import batch of %d orders failed; importing them one by one", len(batch))
    result = refused
    for incoming in batch:
        result.merge(await _import_alone(channel, incoming, actor))
    return result


#: Identifiers longer than their column cannot be stored faithfully (PostgreSQL refuses them; SQLite
#: would keep them and no later lookup would match): such an order fails alone, with the reason.
IDENTIFIER_LIMITS = {"order id": 100, "channel status": 64, "SKU": 100, "line id": 100}


def oversized_identifier(incoming: IncomingOrder) -> str | None:
    """Why `incoming` cannot be stored as sent, if one of its identifiers is too long or holds a NUL."""
    checks = [("order id", incoming.channel_order_id), ("channel status", incoming.channel_status)]
    for line in incoming.lines:
        checks.append(("SKU", line.sku.strip()))
        checks.append(("line id", line.channel_line_id))
    for what, value in checks:
        limit = IDENTIFIER_LIMITS[what]
        if len(value) > limit:
            return (
                f"its {what} “{isolated(value[:40])}…” is {len(value)} characters long; Waybill stores at most {limit}."
            )
        if "\x00" in value:
            return (
                f"its {what} {quoted(value[:40].replace(chr(0), ''))} contains a NUL character, which cannot be stored."
            )
    if len(incoming.currency) > 3:
        return f"its currency {quoted(incoming.currency[:10])} is not a three-letter code."
    return None


async def _import_alone(channel: dict[str, Any], incoming: IncomingOrder, actor: Actor) -> ImportResult:
    """One order in its own transaction, tried twice.

    When another importer stores the same new order at the same moment, the first attempt fails on
    the unique (channel, channel order id) key; the second finds the order stored and changes nothing.
    """
    for attempt in (1, 2):
        try:
            async with db.transaction():
                return await _import_batch(channel, [incoming], actor)
        except Exception:
            if attempt == 2:
                log.exception("import of order %s failed", incoming.channel_order_id)
    return ImportResult(failed=[(incoming.channel_order_id, "could not be stored")])


async def _import_batch(channel: dict[str, Any], batch: list[IncomingOrder], actor: Actor) -> ImportResult:
    result = ImportResult()
    existing: dict[str, int] = {}
    ids = [o.channel_order_id for o in batch]
    for part in bulk.chunks(ids, IN_CHUNK):
        rows = await bulk.fetch(
            "SELECT id, channel_order_id FROM orders "
            f"WHERE channel = {{}} AND channel_order_id IN ({bulk.in_list(len(part))})",
            channel["id"],
            *part,
        )
        existing.update((channel_order_id, order_id) for order_id, channel_order_id in rows)
    fresh = [o for o in batch if o.channel_order_id not in existing]
    known = [o for o in batch if o.channel_order_id in existing]
    if known:
        await _refresh_known(channel, known, existing, actor, result)
    if fresh:
        await _insert_new(channel, fresh, actor, result)
    return result


def _details(values: dict[str, Any]) -> str:
    """An event's details, as `models.core.audit.event_row` writes them."""
    return json.dumps(values, ensure_ascii=False, default=str)


@functools.lru_cache(maxsize=1024)
def _imported_details(channel_status: str, lines: int) -> str:
    return _details({"channel_status": channel_status, "lines": lines})


async def _refresh_known(
    channel: dict[str, Any],
    known: list[IncomingOrder],
    existing: dict[str, int],
    actor: Actor,
    result: ImportResult,
) -> None:
    """Keep each new payload version and the channel's status; never touch local edits."""
    channel_id = channel["id"]
    seen: set[tuple[str, str]] = set()
    for part in bulk.chunks([o.channel_order_id for o in known], IN_CHUNK):
        rows = await bulk.fetch(
            "SELECT channel_order_id, digest FROM raw_payload "
            f"WHERE channel = {{}} AND channel_order_id IN ({bulk.in_list(len(part))})",
            channel_id,
            *part,
        )
        seen.update((channel_order_id, digest) for channel_order_id, digest in rows)
    stamp = now()
    at = bulk.stored_instant(stamp)
    payloads, events = [], []
    #: channel status → orders that now have it
    statuses: dict[str, list[int]] = {}
    for incoming in known:
        digest = payload_digest(incoming)
        if (incoming.channel_order_id, digest) in seen:
            result.unchanged += 1
            continue
        order_id = existing[incoming.channel_order_id]
        payloads.append((channel_id, incoming.channel_order_id, digest, at, incoming.raw))
        if incoming.channel_status:
            statuses.setdefault(incoming.channel_status, []).append(order_id)
        message = f"New version received from {channel['name']}" + (
            f" (channel status {incoming.channel_status})" if incoming.channel_status else ""
        )
        events.append((order_id, None, at, actor.kind, actor.name, "channel_update", message, "{}"))
        result.updated += 1
    await INSERT_PAYLOAD.rows(payloads)
    for channel_status, order_ids in statuses.items():
        for part in bulk.chunks(order_ids, IN_CHUNK):
            await bulk.execute(
                "UPDATE orders SET channel_status = {}, channel_status_confirmed_at = {} "
                f"WHERE id IN ({bulk.in_list(len(part))})",
                channel_status,
                stamp,
                *part,
            )
    await INSERT_EVENT.rows(events)


def _initial_state(
    channel: dict[str, Any], incoming: IncomingOrder, has_problems: bool, held: bool = False
) -> tuple[OrderStatus, LineStatus]:
    """Where a new order starts. `held`: the channel's auto-accept rule leaves it for a human."""
    accept_now = not incoming.needs_acceptance or (bool(channel.get("auto_accept")) and not held)
    line_status = LineStatus.ACCEPTED if accept_now else LineStatus.PENDING
    if has_problems:
        return OrderStatus.PENDING_REVIEW, line_status
    if accept_now:
        return OrderStatus.AWAITING_FULFILLMENT, line_status
    return OrderStatus.AWAITING_ACCEPTANCE, line_status


@dataclass(slots=True)
class _NewOrder:
    """A new order and what it writes besides its own row, built before the database gives its id."""

    incoming: IncomingOrder
    problems: list[Problem]
    status: OrderStatus
    line_status: LineStatus
    #: Its lines' columns after the order id.
    lines: list[tuple] = field(default_factory=list)
    terms: set[str] = field(default_factory=set)


def _plan(channel: dict[str, Any], incoming: IncomingOrder, held: dict[str, list[str]]) -> _NewOrder:
    problems = order_problems(incoming)
    status, line_status = _initial_state(channel, incoming, bool(problems), incoming.channel_order_id in held)
    return _NewOrder(incoming, problems, status, line_status)


def _order_row(channel_id: int, new: _NewOrder, at: Any) -> tuple:
    """The order's row for `INSERT_ORDER`. `at`: the time, as stored."""
    incoming, status = new.incoming, new.status
    addr = incoming.delivery
    return (
        channel_id,
        incoming.channel_order_id,
        status.value,
        1,
        incoming.channel_status,
        at if incoming.channel_status else None,
        incoming.payment_method,
        (PaymentStatus.UNPAID if incoming.payment_method == PaymentMethod.ON_ACCOUNT else PaymentStatus.PAID).value,
        incoming.currency,
        incoming.total,
        incoming.shipping_total,
        incoming.shipping_rate[:200],
        incoming.customer_first_name[:200],
        incoming.customer_last_name[:200],
        incoming.customer_email[:254],
        incoming.customer_phone[:64],
        addr.first_name[:200],
        addr.last_name[:200],
        addr.company[:200],
        addr.street1[:300],
        addr.street2[:300],
        addr.postcode[:32],
        addr.city[:200],
        addr.region[:200],
        addr.country.upper()[:2],
        addr.phone[:64],
        to_utc_seconds(incoming.placed_at),
        at,
        at,
        at if status == OrderStatus.AWAITING_FULFILLMENT else None,
    )


def _fill_lines_and_terms(new: _NewOrder) -> None:
    """The order's line columns (all but the order id) and its search terms."""
    incoming, status = new.incoming, new.line_status.value
    new.lines = [
        (
            line.position,
            line.channel_line_id,
            line.sku.strip(),
            line.title[:500],
            line.quantity,
            line.unit_price,
            status,
        )
        for line in incoming.lines
    ]
    addr = incoming.delivery
    new.terms = order_terms(
        incoming.channel_order_id,
        names=[incoming.customer_first_name, incoming.customer_last_name, addr.first_name, addr.last_name],
        emails=[incoming.customer_email],
        skus=[line.sku for line in incoming.lines],
    )


async def _insert_new(channel: dict[str, Any], fresh: list[IncomingOrder], actor: Actor, result: ImportResult) -> None:
    """Insert new orders and everything they write.

    The database inserts the orders while their payloads, lines and search terms are built, and
    each further table's rows go to it while the next table's are built (on SQLite, its statements
    run without the GIL beside this work)."""
    stamp = now()
    at = bulk.stored_instant(stamp)
    channel_id = channel["id"]
    held = await orders_to_hold(channel, fresh)
    plans: list[_NewOrder] = []
    inserting = []
    async with bulk.queued_writes() as writes:
        for part in bulk.chunks(fresh, ORDERS_PER_INSERT):
            news = [_plan(channel, incoming, held) for incoming in part]
            plans.extend(news)
            rows = [_order_row(channel_id, new, at) for new in news]
            inserting.append(await writes.start(INSERT_ORDER, rows, returning=("id", "channel_order_id")))
        payloads = [
            (channel_id, new.incoming.channel_order_id, payload_digest(new.incoming), at, new.incoming.raw)
            for new in plans
        ]
        await writes.insert(INSERT_PAYLOAD, payloads)
        for new in plans:
            _fill_lines_and_terms(new)
        order_ids = {channel_order_id: order_id for part in inserting for order_id, channel_order_id in await part}
        await _insert_details(channel, plans, order_ids, held, at, actor, writes, result)
    # Who should hear that these orders wait for acceptance, in the same transaction as the orders.
    waiting = [
        order_ids[new.incoming.channel_order_id] for new in plans if new.status == OrderStatus.AWAITING_ACCEPTANCE
    ]
    await queue_acceptance_notices(waiting, stamp)


async def _insert_details(
    channel: dict[str, Any],
    plans: list[_NewOrder],
    order_ids: dict[str, int],
    held: dict[str, list[str]],
    at: Any,
    actor: Actor,
    writes: bulk.QueuedWrites,
    result: ImportResult,
) -> None:
    """Lines, search terms, review issues, events and outbox rows of new orders, now that their ids
    are known. `at`: the time, as stored."""
    line_rows, terms = [], []
    with_line_problems = []
    for new in plans:
        order_id = order_ids[new.incoming.channel_order_id]
        line_rows.extend((order_id, *line) for line in new.lines)
        if any(problem.line_position for problem in new.problems):
            with_line_problems.append(order_id)
    await writes.insert(INSERT_LINE, line_rows)
    for new in plans:
        order_id = order_ids[new.incoming.channel_order_id]
        terms.extend((order_id, term) for term in new.terms)
    await writes.insert(INSERT_TERM, terms)

    line_ids = await _line_ids(with_line_problems) if with_line_problems else {}
    issues, events, outbox = [], [], []
    kind, name = actor.kind, actor.name
    imported = {s: f"Imported from {channel['name']} as {s.label}" for s in OrderStatus}
    for new in plans:
        incoming, problems, status = new.incoming, new.problems, new.status
        order_id = order_ids[incoming.channel_order_id]
        details = _imported_details(incoming.channel_status, len(incoming.lines))
        events.append((order_id, None, at, kind, name, "imported", imported[status], details))
        if status == OrderStatus.AWAITING_FULFILLMENT and incoming.needs_acceptance:
            events.append(
                (order_id, None, at, kind, name, "accepted", "Accepted automatically (auto-accept is on)", "{}")
            )
            outbox.append(_auto_accept_message(channel, incoming, order_id, at))
        reasons = held.get(incoming.channel_order_id)
        if reasons:
            events.append(
                (order_id, None, at, kind, name, HELD_EVENT, held_message(reasons), _details({"reasons": reasons}))
            )
        for problem in problems:
            line_id = line_ids.get((order_id, problem.line_position)) if problem.line_position else None
            issues.append((order_id, line_id, problem.code, problem.message, "validation", at))
            events.append(
                (
                    order_id,
                    line_id,
                    at,
                    kind,
                    name,
                    "review_issue_opened",
                    problem.message,
                    _details({"code": problem.code}),
                )
            )
        result.created += 1
        if problems:
            result.needs_review += 1
    await writes.insert(INSERT_ISSUE, issues)
    await writes.insert(INSERT_EVENT, events)
    await writes.insert(INSERT_OUTBOX, outbox)


async def _line_ids(order_ids: list[int]) -> dict[tuple[int, int], int]:
    """(order id, line position) → line id, for the lines of `order_ids`."""
    found: dict[tuple[int, int], int] = {}
    for part in bulk.chunks(order_ids, IN_CHUNK):
        rows = await bulk.fetch(
            f'SELECT id, "order", position FROM order_line WHERE "order" IN ({bulk.in_list(len(part))}) ORDER BY id',
            *part,
        )
        found.update(((order_id, position), line_id) for line_id, order_id, position in rows)
    return found


def _auto_accept_message(channel: dict[str, Any], incoming: IncomingOrder, order_id: int, at: Any) -> tuple:
    """The marketplace still waits for an answer: queue the acceptance exactly as `accept_order` does."""
    decisions = [
        {"line_id": line.channel_line_id, "sku": line.sku.strip(), "accepted": True, "quantity": line.quantity}
        for line in incoming.lines
    ]
    payload = json.dumps({"channel_order_id": incoming.channel_order_id, "lines": decisions}, ensure_ascii=False)
    return (
        "channel",
        channel["id"],
        order_id,
        "accept",
        f"channel:{channel['id']}:{incoming.channel_order_id}:accept",
        payload,
        "pending",
        at,
        at,
    )
