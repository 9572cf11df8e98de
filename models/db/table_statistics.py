"""Planner statistics that keep up with bulk writes on PostgreSQL.

PostgreSQL plans from the statistics of the last ANALYZE, and reuses a prepared statement's plan
until they change. Autovacuum analyzes a table once a tenth of it has changed, checked once a
minute: during a first backfill into empty tables that is far too late. The import's lookup of
existing orders, planned when `orders` was empty, kept scanning the whole table for each batch
(a backfill of 100,000 orders took 171 s instead of 30). So after a bulk write, a table that has
more than doubled since its statistics were taken is analyzed at once: a handful of times while
it fills up, never again once it is large. SQLite plans without statistics here: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from models import db

#: Below this size (in 8 kB pages) a table is small enough for any plan.
MIN_PAGES = 32


async def analyze_grown_tables(tables: Sequence[str], min_pages: int = MIN_PAGES) -> list[str]:
    """ANALYZE each of `tables` that has grown past twice its size at its last ANALYZE; their names."""
    if db.is_sqlite() or not tables:
        return []
    rows = await db.fetch(
        "SELECT c.relname AS name, c.relpages AS analyzed_pages, "
        "pg_relation_size(c.oid) / current_setting('block_size')::int AS pages "
        "FROM pg_class c WHERE c.oid IN (SELECT to_regclass(quote_ident(t)) FROM unnest({}::text[]) AS t)",
        list(tables),
    )
    grown = [row["name"] for row in rows if row["pages"] >= min_pages and row["pages"] > 2 * row["analyzed_pages"]]
    for name in grown:
        await db.fetch(f'ANALYZE "{name}"')
    return grown
