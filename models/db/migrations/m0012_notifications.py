from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


def _serial():
    return Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class User(Table, tablename="app_user", schema=None):
    id = _serial()


class Order(Table, tablename="orders", schema=None):
    id = _serial()


class NotificationMessage(Table, tablename="notification_message", schema=None):
    id = _serial()


ID = "2026-11-24T09:00:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "new-order notifications: one row per user and order, gathered into messages"


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


def _foreign_key(references, on_delete=OnDelete.cascade):
    return _params(
        references=references,
        on_delete=on_delete,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
        index=True,
    )


COLUMNS = {
    "NotificationMessage": (
        "notification_message",
        [
            ("user", ForeignKey, _foreign_key(User)),
            ("recipient", Varchar, _params(length=254, default="")),
            ("subject", Varchar, _params(length=300, default="")),
            ("body", Text, _params(default="")),
            ("orders", Integer, _params(default=0)),
            ("state", Varchar, _params(length=16, default="queued", index=True)),
            ("note", Text, _params(default="")),
            ("attempts", Integer, _params(default=0)),
            ("next_attempt_at", Timestamptz, _params(default=TimestamptzNow(), index=True)),
            ("lease_owner", Varchar, _params(length=100, default="")),
            ("lease_until", Timestamptz, _params(default=None, null=True)),
            ("last_error", Text, _params(default="")),
            ("created_at", Timestamptz, _params(default=TimestamptzNow())),
            ("sent_at", Timestamptz, _params(default=None, null=True)),
            ("read_at", Timestamptz, _params(default=None, null=True, index=True)),
        ],
    ),
    "Notification": (
        "notification",
        [
            ("user", ForeignKey, _foreign_key(User)),
            ("order", ForeignKey, _foreign_key(Order)),
            ("kind", Varchar, _params(length=32, default="awaiting_acceptance")),
            ("created_at", Timestamptz, _params(default=TimestamptzNow())),
            ("gathered_at", Timestamptz, _params(default=None, null=True, index=True)),
            ("gathered_into", ForeignKey, _foreign_key(NotificationMessage, on_delete=OnDelete.set_null)),
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
