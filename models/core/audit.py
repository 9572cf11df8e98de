"""The audit trail's rows: one shape for every change, whether it concerns an order or an account."""

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
    """An event to insert in the transaction of the change it describes (append-only, never edited)."""
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
