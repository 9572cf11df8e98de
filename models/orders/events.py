"""Audit events: append-only, written in the same transaction as the change they describe."""

from __future__ import annotations

import json
from typing import Any

from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import Event


def event_row(
    order_id: int | None,
    kind: str,
    message: str,
    actor: Actor,
    line_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Event:
    return Event(
        order=order_id,
        order_line=line_id,
        at=now(),
        actor_kind=actor.kind,
        actor_name=actor.name,
        kind=kind,
        message=message,
        details=json.dumps(details or {}, ensure_ascii=False, default=str),
    )


async def record(
    order_id: int | None,
    kind: str,
    message: str,
    actor: Actor,
    line_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await Event.insert(event_row(order_id, kind, message, actor, line_id, details)).run()
