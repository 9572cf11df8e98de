"""One change to one order: a transaction, a version check, audit events, review issues.

Every domain operation on an order goes through `change_order`, which gives the guarantees of
DESIGN §3–4: the change and its events commit together or not at all, a transition outside the
lifecycle table is refused, two concurrent changes give one success and one `Conflict`, and a
delivered order (final) refuses every change, present and future, with `OrderFinal`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from models import db
from models.core.actors import Actor
from models.core.app_settings import merchant_timezone
from models.core.audit import event_row
from models.core.clock import now
from models.core.errors import Conflict, NotFound, OrderFinal
from models.db.tables import (
    Event,
    Order,
    OrderLine,
    OutboxMessage,
    ReviewIssue,
    SupplierOrder,
)
from models.notifications.new_orders import queue_acceptance_notices
from models.orders.lifecycle import (
    AT_SUPPLIER,
    FINAL_STATUSES,
    FROZEN_STATUSES,
    LineState,
    LineStatus,
    OrderStatus,
    check_transition,
    resume_status,
)

STATUS_TIMESTAMPS = {
    OrderStatus.AWAITING_FULFILLMENT: "accepted_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.REJECTED: "closed_at",
    OrderStatus.CANCELLED: "closed_at",
    OrderStatus.RETURNED: "closed_at",
}


class OrderChange:
    """Pending changes to one order, applied by `change_order` when the block ends."""

    def __init__(self, order: dict[str, Any], lines: list[dict[str, Any]], actor: Actor) -> None:
        self.order = order
        self.lines = lines
        self.actor = actor
        self._order_updates: dict[str, Any] = {}
        self._events: list[Event] = []
        self._issues: list[ReviewIssue] = []
        self._outbox: list[OutboxMessage] = []
        #: The order starts waiting for acceptance: the users to tell are noted with the change.
        self._notify_acceptance = False
        self.line_updates: dict[int, dict[str, Any]] = {}
        self.open_issue_codes: set[str] = set()

    @property
    def id(self) -> int:
        return self.order["id"]

    @property
    def status(self) -> OrderStatus:
        return OrderStatus(self.order["status"])

    def line(self, line_id: int) -> dict[str, Any]:
        for line in self.lines:
            if line["id"] == line_id:
                return line
        raise NotFound(f"Line {line_id} is not part of order {self.order['channel_order_id']}.")

    def set(self, **fields: Any) -> None:
        self.order.update(fields)
        self._order_updates.update(fields)

    def event(
        self,
        kind: str,
        message: str,
        line_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._events.append(event_row(self.id, kind, message, self.actor, line_id, details))

    def move_to(self, target: OrderStatus, note: str = "") -> None:
        """Change status if the lifecycle allows it; otherwise raise `TransitionRefused`.

        Staying in the same status is a no-op, except for a final status: "mark as delivered" on a
        delivered order is refused rather than allowed to rewrite the order's final state.
        """
        target = OrderStatus(target)
        current = self.status
        if current == target and current not in FINAL_STATUSES:
            return
        check_transition(current, target)
        fields: dict[str, Any] = {"status": target.value}
        stamp = STATUS_TIMESTAMPS.get(target)
        if stamp and not self.order.get(stamp):
            fields[stamp] = now()
        self.set(**fields)
        self._notify_acceptance = target == OrderStatus.AWAITING_ACCEPTANCE
        message = f"Status changed from {current.label} to {target.label}"
        self.event(
            "status_changed",
            f"{message}: {note}" if note else message,
            details={"from": current.value, "to": target.value},
        )

    def open_issue(self, code: str, message: str, line_id: int | None = None, source: str = "validation") -> None:
        if code in self.open_issue_codes:
            return
        self.open_issue_codes.add(code)
        self._issues.append(
            ReviewIssue(
                order=self.id,
                order_line=line_id,
                code=code,
                message=message,
                source=source,
                opened_at=now(),
            )
        )
        self.event("review_issue_opened", message, line_id=line_id, details={"code": code})

    def line_states(self, shipped: dict[int, int] | None = None) -> list[LineState]:
        shipped = shipped or {}
        return [
            LineState(LineStatus(line["status"]), line["quantity"], shipped.get(line["id"], 0)) for line in self.lines
        ]

    async def shipped_quantities(self) -> dict[int, int]:
        """Quantity per line in parcels that have shipped (not those waiting for Mark as shipped)."""
        return await self.parcel_quantities(("shipped",))

    async def parcel_quantities(self, states: tuple[str, ...] = ("ready", "shipped")) -> dict[int, int]:
        """Quantity per line in this order's parcels in the given states."""
        marks = ", ".join("{}" for _ in states)
        rows = await db.fetch(
            "SELECT sl.order_line AS line_id, SUM(sl.quantity) AS qty FROM shipment_line sl "
            f'JOIN shipment s ON s.id = sl.shipment WHERE s."order" = {{}} AND s.state IN ({marks}) '
            "GROUP BY sl.order_line",
            self.id,
            *states,
        )
        return {row["line_id"]: int(row["qty"]) for row in rows}

    async def sent_to_supplier(self) -> bool:
        """A supplier has (part of) the order: created there, or sent by hand."""
        return await SupplierOrder.exists().where(
            (SupplierOrder.order == self.id) & SupplierOrder.status.is_in(sorted(AT_SUPPLIER))
        )

    async def resolve_issues(self, codes: set[str] | None = None, note: str = "", resume: bool = True) -> int:
        """Close open review issues (all, or those with `codes`); resume the order if none remain
        (unless `resume` is False: the caller decides where the order goes next)."""
        open_rows = await ReviewIssue.select(ReviewIssue.id, ReviewIssue.code).where(
            (ReviewIssue.order == self.id) & ReviewIssue.resolved_at.is_null()
        )
        to_close = [r for r in open_rows if codes is None or r["code"] in codes]
        if to_close:
            await ReviewIssue.update(
                {ReviewIssue.resolved_at: now(), ReviewIssue.resolved_by: self.actor.describe()}
            ).where(ReviewIssue.id.is_in([r["id"] for r in to_close]))
            for row in to_close:
                self.open_issue_codes.discard(row["code"])
                self.event(
                    "review_issue_resolved",
                    f"Resolved: {row['code'].replace('_', ' ')}" + (f" ({note})" if note else ""),
                    details={"code": row["code"]},
                )
        remaining = len(open_rows) - len(to_close)
        if resume and remaining == 0 and self.status == OrderStatus.PENDING_REVIEW:
            target = resume_status(self.line_states(await self.shipped_quantities()), await self.sent_to_supplier())
            self.move_to(target, "review issues resolved")
            # An order accepted automatically but held for review tells the channel now.
            self.queue_channel_decisions()
        return len(to_close)

    def queue_channel_decisions(self, each_line: Iterable[int] | None = None) -> bool:
        """Tell the channel the acceptance decisions, as it expects them.

        By default, once every line is decided, all of them in one message (Mirakl needs every line
        in one call). With `each_line` (line ids just decided), one message per line now, for
        channels that take decisions line by line (Back Market). Idempotency keys make a second
        call for the same order (or line) a no-op. Returns whether a message was queued.
        """
        prefix = f"channel:{self.order['channel']}:{self.order['channel_order_id']}:accept"
        if each_line is not None:
            queued = False
            for line_id in each_line:
                line = self.line(line_id)
                self._send_decisions(f"{prefix}:{line['channel_line_id'] or line['id']}", [line])
                queued = True
            return queued
        if any(line["status"] == LineStatus.PENDING for line in self.lines):
            return False
        self._send_decisions(prefix, self.lines)
        return True

    def _send_decisions(self, key: str, lines: Iterable[dict[str, Any]]) -> None:
        decisions = [
            {
                "line_id": line["channel_line_id"],
                "sku": line["sku"],
                "accepted": line["status"] == LineStatus.ACCEPTED,
                "quantity": line["quantity"],
                "reason": line.get("rejection_reason") or "",
            }
            for line in lines
        ]
        self.send(
            "channel",
            self.order["channel"],
            "accept",
            key,
            {"channel_order_id": self.order["channel_order_id"], "lines": decisions},
        )

    def send(
        self,
        target_kind: str,
        target_id: int,
        action: str,
        idempotency_key: str,
        payload: dict[str, Any],
    ) -> None:
        """Queue a message for a channel or supplier; delivered by the outbox dispatcher."""
        message = OutboxMessage(
            target_kind=target_kind,
            target_id=target_id,
            order=self.id,
            action=action,
            idempotency_key=idempotency_key,
            payload=json.dumps(payload, ensure_ascii=False, default=str),
            state="pending",
            next_attempt_at=now(),
            created_at=now(),
        )
        self._outbox.append(message)

    async def _flush(self, loaded_version: int) -> None:
        for line_id, fields in self.line_updates.items():
            await OrderLine.update({getattr(OrderLine, k): v for k, v in fields.items()}).where(OrderLine.id == line_id)
        if self._issues:
            await ReviewIssue.insert(*self._issues)
        updates = {getattr(Order, key): value for key, value in self._order_updates.items()}
        updates[Order.version] = loaded_version + 1
        updates[Order.updated_at] = now()
        updated = (
            await Order.update(updates)
            .where((Order.id == self.id) & (Order.version == loaded_version))
            .returning(Order.id)
        )
        if not updated:
            raise await conflict_for(self.id)
        self.order["version"] = loaded_version + 1
        if self._events:
            await Event.insert(*self._events)
        for message in self._outbox:
            await OutboxMessage.insert(message).on_conflict(target=OutboxMessage.idempotency_key, action="DO NOTHING")
        if self._notify_acceptance and self.status == OrderStatus.AWAITING_ACCEPTANCE:
            await queue_acceptance_notices([self.id])


