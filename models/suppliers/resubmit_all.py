"""*Resubmit all* on a supplier page: after a wallet top-up, resend every order the wallet blocked.

A run fixes its list of orders when it starts, then works through them a few per request, so the
page can show a progress bar and no request runs long. Each order goes through the same
`resubmit_order` as the order page's button and is sent at once by the caller's `send`, so the
supplier's own answer (sent, or still refused with its message) is what the summary reports.
Sending goes through the outbox with the order's fixed reference: a run repeated, or two people
clicking at once, can never create an order twice at the supplier.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from models import db
from models.core.actors import Actor
from models.core.clock import now
from models.core.errors import DomainError, NotFound
from models.db.tables import Order, ResubmitResult, ResubmitRun, SupplierOrder
from models.orders.lifecycle import OrderStatus
from models.suppliers.dispatch import resubmit_order

#: Orders resubmitted per request: each may take a few calls to the supplier.
CHUNK = 5
#: A run left unfinished (the page was closed) is picked up again by the next click within this time.
RESUME_WINDOW = dt.timedelta(minutes=15)
#: Results listed on the page; the counts always cover the whole run.
RESULTS_SHOWN = 200

OUTCOMES = {
    "sent": "Sent",
    "queued": "Waiting for an answer",
    "blocked": "Still blocked",
    "skipped": "Skipped",
}

SendNow = Callable[[int], Awaitable[Any]]


async def wallet_blocked_orders(supplier_id: int) -> list[int]:
    """Orders in Pending review because this supplier refused them for the wallet, oldest first."""
    rows = await db.fetch(
        'SELECT o.id, o.placed_at FROM orders o JOIN supplier_order so ON so."order" = o.id '
        "WHERE so.supplier = {} AND so.status = 'failed' AND o.status = {} "
        'AND EXISTS (SELECT 1 FROM review_issue ri WHERE ri."order" = o.id '
        "AND ri.code = 'wallet_insufficient' AND ri.resolved_at IS NULL) "
        "ORDER BY o.placed_at, o.id",
        supplier_id,
        OrderStatus.PENDING_REVIEW.value,
    )
    return list(dict.fromkeys(row["id"] for row in rows))


@dataclass
class RunState:
    """A run as the supplier page shows it."""

    id: int
    supplier: int
    started_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done_count(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done_count / self.total)

    def summary(self, supplier_name: str) -> str:
        if not self.total:
            return "No order was waiting for the wallet."
        n = self.total
        parts = [f"Resubmitted {n:,} order{'s' if n != 1 else ''}:"]
        described = []
        if self.counts.get("sent"):
            described.append(f"{self.counts['sent']:,} sent to {supplier_name}")
        if self.counts.get("queued"):
            described.append(f"{self.counts['queued']:,} waiting for {supplier_name} to answer (retried by Waybill)")
        if self.counts.get("blocked"):
            described.append(f"{self.counts['blocked']:,} still blocked")
        if self.counts.get("skipped"):
            described.append(f"{self.counts['skipped']:,} skipped")
        return " ".join(parts) + " " + ", ".join(described) + "."


async def start_run(supplier_id: int, started_by: str) -> int:
    """Start resubmitting this supplier's wallet-blocked orders; an unfinished recent run continues instead."""
    stamp = now()
    async with db.transaction():
        open_runs = await ResubmitRun.select(ResubmitRun.id, ResubmitRun.started_at).where(
            (ResubmitRun.supplier == supplier_id) & ResubmitRun.finished_at.is_null()
        )
        for run in open_runs:
            if stamp - run["started_at"] < RESUME_WINDOW:
                return run["id"]
        if open_runs:  # abandoned long ago: close them, their orders are taken again below
            await ResubmitRun.update({ResubmitRun.finished_at: stamp}).where(
                ResubmitRun.id.is_in([run["id"] for run in open_runs])
            )
        order_ids = await wallet_blocked_orders(supplier_id)
        inserted = await ResubmitRun.insert(
            ResubmitRun(
                supplier=supplier_id,
                started_by=started_by,
                order_ids=json.dumps(order_ids),
                total=len(order_ids),
                position=0,
                started_at=stamp,
                finished_at=None if order_ids else stamp,
            )
        ).returning(ResubmitRun.id)
        return inserted[0]["id"]


