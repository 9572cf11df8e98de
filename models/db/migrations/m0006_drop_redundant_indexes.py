"""Drop two single-column indexes that compound ones already serve: every order import paid for them.

`orders (status)` is the leading column of `orders_status_placed`; raw payloads are only ever looked
up by channel and channel order id together (`raw_payload_channel_order`).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from models.db.migration_steps import run_statements

ID = "2026-11-22T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop redundant single-column indexes"

STATEMENTS = [
    "DROP INDEX IF EXISTS orders_status",
    "DROP INDEX IF EXISTS raw_payload_channel_order_id",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    run_statements(manager, STATEMENTS)
    return manager
