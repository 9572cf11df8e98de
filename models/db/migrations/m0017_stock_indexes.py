"""Stock sync: unique keys and indexes of the tables made in m0016."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from models.db.migration_steps import run_statements

ID = "2026-11-24T09:03:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stock sync keys and indexes"

INDEXES = [
    "CREATE UNIQUE INDEX supplier_stock_key ON supplier_stock (supplier, supplier_sku)",
    "CREATE UNIQUE INDEX channel_offer_key ON channel_offer (channel, sku)",
    # The Inventory page lists SKUs in order, and filters the offers whose push is failing.
    "CREATE INDEX channel_offer_sku ON channel_offer (sku)",
    "CREATE INDEX channel_offer_state ON channel_offer (state, sku)",
    # A SKU's history, newest first.
    "CREATE INDEX stock_event_sku_at ON stock_event (sku, at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    run_statements(manager, INDEXES)
    return manager
