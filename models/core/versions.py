"""Saves that are refused when the record changed since the form was opened (optimistic concurrency).

Orders have their own version check (`models.orders.change`); channels, suppliers and carriers use this
one: two admins editing the same record cannot overwrite each other without knowing.
"""

from __future__ import annotations

from typing import Any

from piccolo.table import Table

from models.core.errors import Conflict, NotFound


def changed_meanwhile(label: str) -> Conflict:
    return Conflict(
        f"{label} was changed by someone else after you opened this form, so nothing was saved. "
        "Reload the page to see their change, then make yours again."
    )


async def save_versioned(
    table: type[Table], row_id: int, values: dict[Any, Any], expected_version: int | None, label: str
) -> int:
    """Write `values` and raise the version, only if the row still has `expected_version` (None: any).
    Returns the new version; raises `Conflict` when someone saved first, `NotFound` when the row is gone."""
    version = table._meta.get_column_by_name("version")
    query = table.update({**values, version: version + 1}).where(table._meta.primary_key == row_id)
    if expected_version is not None:
        query = query.where(version == expected_version)
    rows = await query.returning(version)
    if rows:
        return rows[0]["version"]
    if await table.exists().where(table._meta.primary_key == row_id):
        raise changed_meanwhile(label)
    raise NotFound(f"{label} no longer exists.")
