"""Claiming queued rows with a lease, so that any number of instances can work the same queue.

One statement marks the rows an instance takes (`lease_owner`, `lease_until`) and returns them; rows
another instance holds are skipped until its lease runs out (it died, or it is slow). On PostgreSQL
`FOR UPDATE SKIP LOCKED` keeps two claims at the same moment from waiting on each other; on SQLite
the write transaction already lets one claim in at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from models import db


async def claim(
    table: str,
    owner: str,
    stamp: dt.datetime,
    lease: dt.timedelta,
    where: str,
    args: Sequence[Any] = (),
    *,
    order_by: str = "",
    limit: int | None = None,
    returning: str = "*",
) -> list[dict[str, Any]]:
    """Lease the rows of `table` (aliased `m` in `where` and `order_by`) that match `where` (with `{}`
    placeholders for `args`) and are free at `stamp`, up to `limit`; returns `returning` of each."""
    lock = "" if db.is_sqlite() else " FOR UPDATE SKIP LOCKED"
    inner = f"SELECT m.id FROM {table} m WHERE {where} AND (m.lease_until IS NULL OR m.lease_until < {{}})"
    tail: list[Any] = [stamp]
    if order_by:
        inner += f" ORDER BY {order_by}"
    if limit is not None:
        inner += " LIMIT {}"
        tail.append(limit)
    sql = f"UPDATE {table} SET lease_owner = {{}}, lease_until = {{}} WHERE id IN ({inner}{lock}) RETURNING {returning}"
    async with db.transaction():
        return await db.fetch(sql, owner, stamp + lease, *args, *tail)
