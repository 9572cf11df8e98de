"""Carriers get a code per channel; shipments get a state (ready until Mark as shipped, then shipped)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Varchar

from models.db.migration_steps import add_columns, column_params

ID = "2026-11-24T09:00:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "carrier codes per channel, ready shipments"


COLUMNS = [
    # Existing shipments all left already: the default makes them shipped.
    ("Shipment", "shipment", "state", Varchar, column_params(length=16, default="shipped")),
    ("Carrier", "carrier", "channel_codes", Text, column_params(default="{}")),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    for class_name, tablename, name, column_class, params in COLUMNS:
        add_columns(manager, class_name, tablename, [(name, column_class, params)])
    return manager
