"""The outbox: messages to channels and suppliers, claimed with leases and retried with backoff.

Messages are written in the same transaction as the change they announce. Any number of
instances may deliver them: a message is claimed by setting a lease (with `FOR UPDATE SKIP LOCKED`
on PostgreSQL), so two instances never send the same message at once.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from models import db
from models.channels.sync_issues import record_issue, resolve_outbox_issue
from models.core.actors import Actor
from models.core.clock import now
from models.db import leases
from models.db.tables import Order, OutboxMessage
from models.orders.change import change_order

LEASE = dt.timedelta(seconds=90)
MAX_ATTEMPTS = 8
BASE_DELAY_S = 5.0
MAX_DELAY_S = 1800.0

PENDING, DONE, FAILED, GAVE_UP = "pending", "done", "failed", "gave_up"

OPERATION_NAMES = {
    "accept": "accept",
    "tracking": "tracking_update",
    "ship": "ship",
    "cancel": "cancel",
    "delivered": "delivered",
    "returned": "returned",
    "stock": "stock_update",
    "dispatch": "order_dispatch",
    "update_address": "address_update",
}


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: about 5 s, 10 s, 20 s … capped at 30 minutes."""
    rng = rng or random.Random()
    base = min(MAX_DELAY_S, BASE_DELAY_S * (2 ** max(attempts - 1, 0)))
    return base * rng.uniform(0.5, 1.5)


async def claim_due(owner: str, limit: int = 20, target_kind: str | None = None) -> list[dict[str, Any]]:
    """Lease up to `limit` due messages for `owner`; nobody else gets them until the lease ends."""
    stamp = now()
    where = "m.state = {} AND m.next_attempt_at <= {}"
    args: list[Any] = [PENDING, stamp]
    if target_kind:
        where += " AND m.target_kind = {}"
        args.append(target_kind)
    # Messages about one order go out in the order they were written (tracking before ship).
    where += (
        ' AND NOT EXISTS (SELECT 1 FROM outbox_message e WHERE e."order" = m."order" '
        "AND e.id < m.id AND e.state = 'pending')"
    )
    rows = await leases.claim(
        "outbox_message", owner, stamp, LEASE, where, args, order_by="m.next_attempt_at, m.id", limit=limit
    )
    rows.sort(key=lambda r: (r["order"] or 0, r["id"]))
    return rows


async def claim_for_order(owner: str, order_id: int, target_kind: str) -> list[dict[str, Any]]:
    """Lease one order's due messages of one kind now (a merchant is waiting for the answer)."""
    where = 'm."order" = {} AND m.target_kind = {} AND m.state = {}'
    rows = await leases.claim("outbox_message", owner, now(), LEASE, where, [order_id, target_kind, PENDING])
    rows.sort(key=lambda r: r["id"])
    return rows


async def claim_ids(owner: str, message_ids: list[int]) -> list[dict[str, Any]]:
    """Lease these pending messages now (a merchant waits for the answer); others hold the rest."""
    if not message_ids:
        return []
    marks = ", ".join("{}" for _ in message_ids)
    where = f"m.id IN ({marks}) AND m.state = {{}}"
    rows = await leases.claim("outbox_message", owner, now(), LEASE, where, [*message_ids, PENDING])
    rows.sort(key=lambda r: r["id"])
    return rows


async def mark_done(message: dict[str, Any], owner: str, channel_state: str | None = None) -> None:
    async with db.transaction():
        updated = (
            await OutboxMessage.update(
                {
                    OutboxMessage.state: DONE,
                    OutboxMessage.done_at: now(),
                    OutboxMessage.lease_until: None,
                    OutboxMessage.ambiguous: False,
                    OutboxMessage.attempts: OutboxMessage.attempts + 1,
                }
            )
            .where((OutboxMessage.id == message["id"]) & (OutboxMessage.lease_owner == owner))
            .returning(OutboxMessage.id)
        )
        if not updated:
            return
        if channel_state is not None and message["order"]:
            await Order.update({Order.channel_status: channel_state, Order.channel_status_confirmed_at: now()}).where(
                Order.id == message["order"]
            )
        await resolve_outbox_issue(message["id"], retry_succeeded=True)


