"""Stock sync: supplier stock, channel offers, their history, and the rules on channels and suppliers.

Their unique keys and indexes follow in m0017 (raw statements run before the tables are made)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import BigInt, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-24T09:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stock sync: supplier stock, channel offers, stock events, channel and supplier stock rules"


def _table(name: str, tablename: str) -> type[Table]:
    """A stand-in for a table referenced by a foreign key, as it was when this migration was written."""
    return type(
        name,
        (Table,),
        {"id": Serial(null=False, primary_key=True, index_method=IndexMethod.btree, db_column_name="id")},
        tablename=tablename,
    )


Supplier = _table("Supplier", "supplier")
Channel = _table("Channel", "channel")


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


def _foreign_key(references):
    return _params(
        references=references, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, target_column=None, null=True
    )


COLUMNS = {
    "SupplierStock": (
        "supplier_stock",
        [
            ("supplier", ForeignKey, _foreign_key(Supplier)),
            ("supplier_sku", Varchar, _params(length=100, default="")),
            ("quantity", Integer, _params(default=0)),
            ("changed_at", Timestamptz, _params(default=TimestamptzNow())),
        ],
    ),
    "ChannelOffer": (
        "channel_offer",
        [
            ("channel", ForeignKey, _foreign_key(Channel)),
            ("sku", Varchar, _params(length=100, default="")),
            ("quantity", Integer, _params(default=0)),
            ("sent_quantity", Integer, _params(default=None, null=True)),
            ("state", Varchar, _params(length=16, default="queued")),
            ("message", Text, _params(default="")),
            ("changed_at", Timestamptz, _params(default=TimestamptzNow())),
            ("sent_at", Timestamptz, _params(default=None, null=True)),
        ],
    ),
    "StockEvent": (
        "stock_event",
        [
            ("sku", Varchar, _params(length=100, default="")),
            ("channel", Integer, _params(default=None, null=True)),
            ("at", Timestamptz, _params(default=TimestamptzNow())),
            ("kind", Varchar, _params(length=32, default="")),
            ("message", Text, _params(default="")),
        ],
    ),
}

NEW_COLUMNS = [
    ("Channel", "channel", "stock_sync", Boolean, _params(default=False)),
    ("Channel", "channel", "stock_buffer", Integer, _params(default=0)),
    ("Channel", "channel", "stock_cap", Integer, _params(default=None, null=True)),
    ("Supplier", "supplier", "stock_min_wallet", BigInt, _params(default=None, null=True)),
    ("Supplier", "supplier", "stock_read_at", Timestamptz, _params(default=None, null=True)),
]

async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    for class_name, (tablename, _) in COLUMNS.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    for class_name, (tablename, columns) in COLUMNS.items():
        for name, column_class, params in columns:
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
    for class_name, tablename, name, column_class, params in NEW_COLUMNS:
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
