"""The channel's auto-accept rule: hold orders with an unknown SKU or a line priced below catalog cost."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-24T09:00:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "channel auto-accept rule"


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
    ("hold_unknown_sku", Boolean, _params(default=False)),
    ("hold_below_cost_pct", Integer, _params(default=None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="Channel",
            tablename="channel",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
