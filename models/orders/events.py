"""Audit events: append-only, written in the same transaction as the change they describe."""

from __future__ import annotations

from typing import Any

from models.core.actors import Actor
from models.core.audit import event_row
from models.db.tables import Event


async def record(
    order_id: int | None,
    kind: str,
    message: str,
    actor: Actor,
    line_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await Event.insert(event_row(order_id, kind, message, actor, line_id, details)).run()
