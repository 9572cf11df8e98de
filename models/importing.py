"""Idempotent import of channel orders: the one way orders enter Waybill.

Re-reading an order never duplicates it and never overwrites the merchant's edits; every distinct
version of the channel's payload is kept. A batch goes in one transaction; if the batch fails, each
order is retried alone so one bad order never blocks the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from models import db
from models.actors import Actor
from models.clock import now, to_utc_seconds
from models.db import insert_chunked
from models.events import event_row
from models.incoming import IncomingOrder
from models.lifecycle import LineStatus, OrderStatus, PaymentMethod, PaymentStatus
from models.search_terms import order_terms
from models.tables import Event, Order, OrderLine, OrderSearchTerm, OutboxMessage, RawPayload, ReviewIssue
from models.validation import order_problems

log = logging.getLogger(__name__)


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
    actor = actor or Actor.channel(channel["name"])
    unique: dict[str, IncomingOrder] = {}
    for incoming in orders:
        unique[incoming.channel_order_id] = incoming
    batch = list(unique.values())
    if not batch:
        return ImportResult()
    if len(batch) > 1:
        try:
            async with db.transaction():
                return await _import_batch(channel, batch, actor)
        except Exception:
            log.info("import batch of %d orders failed; importing them one by one", len(batch))
    result = ImportResult()
    for incoming in batch:
        result.merge(await _import_alone(channel, incoming, actor))
    return result


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
    ids = [o.channel_order_id for o in batch]
    existing_rows = await Order.select(Order.id, Order.channel_order_id).where(
        (Order.channel == channel["id"]) & Order.channel_order_id.is_in(ids)
    )
    existing = {row["channel_order_id"]: row["id"] for row in existing_rows}
    fresh = [o for o in batch if o.channel_order_id not in existing]
    known = [o for o in batch if o.channel_order_id in existing]
    if known:
        await _refresh_known(channel, known, existing, actor, result)
    if fresh:
        await _insert_new(channel, fresh, actor, result)
    return result


async def _refresh_known(
    channel: dict[str, Any],
    known: list[IncomingOrder],
    existing: dict[str, int],
    actor: Actor,
    result: ImportResult,
) -> None:
    """Keep each new payload version and the channel's status; never touch local edits."""
    digests = await RawPayload.select(RawPayload.channel_order_id, RawPayload.digest).where(
        (RawPayload.channel == channel["id"]) & RawPayload.channel_order_id.is_in([o.channel_order_id for o in known])
    )
    seen = {(row["channel_order_id"], row["digest"]) for row in digests}
    for incoming in known:
        digest = payload_digest(incoming)
        if (incoming.channel_order_id, digest) in seen:
            result.unchanged += 1
            continue
        order_id = existing[incoming.channel_order_id]
        await RawPayload.insert(
            RawPayload(
                channel=channel["id"],
                channel_order_id=incoming.channel_order_id,
                digest=digest,
                received_at=now(),
                body=incoming.raw,
            )
        )
        if incoming.channel_status:
            await Order.update(
                {Order.channel_status: incoming.channel_status, Order.channel_status_confirmed_at: now()}
            ).where(Order.id == order_id)
        await Event.insert(
            event_row(
                order_id,
                "channel_update",
                f"New version received from {channel['name']}"
                + (f" (channel status {incoming.channel_status})" if incoming.channel_status else ""),
                actor,
            )
        )
        result.updated += 1


def _initial_state(
    channel: dict[str, Any], incoming: IncomingOrder, has_problems: bool
) -> tuple[OrderStatus, LineStatus]:
    accept_now = not incoming.needs_acceptance or bool(channel.get("auto_accept"))
    line_status = LineStatus.ACCEPTED if accept_now else LineStatus.PENDING
    if has_problems:
        return OrderStatus.PENDING_REVIEW, line_status
    if accept_now:
        return OrderStatus.AWAITING_FULFILLMENT, line_status
    return OrderStatus.AWAITING_ACCEPTANCE, line_status


