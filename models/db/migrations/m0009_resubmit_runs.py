from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


def _table(name: str, tablename: str) -> type[Table]:
    """A stand-in for a table referenced by a foreign key, as it was when this migration was written."""
    return type(
        name,
        (Table,),
        {"id": Serial(null=False, primary_key=True, index_method=IndexMethod.btree, db_column_name="id")},
        tablename=tablename,
    )


Supplier = _table("Supplier", "supplier")
Order = _table("Order", "orders")
ResubmitRun = _table("ResubmitRun", "resubmit_run")

ID = "2026-11-24T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "resubmit all: runs and their results"


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


def _foreign_key(references, index):
    return _params(
        references=references,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
        index=index,
    )


COLUMNS = {
    "ResubmitRun": (
        "resubmit_run",
        [
            ("supplier", ForeignKey, _foreign_key(Supplier, index=True)),
            ("started_by", Varchar, _params(length=100, default="")),
            ("order_ids", Text, _params(default="[]")),
            ("total", Integer, _params(default=0)),
            ("position", Integer, _params(default=0)),
            ("started_at", Timestamptz, _params(default=TimestamptzNow())),
            ("finished_at", Timestamptz, _params(default=None, null=True)),
        ],
    ),
    "ResubmitResult": (
        "resubmit_result",
        [
            ("run", ForeignKey, _foreign_key(ResubmitRun, index=True)),
            ("order", ForeignKey, _foreign_key(Order, index=False)),
            ("outcome", Varchar, _params(length=16, default="")),
            ("message", Text, _params(default="")),
        ],
    ),
}


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
    return manager