async def mark_sending(message: dict[str, Any], owner: str) -> bool:
    """Note, before a call that creates something remotely, that it may have happened.

    If this process dies during the call, whoever retries the message looks first; False when the
    lease was lost (someone else has the message now)."""
    updated = (
        await OutboxMessage.update({OutboxMessage.ambiguous: True})
        .where((OutboxMessage.id == message["id"]) & (OutboxMessage.lease_owner == owner))
        .returning(OutboxMessage.id)
    )
    message["ambiguous"] = True
    return bool(updated)


async def schedule_retry(
    message: dict[str, Any], owner: str, error: str, *, ambiguous: bool, retry_after: float | None = None
) -> bool:
    """Record a retryable failure. Returns False when the message has now given up."""
    attempts = message["attempts"] + 1
    if attempts >= MAX_ATTEMPTS:
        await give_up(message, owner, f"Gave up after {attempts} attempts: {error}", GAVE_UP)
        return False
    delay = max(backoff_delay(attempts), retry_after or 0.0)
    await OutboxMessage.update(
        {
            OutboxMessage.attempts: attempts,
            OutboxMessage.next_attempt_at: now() + dt.timedelta(seconds=delay),
            OutboxMessage.lease_until: None,
            OutboxMessage.last_error: error[:4000],
            OutboxMessage.ambiguous: bool(message.get("ambiguous")) or ambiguous,
        }
    ).where((OutboxMessage.id == message["id"]) & (OutboxMessage.lease_owner == owner))
    await record_issue(
        message["target_kind"],
        message["target_id"],
        OPERATION_NAMES.get(message["action"], message["action"]),
        error,
        order_id=message["order"],
        outbox_id=message["id"],
    )
    return True


async def give_up(message: dict[str, Any], owner: str, error: str, state: str = FAILED) -> None:
    """Stop retrying: record the connection issue and flag the order for a human."""
    async with db.transaction():
        updated = (
            await OutboxMessage.update(
                {
                    OutboxMessage.state: state,
                    OutboxMessage.lease_until: None,
                    OutboxMessage.last_error: error[:4000],
                    OutboxMessage.attempts: OutboxMessage.attempts + 1,
                }
            )
            .where((OutboxMessage.id == message["id"]) & (OutboxMessage.lease_owner == owner))
            .returning(OutboxMessage.id)
        )
        if not updated:
            return
        await record_issue(
            message["target_kind"],
            message["target_id"],
            OPERATION_NAMES.get(message["action"], message["action"]),
            error,
            order_id=message["order"],
            outbox_id=message["id"],
        )
        if message["order"]:
            # Kept on a delivered order too: the merchant must know the channel did not hear it.
            async with change_order(message["order"], Actor("job", "outbox"), final_ok=True) as change:
                change.open_issue(
                    "channel_sync_failed" if message["target_kind"] == "channel" else "supplier_sync_failed",
                    f"Could not {message['action']} at the {message['target_kind']}: {error} "
                    "Fix the cause, then use Retry on the Connection issues page.",
                    source=message["target_kind"],
                )


async def retry_message(message_id: int) -> bool:
    """Send a failed or waiting message again now (the Retry button)."""
    updated = (
        await OutboxMessage.update(
            {
                OutboxMessage.state: PENDING,
                OutboxMessage.attempts: 0,
                OutboxMessage.next_attempt_at: now(),
                OutboxMessage.lease_until: None,
            }
        )
        .where((OutboxMessage.id == message_id) & (OutboxMessage.state != DONE))
        .returning(OutboxMessage.id)
    )
    return bool(updated)


async def pending_count() -> int:
    return await OutboxMessage.count().where(OutboxMessage.state == PENDING)


async def waiting_targets(order_id: int, target_kind: str) -> set[int]:
    """The channels or suppliers that still have a message about this order waiting to be delivered."""
    rows = await OutboxMessage.select(OutboxMessage.target_id).where(
        (OutboxMessage.order == order_id)
        & (OutboxMessage.target_kind == target_kind)
        & (OutboxMessage.state == PENDING)
    )
    return {row["target_id"] for row in rows}