async def _insert_new(channel: dict[str, Any], fresh: list[IncomingOrder], actor: Actor, result: ImportResult) -> None:
    stamp = now()
    problems_by_order = [order_problems(o) for o in fresh]
    states = [_initial_state(channel, o, bool(p)) for o, p in zip(fresh, problems_by_order, strict=True)]
    rows = []
    for incoming, (status, _) in zip(fresh, states, strict=True):
        addr = incoming.delivery
        accepted = status == OrderStatus.AWAITING_FULFILLMENT
        rows.append(
            Order(
                channel=channel["id"],
                channel_order_id=incoming.channel_order_id,
                status=status.value,
                version=1,
                channel_status=incoming.channel_status,
                channel_status_confirmed_at=stamp if incoming.channel_status else None,
                payment_method=incoming.payment_method,
                payment_status=(
                    PaymentStatus.UNPAID if incoming.payment_method == PaymentMethod.ON_ACCOUNT else PaymentStatus.PAID
                ).value,
                currency=incoming.currency,
                total=incoming.total,
                shipping_total=incoming.shipping_total,
                shipping_rate=incoming.shipping_rate,
                customer_first_name=incoming.customer_first_name,
                customer_last_name=incoming.customer_last_name,
                customer_email=incoming.customer_email,
                customer_phone=incoming.customer_phone,
                ship_first_name=addr.first_name,
                ship_last_name=addr.last_name,
                ship_company=addr.company,
                ship_street1=addr.street1,
                ship_street2=addr.street2,
                ship_postcode=addr.postcode,
                ship_city=addr.city,
                ship_region=addr.region,
                ship_country=addr.country.upper()[:2],
                ship_phone=addr.phone,
                placed_at=to_utc_seconds(incoming.placed_at),
                imported_at=stamp,
                updated_at=stamp,
                accepted_at=stamp if accepted else None,
            )
        )
    inserted = await insert_chunked(rows, Order.id, Order.channel_order_id)
    order_ids = {row["channel_order_id"]: row["id"] for row in inserted}

    line_rows = []
    for incoming, (_, line_status) in zip(fresh, states, strict=True):
        order_id = order_ids[incoming.channel_order_id]
        for line in incoming.lines:
            line_rows.append(
                OrderLine(
                    order=order_id,
                    position=line.position,
                    channel_line_id=line.channel_line_id,
                    sku=line.sku.strip(),
                    title=line.title,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    status=line_status.value,
                )
            )
    line_ids: dict[tuple[int, int], int] = {}
    if line_rows:
        inserted_lines = await insert_chunked(line_rows, OrderLine.id, OrderLine.order, OrderLine.position)
        line_ids = {(row["order"], row["position"]): row["id"] for row in inserted_lines}

    issues, events, terms, payloads, outbox = [], [], [], [], []
    for incoming, problems, (status, _) in zip(fresh, problems_by_order, states, strict=True):
        order_id = order_ids[incoming.channel_order_id]
        events.append(
            event_row(
                order_id,
                "imported",
                f"Imported from {channel['name']} as {status.label}",
                actor,
                details={"channel_status": incoming.channel_status, "lines": len(incoming.lines)},
            )
        )
        if status == OrderStatus.AWAITING_FULFILLMENT and incoming.needs_acceptance:
            events.append(event_row(order_id, "accepted", "Accepted automatically (auto-accept is on)", actor))
            outbox.append(_auto_accept_message(channel, incoming, order_id, stamp))
        for problem in problems:
            line_id = line_ids.get((order_id, problem.line_position)) if problem.line_position else None
            issues.append(
                ReviewIssue(
                    order=order_id,
                    order_line=line_id,
                    code=problem.code,
                    message=problem.message,
                    source="validation",
                    opened_at=stamp,
                )
            )
            events.append(
                event_row(order_id, "review_issue_opened", problem.message, actor, line_id, {"code": problem.code})
            )
        addr = incoming.delivery
        for term in order_terms(
            incoming.channel_order_id,
            names=[incoming.customer_first_name, incoming.customer_last_name, addr.first_name, addr.last_name],
            emails=[incoming.customer_email],
            skus=[line.sku for line in incoming.lines],
        ):
            terms.append(OrderSearchTerm(order=order_id, term=term))
        payloads.append(
            RawPayload(
                channel=channel["id"],
                channel_order_id=incoming.channel_order_id,
                digest=payload_digest(incoming),
                received_at=stamp,
                body=incoming.raw,
            )
        )
        result.created += 1
        if problems:
            result.needs_review += 1
    for table_rows in (issues, events, terms, payloads, outbox):
        await insert_chunked(table_rows)


def _auto_accept_message(
    channel: dict[str, Any], incoming: IncomingOrder, order_id: int, stamp: dt.datetime
) -> OutboxMessage:
    """The marketplace still waits for an answer: queue the acceptance exactly as `accept_order` does."""
    decisions = [
        {"line_id": line.channel_line_id, "sku": line.sku.strip(), "accepted": True} for line in incoming.lines
    ]
    return OutboxMessage(
        target_kind="channel",
        target_id=channel["id"],
        order=order_id,
        action="accept",
        idempotency_key=f"channel:{channel['id']}:{incoming.channel_order_id}:accept",
        payload=json.dumps({"channel_order_id": incoming.channel_order_id, "lines": decisions}, ensure_ascii=False),
        state="pending",
        next_attempt_at=stamp,
        created_at=stamp,
    )
