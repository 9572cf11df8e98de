"""New-order notifications: who is told that an order waits for acceptance, and when.

When an order starts waiting for acceptance (imported so, or sent back to acceptance), one
`Notification` row per user to tell is written in the same transaction as the change, like an
outbox: a crash never loses one, and an import never waits for a mail server.

A job then gathers each user's waiting rows into one message (`gather_due`). The rule:

- a user's rows wait `GATHER` (one minute) from the first of them, so a burst of orders, or an
  import of thousands, becomes one digest ("12 orders wait for acceptance") rather than 12 e-mails;
- a user gets at most one message per `SPACING` (ten minutes); what arrives meanwhile waits for the
  next digest;
- orders accepted or rejected before the message is written are left out (nothing left: no message).

Who is told: active operators and admins (the roles that can accept) with *E-mail me when an order
waits for acceptance* on. The preference and role are checked again when the message is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from models import db
from models.accounts.users import NOTIFIED_ROLES
from models.core.clock import now
from models.db import bulk
from models.db.tables import Notification, NotificationMessage, User
from models.notifications.text import Digest, WaitingOrder, compose
from models.orders.lifecycle import OrderStatus

ACCEPTANCE = "awaiting_acceptance"
GATHER = dt.timedelta(minutes=1)
SPACING = dt.timedelta(minutes=10)
#: Users whose messages one run writes; the rest wait for the next run.
USERS_PER_RUN = 50
IN_CHUNK = 5_000

#: Why a message was not e-mailed (shown on the Notifications page).
NO_MAIL_SERVER = "Not e-mailed: no mail server is configured (WAYBILL_SMTP_HOST), so it is kept here."
NO_ADDRESS = "Not e-mailed: this user has no e-mail address. Add one on the Settings page."

INSERT_NOTIFICATION = bulk.TableInsert(Notification, ("user", "order", "kind", "created_at"))


async def queue_acceptance_notices(order_ids: list[int], stamp: dt.datetime | None = None) -> int:
    """Note, in the open transaction, that everyone who should be told about `order_ids` is told.

    Returns how many rows were written."""
    if not order_ids:
        return 0
    roles = sorted(NOTIFIED_ROLES)
    users = await bulk.fetch(
        "SELECT id FROM app_user WHERE active = {} AND notify_new_orders = {} "
        f"AND role IN ({bulk.in_list(len(roles))}) ORDER BY id",
        True,
        True,
        *roles,
    )
    if not users:
        return 0
    stamp = stamp or now()
    rows = [(user_id, order_id, ACCEPTANCE, stamp) for (user_id,) in users for order_id in order_ids]
    await INSERT_NOTIFICATION.rows(rows)
    return len(rows)


@dataclass
class GatherResult:
    messages: list[int]
    dropped: int = 0


async def gather_due(
    base_url: str,
    email_enabled: bool,
    gather: dt.timedelta = GATHER,
    spacing: dt.timedelta = SPACING,
    limit: int = USERS_PER_RUN,
) -> GatherResult:
    """Write the messages that are due (see the module's rule); returns the new messages' ids."""
    result = GatherResult(messages=[])
    for user_id in await _due_users(gather, spacing, limit):
        message_id, dropped = await _gather_user(user_id, base_url, email_enabled, spacing)
        result.dropped += dropped
        if message_id is not None:
            result.messages.append(message_id)
    return result


async def _due_users(gather: dt.timedelta, spacing: dt.timedelta, limit: int) -> list[int]:
    stamp = now()
    waiting = await db.fetch(
        'SELECT n."user" AS user_id, MIN(n.created_at) AS first FROM notification n '
        'WHERE n.gathered_at IS NULL GROUP BY n."user" ORDER BY MIN(n.created_at)'
    )
    due = []
    for row in waiting:
        if _as_datetime(row["first"]) > stamp - gather:
            continue
        if spacing and await _last_message_at(row["user_id"]) > stamp - spacing:
            continue
        due.append(row["user_id"])
        if len(due) >= limit:
            break
    return due


def _as_datetime(value: Any) -> dt.datetime:
    """A timestamp from a raw query (SQLite answers with text)."""
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def _last_message_at(user_id: int) -> dt.datetime:
    last = (
        await NotificationMessage.select(NotificationMessage.created_at)
        .where(NotificationMessage.user == user_id)
        .order_by(NotificationMessage.id, ascending=False)
        .first()
    )
    return last["created_at"] if last else dt.datetime.min.replace(tzinfo=dt.UTC)


async def _gather_user(
    user_id: int, base_url: str, email_enabled: bool, spacing: dt.timedelta
) -> tuple[int | None, int]:
    """One user's waiting rows → one message, in one transaction.

    Gathering for one user is serialised (SQLite writes one transaction at a time; PostgreSQL locks
    the user's row, in a mode that lets imports keep adding rows for the user), so another instance
    gathering the same user waits, then finds the rows gathered and the spacing not yet over."""
    stamp = now()
    async with db.transaction():
        if not db.is_sqlite():
            await bulk.fetch("SELECT id FROM app_user WHERE id = {} FOR NO KEY UPDATE", user_id)
        rows = await bulk.fetch(
            'SELECT n.id, n."order", o.status FROM notification n JOIN orders o ON o.id = n."order" '
            'WHERE n."user" = {} AND n.gathered_at IS NULL ORDER BY n.id',
            user_id,
        )
        if not rows:
            return None, 0
        if spacing and await _last_message_at(user_id) > stamp - spacing:
            return None, 0  # another instance has just written this user's message
        user = await User.select().where(User.id == user_id).first()
        still_wanted = bool(user and user["active"] and user["notify_new_orders"] and user["role"] in NOTIFIED_ROLES)
        waiting: list[tuple[int, int]] = []
        seen: set[int] = set()
        for notification_id, order_id, status in rows:
            if still_wanted and status == OrderStatus.AWAITING_ACCEPTANCE and order_id not in seen:
                seen.add(order_id)
                waiting.append((notification_id, order_id))
        waiting_ids = {notification_id for notification_id, _ in waiting}
        dropped = [notification_id for notification_id, _, _ in rows if notification_id not in waiting_ids]
        message_id = None
        if waiting:
            digest = Digest(
                username=user["username"],
                total=len(waiting),
                orders=await _order_summaries([order_id for _, order_id in waiting[: Digest.LISTED]]),
                base_url=base_url,
            )
            message_id = await _write_message(user, compose(digest), len(waiting), email_enabled, stamp)
            await _mark_gathered([i for i, _ in waiting], stamp, message_id)
        await _mark_gathered(dropped, stamp, None)
    return message_id, len(dropped)


async def _order_summaries(order_ids: list[int]) -> list[WaitingOrder]:
    if not order_ids:
        return []
    orders = await db.fetch(
        "SELECT o.id, o.channel_order_id, o.currency, o.total, o.customer_first_name, o.customer_last_name, "
        "o.ship_first_name, o.ship_last_name, c.name AS channel_name, "
        '(SELECT COALESCE(SUM(l.quantity), 0) FROM order_line l WHERE l."order" = o.id) AS items '
        f"FROM orders o JOIN channel c ON c.id = o.channel WHERE o.id IN ({bulk.in_list(len(order_ids))})",
        *order_ids,
    )
    by_id = {row["id"]: row for row in orders}
    out = []
    for order_id in order_ids:
        row = by_id.get(order_id)
        if row is None:
            continue
        name = " ".join(
            part
            for part in (
                row["customer_first_name"] or row["ship_first_name"],
                row["customer_last_name"] or row["ship_last_name"],
            )
            if part
        )
        out.append(
            WaitingOrder(
                id=row["id"],
                channel_order_id=row["channel_order_id"],
                channel=row["channel_name"],
                customer=name,
                items=int(row["items"] or 0),
                total=int(row["total"] or 0),
                currency=row["currency"],
            )
        )
    return out


async def _write_message(
    user: dict[str, Any], text: tuple[str, str], orders: int, email_enabled: bool, stamp: dt.datetime
) -> int:
    subject, body = text
    address = (user["email"] or "").strip()
    if not email_enabled:
        state, note = "kept", NO_MAIL_SERVER
    elif not address:
        state, note = "kept", NO_ADDRESS
    else:
        state, note = "queued", ""
    rows = await NotificationMessage.insert(
        NotificationMessage(
            user=user["id"],
            recipient=address,
            subject=subject[:300],
            body=body,
            orders=orders,
            state=state,
            note=note,
            next_attempt_at=stamp,
            created_at=stamp,
        )
    ).returning(NotificationMessage.id)
    return rows[0]["id"]


async def _mark_gathered(notification_ids: list[int], stamp: dt.datetime, message_id: int | None) -> None:
    for part in bulk.chunks(notification_ids, IN_CHUNK):
        await bulk.execute(
            f"UPDATE notification SET gathered_at = {{}}, gathered_into = {{}} WHERE id IN ({bulk.in_list(len(part))})",
            stamp,
            message_id,
            *part,
        )
