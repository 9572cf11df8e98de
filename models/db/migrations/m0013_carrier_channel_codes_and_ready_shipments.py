"""Carriers get a code per channel; shipments get a state (ready until Mark as shipped, then shipped)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-24T09:00:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "carrier codes per channel, ready shipments"


def _params(**overrides):
    params = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(overrides)
    return params


COLUMNS = [
    # Existing shipments all left already: the default makes them shipped.
    ("Shipment", "shipment", "state", Varchar, _params(length=16, default="shipped")),
    ("Carrier", "carrier", "channel_codes", Text, _params(default="{}")),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    for class_name, tablename, name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
