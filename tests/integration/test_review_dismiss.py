"""Dismissing a review issue: only with a reason, audited, and the order resumes where it belongs."""

from __future__ import annotations

import pytest

from models.core.actors import Actor
from models.core.errors import DomainError, FieldErrors
from models.db.tables import Event, Order, ReviewIssue
from models.orders.edits import dismiss_issue
from tests.conftest import import_one, make_order

MERCHANT = Actor("user", "merchant")


async def status_and_version(order_id: int) -> tuple[str, int]:
    row = await Order.select(Order.status, Order.version).where(Order.id == order_id).first()
    return row["status"], row["version"]


async def test_a_dismissed_issue_closes_with_its_reason_and_the_order_resumes(channel):
    order_id = await import_one(channel, make_order("DIS-1", last_name=""))  # lines still await acceptance
    status, version = await status_and_version(order_id)
    assert status == "pending_review"
    with pytest.raises(FieldErrors):
        await dismiss_issue(order_id, "missing_surname", "  ", MERCHANT, version)
    with pytest.raises(DomainError, match="no longer open"):
        await dismiss_issue(order_id, "invalid_postcode", "not it", MERCHANT, version)
    assert await status_and_version(order_id) == (status, version)

    await dismiss_issue(order_id, "missing_surname", "A company: its name is the company", MERCHANT, version)
    assert (await status_and_version(order_id))[0] == "awaiting_acceptance"
    issue = await ReviewIssue.select().where(ReviewIssue.order == order_id).first()
    assert issue["resolved_at"] is not None and issue["resolved_by"] == MERCHANT.describe()
    events = await Event.select(Event.kind, Event.message, Event.actor_name).where(Event.order == order_id)
    dismissed = [e for e in events if e["kind"] == "review_issue_dismissed"]
    assert len(dismissed) == 1 and "A company: its name is the company" in dismissed[0]["message"]
    assert dismissed[0]["actor_name"] == "merchant"


async def test_a_stale_dismiss_is_a_conflict_and_changes_nothing(channel):
    order_id = await import_one(channel, make_order("DIS-2", last_name=""))
    _, version = await status_and_version(order_id)
    await dismiss_issue(order_id, "missing_surname", "right as it is", MERCHANT, version)
    with pytest.raises(DomainError):
        await dismiss_issue(order_id, "missing_surname", "again", MERCHANT, version)
