"""Connection issues of stock reads: one open issue per supplier whose stock cannot be read."""

from __future__ import annotations

from typing import Any

from models.channels.sync_issues import record_issue
from models.core.clock import now
from models.db.tables import SyncIssue

PULL_OPERATION = "stock_read"


def _open(supplier_id: int) -> Any:
    return (
        (SyncIssue.integration_kind == "supplier")
        & (SyncIssue.integration_id == supplier_id)
        & (SyncIssue.operation == PULL_OPERATION)
        & SyncIssue.resolved_at.is_null()
    )


async def record_pull_issue(supplier_id: int, message: str) -> None:
    existing = await SyncIssue.select(SyncIssue.id).where(_open(supplier_id)).first()
    if existing is None:
        await record_issue("supplier", supplier_id, PULL_OPERATION, message)
    else:
        await SyncIssue.update({SyncIssue.remote_message: message[:4000], SyncIssue.at: now()}).where(
            SyncIssue.id == existing["id"]
        )


async def resolve_pull_issues(supplier_id: int) -> None:
    await SyncIssue.update({SyncIssue.resolved_at: now(), SyncIssue.retry_succeeded: True}).where(_open(supplier_id))
