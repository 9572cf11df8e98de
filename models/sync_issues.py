"""Connection issues: failed exchanges with channels and suppliers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.clock import now
from models.tables import SyncIssue

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
