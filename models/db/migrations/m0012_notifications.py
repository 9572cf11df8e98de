from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from models.db.migration_steps import add_tables, column_params, foreign_key_params


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


COLUMNS = {
    "NotificationMessage": (
        "notification_message",
        [
            ("user", ForeignKey, foreign_key_params(User, index=True)),
            ("recipient", Varchar, column_params(length=254, default="")),
            ("subject", Varchar, column_params(length=300, default="")),
            ("body", Text, column_params(default="")),
            ("orders", Integer, column_params(default=0)),
            ("state", Varchar, column_params(length=16, default="queued", index=True)),
            ("note", Text, column_params(default="")),
            ("attempts", Integer, column_params(default=0)),
            ("next_attempt_at", Timestamptz, column_params(default=TimestamptzNow(), index=True)),
            ("lease_owner", Varchar, column_params(length=100, default="")),
            ("lease_until", Timestamptz, column_params(default=None, null=True)),
            ("last_error", Text, column_params(default="")),
            ("created_at", Timestamptz, column_params(default=TimestamptzNow())),
            ("sent_at", Timestamptz, column_params(default=None, null=True)),
            ("read_at", Timestamptz, column_params(default=None, null=True, index=True)),
        ],
    ),
    "Notification": (
        "notification",
        [
            ("user", ForeignKey, foreign_key_params(User, index=True)),
            ("order", ForeignKey, foreign_key_params(Order, index=True)),
            ("kind", Varchar, column_params(length=32, default="awaiting_acceptance")),
            ("created_at", Timestamptz, column_params(default=TimestamptzNow())),
            ("gathered_at", Timestamptz, column_params(default=None, null=True, index=True)),
            (
                "gathered_into",
                ForeignKey,
                foreign_key_params(NotificationMessage, index=True, on_delete=OnDelete.set_null),
            ),
        ],
    ),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
