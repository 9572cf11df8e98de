from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from models.db.migration_steps import add_tables, column_params, foreign_key_params, stand_in

Supplier = stand_in("Supplier", "supplier")
Order = stand_in("Order", "orders")
ResubmitRun = stand_in("ResubmitRun", "resubmit_run")

ID = "2026-11-24T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "resubmit all: runs and their results"


COLUMNS = {
    "ResubmitRun": (
        "resubmit_run",
        [
            ("supplier", ForeignKey, foreign_key_params(Supplier, index=True)),
            ("started_by", Varchar, column_params(length=100, default="")),
            ("order_ids", Text, column_params(default="[]")),
            ("total", Integer, column_params(default=0)),
            ("position", Integer, column_params(default=0)),
            ("started_at", Timestamptz, column_params(default=TimestamptzNow())),
            ("finished_at", Timestamptz, column_params(default=None, null=True)),
        ],
    ),
    "ResubmitResult": (
        "resubmit_result",
        [
            ("run", ForeignKey, foreign_key_params(ResubmitRun, index=True)),
            ("order", ForeignKey, foreign_key_params(Order, index=False)),
            ("outcome", Varchar, column_params(length=16, default="")),
            ("message", Text, column_params(default="")),
        ],
    ),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
