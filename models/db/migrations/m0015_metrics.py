"""Metrics: a ship-by handling time per channel, and covering indexes for the Metrics page."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

from models.db.migration_steps import run_statements

ID = "2026-11-24T09:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "channel handling days and metrics indexes"

INDEXES = [
    # The Metrics page reads a channel's orders placed in a period, and only these columns of them:
    # every figure comes from this index alone, without visiting the order rows.
    "CREATE INDEX orders_metrics ON orders (channel, placed_at, status, accepted_at, shipped_at, id)",
    # ... and the lines of those orders by status (with the reason of rejected lines), again index-only.
    'CREATE INDEX order_line_order_status ON order_line ("order", status, rejection_reason)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    run_statements(manager, INDEXES)
    manager.add_column(
        table_class_name="Channel",
        tablename="channel",
        column_name="handling_days",
        db_column_name="handling_days",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 2,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
