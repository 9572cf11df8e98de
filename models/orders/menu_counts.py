"""The counts every page's menu shows (orders to review, connection issues, unread notifications).

Every full page needs all three, so they are read in one statement rather than three.
"""

from __future__ import annotations

from dataclasses import dataclass

from models import db
from models.channels.sync_issues import WINDOW
from models.core.clock import now
from models.orders.lifecycle import OrderStatus

_SQL = (
    "SELECT"
    " (SELECT SUM(n) FROM order_status_count WHERE status = {}) AS pending_review,"
    " (SELECT COUNT(*) FROM sync_issue WHERE resolved_at IS NULL AND at > {}) AS connection_issues,"
    ' (SELECT COUNT(*) FROM notification_message WHERE "user" = {} AND read_at IS NULL) AS notifications_unread'
)


@dataclass(frozen=True)
class MenuCounts:
    pending_review: int
    connection_issues: int
    notifications_unread: int


async def menu_counts(user_id: int | None) -> MenuCounts:
    """The menu's badges; no user (an error page before log-in) has no notifications."""
    row = (await db.fetch(_SQL, OrderStatus.PENDING_REVIEW.value, now() - WINDOW, user_id or 0))[0]
    return MenuCounts(
        pending_review=int(row["pending_review"] or 0),
        connection_issues=int(row["connection_issues"] or 0),
        notifications_unread=int(row["notifications_unread"] or 0),
    )
