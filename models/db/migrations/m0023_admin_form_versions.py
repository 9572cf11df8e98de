"""Channels, suppliers and carriers carry a version, as orders do: a save based on an older version (a
second admin's form opened before the first one saved) is refused instead of silently overwriting."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer

from models.db.migration_steps import add_columns, column_params

ID = "2026-12-08T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "version of channels, suppliers and carriers"

TABLES = (("Channel", "channel"), ("Supplier", "supplier"), ("Carrier", "carrier"))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    for class_name, tablename in TABLES:
        add_columns(manager, class_name, tablename, [("version", Integer, column_params(default=1))])
    return manager
