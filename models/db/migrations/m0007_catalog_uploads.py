from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Supplier(Table, tablename="supplier", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class CatalogUpload(Table, tablename="catalog_upload", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-11-23T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog uploads imported in chunks"


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
    "CatalogUpload": (
        "catalog_upload",
        [
            ("supplier", ForeignKey, _foreign_key(Supplier, index=True)),
            ("filename", Varchar, _params(length=255, default="")),
            ("uploaded_by", Varchar, _params(length=100, default="")),
            ("columns", Text, _params(default="[]")),
            ("delimiter", Varchar, _params(length=1, default=",")),
            ("total_rows", Integer, _params(default=0)),
            ("rows_done", Integer, _params(default=0)),
            ("created", Integer, _params(default=0)),
            ("updated", Integer, _params(default=0)),
            ("error_rows", Integer, _params(default=0)),
            ("errors", Text, _params(default="[]")),
            ("created_at", Timestamptz, _params(default=TimestamptzNow())),
            ("finished_at", Timestamptz, _params(default=None, null=True)),
        ],
    ),
    "CatalogUploadPart": (
        "catalog_upload_part",
        [
            ("upload", ForeignKey, _foreign_key(CatalogUpload, index=False)),
            ("first_row", Integer, _params(default=0)),
            ("rows", Text, _params(default="[]")),
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