async def get_run(supplier_id: int, run_id: int) -> RunState:
    run = await ResubmitRun.select().where((ResubmitRun.id == run_id) & (ResubmitRun.supplier == supplier_id)).first()
    if run is None:
        raise NotFound(f"Resubmit run {run_id} does not exist for this supplier.")
    return await _state(run)


async def latest_run(supplier_id: int) -> RunState | None:
    run = (
        await ResubmitRun.select()
        .where(ResubmitRun.supplier == supplier_id)
        .order_by(ResubmitRun.id, ascending=False)
        .first()
    )
    return await _state(run) if run else None


async def _state(run: dict[str, Any]) -> RunState:
    counts = await db.fetch(
        "SELECT outcome, COUNT(*) AS n FROM resubmit_result WHERE run = {} GROUP BY outcome", run["id"]
    )
    results = (
        await ResubmitResult.select(
            ResubmitResult.order,
            ResubmitResult.order.channel_order_id,
            ResubmitResult.outcome,
            ResubmitResult.message,
        )
        .where(ResubmitResult.run == run["id"])
        .order_by(ResubmitResult.id)
        .limit(RESULTS_SHOWN)
    )
    return RunState(
        id=run["id"],
        supplier=run["supplier"],
        started_by=run["started_by"],
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        total=run["total"],
        counts={row["outcome"]: int(row["n"]) for row in counts},
        results=results,
    )


async def _claim_next(run_id: int) -> list[int]:
    """Take the next orders of the run; a concurrent request for the same run takes different ones."""
    async with db.transaction():
        run = await ResubmitRun.select().where(ResubmitRun.id == run_id).first()
        if run is None or run["finished_at"] is not None:
            return []
        order_ids = json.loads(run["order_ids"])
        start = run["position"]
        taken = order_ids[start : start + CHUNK]
        if not taken:
            return []
        won = (
            await ResubmitRun.update({ResubmitRun.position: start + len(taken)})
            .where((ResubmitRun.id == run_id) & (ResubmitRun.position == start))
            .returning(ResubmitRun.id)
        )
        return taken if won else []


async def resubmit_next(supplier_id: int, run_id: int, actor: Actor, send: SendNow) -> RunState:
    """Resubmit the run's next few orders, send each at once, and record what the supplier said."""
    await get_run(supplier_id, run_id)  # the run belongs to this supplier
    for order_id in await _claim_next(run_id):
        outcome, message = await _resubmit_one(order_id, supplier_id, actor, send)
        await ResubmitResult.insert(ResubmitResult(run=run_id, order=order_id, outcome=outcome, message=message[:4000]))
    await _finish_if_done(run_id)
    return await get_run(supplier_id, run_id)


async def _resubmit_one(order_id: int, supplier_id: int, actor: Actor, send: SendNow) -> tuple[str, str]:
    order = await Order.select(Order.status).where(Order.id == order_id).first()
    if order is None:
        return "skipped", "The order no longer exists."
    if order["status"] != OrderStatus.PENDING_REVIEW:
        return "skipped", "No longer waiting: someone resubmitted or changed it meanwhile."
    try:
        result = await resubmit_order(order_id, actor)
    except DomainError as exc:
        return "skipped", exc.message
    if not result.sends:
        return ("blocked", result.message) if result.problems else ("skipped", result.message)
    await send(order_id)
    row = (
        await SupplierOrder.select(SupplierOrder.status, SupplierOrder.last_message)
        .where((SupplierOrder.order == order_id) & (SupplierOrder.supplier == supplier_id))
        .first()
    )
    status = row["status"] if row else ""
    said = row["last_message"] if row else ""
    if status in ("processed", "on_hold", "shipped"):
        return "sent", said or "Sent."
    if status == "pending":
        return "queued", "No answer yet; Waybill keeps trying and the order shows the outcome."
    return "blocked", said or "Refused again."


async def _finish_if_done(run_id: int) -> None:
    async with db.transaction():
        run = (
            await ResubmitRun.select(ResubmitRun.total, ResubmitRun.finished_at).where(ResubmitRun.id == run_id).first()
        )
        if run is None or run["finished_at"] is not None:
            return
        done = await ResubmitResult.count().where(ResubmitResult.run == run_id)
        if done >= run["total"]:
            await ResubmitRun.update({ResubmitRun.finished_at: now()}).where(ResubmitRun.id == run_id)
