from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from models.db.migration_steps import add_tables, column_params, foreign_key_params


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


COLUMNS = {
    "CatalogUpload": (
        "catalog_upload",
        [
            ("supplier", ForeignKey, foreign_key_params(Supplier, index=True)),
            ("filename", Varchar, column_params(length=255, default="")),
            ("uploaded_by", Varchar, column_params(length=100, default="")),
            ("columns", Text, column_params(default="[]")),
            ("delimiter", Varchar, column_params(length=1, default=",")),
            ("total_rows", Integer, column_params(default=0)),
            ("rows_done", Integer, column_params(default=0)),
            ("created", Integer, column_params(default=0)),
            ("updated", Integer, column_params(default=0)),
            ("error_rows", Integer, column_params(default=0)),
            ("errors", Text, column_params(default="[]")),
            ("created_at", Timestamptz, column_params(default=TimestamptzNow())),
            ("finished_at", Timestamptz, column_params(default=None, null=True)),
        ],
    ),
    "CatalogUploadPart": (
        "catalog_upload_part",
        [
            ("upload", ForeignKey, foreign_key_params(CatalogUpload, index=False)),
            ("first_row", Integer, column_params(default=0)),
            ("rows", Text, column_params(default="[]")),
        ],
    ),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
