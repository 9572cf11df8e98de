"""Stock sync: supplier stock, channel offers, their history, and the rules on channels and suppliers.

Their unique keys and indexes follow in m0017 (raw statements run before the tables are made)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from models.db.migration_steps import add_columns, add_tables, column_params, foreign_key_params, stand_in

ID = "2026-11-24T09:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stock sync: supplier stock, channel offers, stock events, channel and supplier stock rules"


Supplier = stand_in("Supplier", "supplier")
Channel = stand_in("Channel", "channel")


COLUMNS = {
    "SupplierStock": (
        "supplier_stock",
        [
            ("supplier", ForeignKey, foreign_key_params(Supplier)),
            ("supplier_sku", Varchar, column_params(length=100, default="")),
            ("quantity", Integer, column_params(default=0)),
            ("changed_at", Timestamptz, column_params(default=TimestamptzNow())),
        ],
    ),
    "ChannelOffer": (
        "channel_offer",
        [
            ("channel", ForeignKey, foreign_key_params(Channel)),
            ("sku", Varchar, column_params(length=100, default="")),
            ("quantity", Integer, column_params(default=0)),
            ("sent_quantity", Integer, column_params(default=None, null=True)),
            ("state", Varchar, column_params(length=16, default="queued")),
            ("message", Text, column_params(default="")),
            ("changed_at", Timestamptz, column_params(default=TimestamptzNow())),
            ("sent_at", Timestamptz, column_params(default=None, null=True)),
        ],
    ),
    "StockEvent": (
        "stock_event",
        [
            ("sku", Varchar, column_params(length=100, default="")),
            ("channel", Integer, column_params(default=None, null=True)),
            ("at", Timestamptz, column_params(default=TimestamptzNow())),
            ("kind", Varchar, column_params(length=32, default="")),
            ("message", Text, column_params(default="")),
        ],
    ),
}

NEW_COLUMNS = [
    ("Channel", "channel", "stock_sync", Boolean, column_params(default=False)),
    ("Channel", "channel", "stock_buffer", Integer, column_params(default=0)),
    ("Channel", "channel", "stock_cap", Integer, column_params(default=None, null=True)),
    ("Supplier", "supplier", "stock_min_wallet", BigInt, column_params(default=None, null=True)),
    ("Supplier", "supplier", "stock_read_at", Timestamptz, column_params(default=None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    for class_name, tablename, name, column_class, params in NEW_COLUMNS:
        add_columns(manager, class_name, tablename, [(name, column_class, params)])
    return manager
