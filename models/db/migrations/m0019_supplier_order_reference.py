"""Supplier orders keep the supplier's own order reference beside its id.

*Order sent manually* takes either; a reference is looked up at the supplier and its id stored once
found, so status and tracking follow it. Until then the reference waits here, not in the id column.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "supplier order reference as the merchant gave it"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    manager.add_column(
        table_class_name="SupplierOrder",
        tablename="supplier_order",
        column_name="supplier_reference",
        db_column_name="supplier_reference",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 100,
            "default": "",
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
