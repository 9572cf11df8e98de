"""Import runs per channel: one instance at a time (a lease), and a cursor that only moves forward."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.core.clock import now
from models.db import leases
from models.db.tables import Channel

LEASE = dt.timedelta(minutes=2)
#: Each poll re-reads this much before the cursor, so an order updated during the last poll is not missed.
OVERLAP = dt.timedelta(minutes=10)
FIRST_SYNC_LOOKBACK = dt.timedelta(days=30)


#: The channel row's import lease.
IMPORT_LEASE = leases.LeaseColumns(owner="import_lease_owner", until="import_lease_until")


async def claim_import(channel_id: int, owner: str) -> dict[str, Any] | None:
    """Take the channel's import lease, or None if another instance holds it."""
    taken = await leases.claim(
        "channel", owner, now(), LEASE, "m.id = {}", [channel_id], returning="id", columns=IMPORT_LEASE, again=True
    )
    if not taken:
        return None
    return await Channel.select().where(Channel.id == channel_id).first()


async def renew_import(channel_id: int, owner: str) -> None:
    await leases.renew("channel", channel_id, owner, now() + LEASE, columns=IMPORT_LEASE)


def poll_start(channel: dict[str, Any]) -> dt.datetime:
    cursor = channel.get("import_cursor")
    return cursor - OVERLAP if cursor else now() - FIRST_SYNC_LOOKBACK


async def finish_import(channel_id: int, owner: str, *, ok: bool, summary: str, cursor: dt.datetime | None) -> None:
    updates: dict[Any, Any] = {
        Channel.import_lease_until: None,
        Channel.import_lease_owner: "",
        Channel.last_import_at: now(),
        Channel.last_import_result: summary[:1000],
        Channel.last_import_ok: ok,
    }
    if ok and cursor is not None:
        updates[Channel.import_cursor] = cursor
    await Channel.update(updates).where((Channel.id == channel_id) & (Channel.import_lease_owner == owner))


async def channels_due() -> list[dict[str, Any]]:
    """Active channels with a real connector, with their poll interval."""
    return await Channel.select(Channel.id, Channel.kind, Channel.poll_interval_s, Channel.name).where(
        Channel.active == True  # noqa: E712
    )
