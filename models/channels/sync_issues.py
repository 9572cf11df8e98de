"""Connection issues: failed exchanges with channels and suppliers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.core.clock import now
from models.db.tables import SyncIssue

WINDOW = dt.timedelta(days=7)
PER_INTEGRATION = 20


async def unresolved_count() -> int:
    return await SyncIssue.count().where(SyncIssue.resolved_at.is_null() & (SyncIssue.at > now() - WINDOW))


async def recent_issues(integration_kind: str, integration_id: int) -> list[dict[str, Any]]:
    """The last 20 issues of the last 7 days for one integration, newest first."""
    return (
        await SyncIssue.select()
        .where(
            (SyncIssue.integration_kind == integration_kind)
            & (SyncIssue.integration_id == integration_id)
            & (SyncIssue.at > now() - WINDOW)
        )
        .order_by(SyncIssue.at, ascending=False)
        .limit(PER_INTEGRATION)
    )


async def record_issue(
    integration_kind: str,
    integration_id: int,
    operation: str,
    message: str,
    *,
    order_id: int | None = None,
    outbox_id: int | None = None,
    payload: str = "",
    per_order: bool = False,
) -> None:
    """Record a failed exchange. A repeated failure of the same outbox message (or, `per_order`, of the
    same operation on the same order) updates its open issue instead of adding one per attempt."""
    same = None
    if outbox_id is not None:
        same = SyncIssue.outbox == outbox_id
    elif per_order and order_id is not None:
        same = (
            (SyncIssue.integration_kind == integration_kind)
            & (SyncIssue.integration_id == integration_id)
            & (SyncIssue.operation == operation)
            & (SyncIssue.order == order_id)
        )
    if same is not None:
        existing = await SyncIssue.select(SyncIssue.id).where(same & SyncIssue.resolved_at.is_null()).first()
        if existing:
            await SyncIssue.update({SyncIssue.remote_message: message[:4000], SyncIssue.at: now()}).where(
                SyncIssue.id == existing["id"]
            )
            return
    await SyncIssue.insert(
        SyncIssue(
            integration_kind=integration_kind,
            integration_id=integration_id,
            order=order_id,
            outbox=outbox_id,
            operation=operation,
            remote_message=message[:4000],
            payload=payload[:100_000],
            at=now(),
        )
    )


async def resolve_outbox_issue(outbox_id: int, retry_succeeded: bool = True) -> None:
    await SyncIssue.update({SyncIssue.resolved_at: now(), SyncIssue.retry_succeeded: retry_succeeded}).where(
        (SyncIssue.outbox == outbox_id) & SyncIssue.resolved_at.is_null()
    )


async def resolve_order_issues(
    integration_kind: str, integration_id: int, operation: str, order_id: int, retry_succeeded: bool = True
) -> None:
    """An exchange about one order that failed before went through (or needs no retry any more)."""
    await SyncIssue.update({SyncIssue.resolved_at: now(), SyncIssue.retry_succeeded: retry_succeeded}).where(
        (SyncIssue.integration_kind == integration_kind)
        & (SyncIssue.integration_id == integration_id)
        & (SyncIssue.operation == operation)
        & (SyncIssue.order == order_id)
        & SyncIssue.resolved_at.is_null()
    )


async def resolve_import_issues(channel_id: int) -> None:
    """A successful import run clears the fetch failures before it (not per-order rejects)."""
    await SyncIssue.update({SyncIssue.resolved_at: now(), SyncIssue.retry_succeeded: True}).where(
        (SyncIssue.integration_kind == "channel")
        & (SyncIssue.integration_id == channel_id)
        & (SyncIssue.operation == "order_import")
        & (SyncIssue.payload == "")
        & SyncIssue.resolved_at.is_null()
    )


async def get_issue(issue_id: int) -> dict[str, Any] | None:
    return await SyncIssue.select().where(SyncIssue.id == issue_id).first()