async def conflict_for(order_id: int) -> Conflict:
    """A conflict message naming who changed the order last."""
    last = (
        await Event.select(Event.actor_name, Event.actor_kind)
        .where(Event.order == order_id)
        .order_by(Event.id, ascending=False)
        .first()
    )
    who = ""
    if last:
        who = (
            f" by {last['actor_name']}"
            if last["actor_kind"] == "user"
            else f" by {last['actor_kind']} {last['actor_name']}"
        )
    return Conflict(
        f"This order was changed{who} while you were working on it. "
        "Nothing was saved; review the latest version and try again."
    )


async def require_version(change: OrderChange, expected_version: int | None) -> None:
    """Raise `Conflict` if the order moved on since the merchant saw `expected_version`.

    For operations that check their own rules first: a refusal that explains why the step is no
    longer possible helps more than "someone changed the order"."""
    if expected_version is not None and change.order["version"] != expected_version:
        raise await conflict_for(change.id)


async def final_refusal(order: dict[str, Any]) -> OrderFinal:
    """Why a delivered order cannot change, with its delivery date in the merchant's time zone."""
    delivered = order.get("delivered_at")
    when = f" on {delivered.astimezone(await merchant_timezone()).strftime('%d %b %Y')}" if delivered else ""
    return OrderFinal(
        f"Order {order['channel_order_id']} was delivered{when}. A delivered order is final: "
        "nothing about it can change any more."
    )


