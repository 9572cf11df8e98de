"""Indexes for catalog uploads and the supplier page's catalog table (a raw migration, like m0005)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from models.db.migration_steps import run_statements

ID = "2026-11-23T09:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog upload and supplier catalog indexes"

INDEXES = [
    # One part per chunk of an upload; the next chunk is looked up by where it starts.
    "CREATE UNIQUE INDEX catalog_upload_part_uq ON catalog_upload_part (upload, first_row)",
    # A supplier's catalog, counted and paged by channel SKU; a search reads only that supplier's entries.
    "CREATE INDEX catalog_item_supplier_channel_sku ON catalog_item (supplier, channel_sku)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    run_statements(manager, INDEXES)
    return manager
