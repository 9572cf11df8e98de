"""Unique keys for the catalog and shipping mappings (SQLite cannot add them as constraints later)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from models.db.migration_steps import run_statements

ID = "2026-11-22T20:44:28:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog and shipping mapping unique keys"

INDEXES = [
    "CREATE UNIQUE INDEX catalog_item_sku_supplier_uq ON catalog_item (channel_sku, supplier)",
    "CREATE UNIQUE INDEX shipping_mapping_uq ON shipping_mapping (channel, channel_rate, supplier)",
    "CREATE INDEX supplier_order_status ON supplier_order (status, supplier)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    run_statements(manager, INDEXES)
    return manager