async def load_order(order_id: int, lock: bool = False) -> dict[str, Any]:
    query = Order.select().where(Order.id == order_id)
    if lock and not db.is_sqlite():
        query = query.lock_rows()
    order = await query.first()
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.")
    return order


async def load_lines(order_id: int) -> list[dict[str, Any]]:
    return await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.position)


@contextlib.asynccontextmanager
async def change_order(
    order_id: int, actor: Actor, expected_version: int | None = None, *, final_ok: bool = False
) -> AsyncIterator[OrderChange]:
    """Open a write transaction on one order.

    `expected_version` is the version the merchant saw; if the order has moved on since,
    `Conflict` is raised before anything is changed. A delivered order refuses every change with
    `OrderFinal`, unless `final_ok`: only for records of what happened elsewhere (a supplier's
    answer, a message a channel refused), which are kept without changing the order itself.
    """
    async with db.transaction():
        order = await load_order(order_id, lock=True)
        if not final_ok and OrderStatus(order["status"]) in FROZEN_STATUSES:
            raise await final_refusal(order)
        if expected_version is not None and order["version"] != expected_version:
            raise await conflict_for(order_id)
        lines = await load_lines(order_id)
        change = OrderChange(order, lines, actor)
        open_codes = await ReviewIssue.select(ReviewIssue.code).where(
            (ReviewIssue.order == order_id) & ReviewIssue.resolved_at.is_null()
        )
        change.open_issue_codes = {row["code"] for row in open_codes}
        yield change
        await change._flush(order["version"])
