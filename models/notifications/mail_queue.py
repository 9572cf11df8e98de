"""Notification messages on their way to the mail server: leased, retried with backoff, never dropped.

A queued message is claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL) so two instances
never send it at once. A failure is retried with the outbox's backoff (capped at 30 minutes) for as
long as it takes, and shows as a connection issue of the mail server until a message goes through.
Whatever happens, the message stays readable on the Notifications page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from models import db
from models.channels.outbox import backoff_delay
from models.core.clock import now
from models.core.quoting import quoted
from models.db import leases
from models.db.tables import NotificationMessage, SyncIssue, User

LEASE = dt.timedelta(seconds=90)
QUEUED, SENT, KEPT = "queued", "sent", "kept"

#: How the mail server appears among the connection issues.
MAIL_KIND = "smtp"
MAIL_ID = 0
MAIL_OPERATION = "email_send"


async def claim_mail(owner: str, limit: int = 20) -> list[dict[str, Any]]:
    """Lease up to `limit` queued messages that are due, with their user's current address."""
    stamp = now()
    claimed = await leases.claim(
        "notification_message",
        owner,
        stamp,
        LEASE,
        "m.state = {} AND m.next_attempt_at <= {}",
        [QUEUED, stamp],
        order_by="m.next_attempt_at, m.id",
        limit=limit,
        returning="id",
    )
    if not claimed:
        return []
    messages = (
        await NotificationMessage.select()
        .where(NotificationMessage.id.is_in([row["id"] for row in claimed]))
        .order_by(NotificationMessage.id)
    )
    users = await User.select(User.id, User.email).where(User.id.is_in(sorted({m["user"] for m in messages})))
    addresses = {row["id"]: row["email"] for row in users}
    for message in messages:
        message["email"] = addresses.get(message["user"], "")
    return messages


async def mark_sent(message: dict[str, Any], owner: str, recipient: str) -> None:
    async with db.transaction():
        updated = (
            await NotificationMessage.update(
                {
                    NotificationMessage.state: SENT,
                    NotificationMessage.sent_at: now(),
                    NotificationMessage.recipient: recipient,
                    NotificationMessage.lease_until: None,
                    NotificationMessage.attempts: NotificationMessage.attempts + 1,
                    NotificationMessage.last_error: "",
                }
            )
            .where((NotificationMessage.id == message["id"]) & (NotificationMessage.lease_owner == owner))
            .returning(NotificationMessage.id)
        )
        if updated:
            await SyncIssue.update({SyncIssue.resolved_at: now(), SyncIssue.retry_succeeded: True}).where(
                (SyncIssue.integration_kind == MAIL_KIND) & SyncIssue.resolved_at.is_null()
            )


async def mark_kept(message: dict[str, Any], owner: str, note: str) -> None:
    """Stop trying to e-mail it (nowhere to send it); it stays on the Notifications page."""
    await NotificationMessage.update(
        {NotificationMessage.state: KEPT, NotificationMessage.note: note, NotificationMessage.lease_until: None}
    ).where((NotificationMessage.id == message["id"]) & (NotificationMessage.lease_owner == owner))


async def mail_failed(message: dict[str, Any], owner: str, error: str) -> dt.datetime:
    """Try again later (with backoff) and show the failure as a connection issue; returns when."""
    attempts = message["attempts"] + 1
    retry_at = now() + dt.timedelta(seconds=backoff_delay(attempts))
    async with db.transaction():
        await NotificationMessage.update(
            {
                NotificationMessage.attempts: attempts,
                NotificationMessage.next_attempt_at: retry_at,
                NotificationMessage.lease_until: None,
                NotificationMessage.last_error: error[:4000],
            }
        ).where((NotificationMessage.id == message["id"]) & (NotificationMessage.lease_owner == owner))
        await _record_mail_issue(f"{error} (to {message['recipient']}: {quoted(message['subject'])})")
    return retry_at


async def postpone_mail(message: dict[str, Any], owner: str, until: dt.datetime) -> None:
    """Not tried: the server failed on an earlier message of this run; try with it again later."""
    await NotificationMessage.update(
        {NotificationMessage.next_attempt_at: until, NotificationMessage.lease_until: None}
    ).where((NotificationMessage.id == message["id"]) & (NotificationMessage.lease_owner == owner))


async def _record_mail_issue(text: str) -> None:
    """One open issue stands for the mail server: a repeated failure updates it."""
    open_issue = (
        await SyncIssue.select(SyncIssue.id)
        .where((SyncIssue.integration_kind == MAIL_KIND) & SyncIssue.resolved_at.is_null())
        .first()
    )
    if open_issue:
        await SyncIssue.update({SyncIssue.remote_message: text[:4000], SyncIssue.at: now()}).where(
            SyncIssue.id == open_issue["id"]
        )
        return
    await SyncIssue.insert(
        SyncIssue(
            integration_kind=MAIL_KIND,
            integration_id=MAIL_ID,
            operation=MAIL_OPERATION,
            remote_message=text[:4000],
            at=now(),
        )
    )


async def retry_mail_now() -> int:
    """Every queued message is due now (the Retry button); returns how many."""
    rows = (
        await NotificationMessage.update({NotificationMessage.next_attempt_at: now()})
        .where(NotificationMessage.state == QUEUED)
        .returning(NotificationMessage.id)
    )
    return len(rows)


async def keep_queued(note: str) -> int:
    """No mail server any more: queued messages are kept on the page instead of waiting forever."""
    rows = (
        await NotificationMessage.update({NotificationMessage.state: KEPT, NotificationMessage.note: note})
        .where(NotificationMessage.state == QUEUED)
        .returning(NotificationMessage.id)
    )
    return len(rows)


async def queued_count() -> int:
    return await NotificationMessage.count().where(NotificationMessage.state == QUEUED)
