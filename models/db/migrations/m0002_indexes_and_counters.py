"""Composite and search indexes, unique keys, and the triggers that keep order counts exact."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from models.db.migration_steps import run_statements

ID = "2026-11-22T19:20:12:225597"
VERSION = "1.38.0"
DESCRIPTION = "indexes and counters"

INDEXES = [
    "CREATE UNIQUE INDEX orders_channel_order_uq ON orders (channel, channel_order_id)",
    "CREATE INDEX orders_status_placed ON orders (status, placed_at, id)",
    "CREATE INDEX orders_placed ON orders (placed_at, id)",
    "CREATE INDEX orders_channel_status_placed ON orders (channel, status, placed_at, id)",
    'CREATE INDEX order_line_order ON order_line ("order", position)',
    'CREATE INDEX supplier_order_order ON supplier_order ("order")',
    'CREATE INDEX supplier_order_supplier ON supplier_order (supplier, "order")',
    'CREATE INDEX shipment_order ON shipment ("order")',
    "CREATE INDEX shipment_line_shipment ON shipment_line (shipment)",
    "CREATE INDEX shipment_line_order_line ON shipment_line (order_line)",
    'CREATE INDEX review_issue_order ON review_issue ("order", resolved_at)',
    "CREATE INDEX review_issue_open_code ON review_issue (code, resolved_at)",
    'CREATE INDEX event_order_at ON event ("order", at, id)',
    "CREATE INDEX outbox_due ON outbox_message (state, next_attempt_at)",
    'CREATE INDEX outbox_order ON outbox_message ("order")',
    "CREATE INDEX sync_issue_integration ON sync_issue (integration_kind, integration_id, at)",
    "CREATE INDEX raw_payload_channel_order ON raw_payload (channel, channel_order_id, received_at)",
    'CREATE INDEX order_search_term_term ON order_search_term (term, "order")',
    # Checks "does this order have a term in this range?" from the index alone (broad searches test
    # each order while reading orders newest first); it supersedes the plain index on "order".
    'CREATE INDEX order_search_term_order_term ON order_search_term ("order", term)',
    "DROP INDEX order_search_term_order",
    'CREATE INDEX api_token_user ON api_token ("user")',
    "CREATE UNIQUE INDEX order_status_count_uq ON order_status_count (channel_id, status)",
]

UPSERT_NEW = (
    "INSERT INTO order_status_count (channel_id, status, n) VALUES (NEW.channel, NEW.status, 1) "
    "ON CONFLICT (channel_id, status) DO UPDATE SET n = order_status_count.n + 1"
)
DECREMENT_OLD = "UPDATE order_status_count SET n = n - 1 WHERE channel_id = OLD.channel AND status = OLD.status"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER orders_count_insert AFTER INSERT ON orders BEGIN {UPSERT_NEW}; END",
    "CREATE TRIGGER orders_count_update AFTER UPDATE OF status, channel ON orders "
    "WHEN OLD.status IS NOT NEW.status OR OLD.channel IS NOT NEW.channel "
    f"BEGIN {DECREMENT_OLD}; {UPSERT_NEW}; END",
    f"CREATE TRIGGER orders_count_delete AFTER DELETE ON orders BEGIN {DECREMENT_OLD}; END",
]

# Counter rows are always locked in (channel, status) order, so two transactions moving
# orders in opposite directions cannot deadlock on them.
# Byte-order comparison so prefix ranges on search terms match exactly and use the index.
POSTGRES_PREPARE = ['ALTER TABLE order_search_term ALTER COLUMN term TYPE VARCHAR(100) COLLATE "C"']

POSTGRES_TRIGGERS = [
    f"""
CREATE OR REPLACE FUNCTION waybill_count_orders() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {UPSERT_NEW};
  ELSIF TG_OP = 'DELETE' THEN
    {DECREMENT_OLD};
  ELSIF NEW.status IS DISTINCT FROM OLD.status OR NEW.channel IS DISTINCT FROM OLD.channel THEN
    IF (OLD.channel, OLD.status) < (NEW.channel, NEW.status) THEN
      {DECREMENT_OLD};
      {UPSERT_NEW};
    ELSE
      {UPSERT_NEW};
      {DECREMENT_OLD};
    END IF;
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER orders_status_count AFTER INSERT OR DELETE OR UPDATE OF status, channel "
    "ON orders FOR EACH ROW EXECUTE FUNCTION waybill_count_orders()",
]


def _statements(engine_type):
    if engine_type == "sqlite":
        return INDEXES + SQLITE_TRIGGERS
    return POSTGRES_PREPARE + INDEXES + POSTGRES_TRIGGERS


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    run_statements(manager, _statements)
    return manager
