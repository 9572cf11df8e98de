"""The channel's auto-accept rule: hold orders with an unknown SKU or a line priced below catalog cost."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer

from models.db.migration_steps import add_columns, column_params

ID = "2026-11-24T09:00:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "channel auto-accept rule"


COLUMNS = [
    ("hold_unknown_sku", Boolean, column_params(default=False)),
    ("hold_below_cost_pct", Integer, column_params(default=None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    add_columns(manager, "Channel", "channel", COLUMNS)
    return manager
