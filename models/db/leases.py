"""Claiming queued rows with a lease, so that any number of instances can work the same queue.

One statement marks the rows an instance takes (`lease_owner`, `lease_until`) and returns them; rows
another instance holds are skipped until its lease runs out (it died, or it is slow). On PostgreSQL
`FOR UPDATE SKIP LOCKED` keeps two claims at the same moment from waiting on each other; on SQLite
the write transaction already lets one claim in at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from models import db


@dataclass(frozen=True)
class LeaseColumns:
    """The two columns that hold a row's lease: who holds it, and until when."""

    owner: str = "lease_owner"
    until: str = "lease_until"


#: Queued rows (outbox messages, mail): `lease_owner`, `lease_until`.
QUEUE = LeaseColumns()


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
    columns: LeaseColumns = QUEUE,
    again: bool = False,
) -> list[dict[str, Any]]:
    """Lease the rows of `table` (aliased `m` in `where` and `order_by`) that match `where` (with `{}`
    placeholders for `args`) and are free at `stamp`, up to `limit`; returns `returning` of each.
    With `again`, rows `owner` already holds are taken again (a lease renewed by claiming it)."""
    lock = "" if db.is_sqlite() else " FOR UPDATE SKIP LOCKED"
    free = f"m.{columns.until} IS NULL OR m.{columns.until} < {{}}" + (f" OR m.{columns.owner} = {{}}" if again else "")
    inner = f"SELECT m.id FROM {table} m WHERE {where} AND ({free})"
    tail: list[Any] = [stamp, owner] if again else [stamp]
    if order_by:
        inner += f" ORDER BY {order_by}"
    if limit is not None:
        inner += " LIMIT {}"
        tail.append(limit)
    sets = f"{columns.owner} = {{}}, {columns.until} = {{}}"
    sql = f"UPDATE {table} SET {sets} WHERE id IN ({inner}{lock}) RETURNING {returning}"
    async with db.transaction():
        return await db.fetch(sql, owner, stamp + lease, *args, *tail)


async def renew(table: str, row_id: int, owner: str, until: dt.datetime, *, columns: LeaseColumns = QUEUE) -> bool:
    """Extend the lease `owner` holds on one row; False when it is no longer theirs."""
    sql = f"UPDATE {table} SET {columns.until} = {{}} WHERE id = {{}} AND {columns.owner} = {{}} RETURNING id"
    async with db.transaction():
        return bool(await db.fetch(sql, until, row_id, owner))
