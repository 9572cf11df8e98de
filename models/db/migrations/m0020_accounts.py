"""Log-in attempts reserved before the password check, the gates that serialise them, and server-side
sessions that logout, a password change or an admin can end."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey, Timestamptz, Varchar

from models.db.migration_steps import add_tables, column_params, foreign_key_params, stand_in

User = stand_in("User", "app_user")

ID = "2026-12-07T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "log-in attempts, log-in gates, user sessions"

COLUMNS = {
    "LoginAttempt": (
        "login_attempt",
        [
            ("username", Varchar, column_params(length=80, default="", index=True)),
            ("ip", Varchar, column_params(length=64, default="", index=True)),
            ("at", Timestamptz, column_params(default=None, index=True)),
            ("outcome", Varchar, column_params(length=16, default="pending")),
        ],
    ),
    "LoginGate": (
        "login_gate",
        [
            ("gate", Varchar, column_params(length=160, default="", unique=True)),
            ("touched_at", Timestamptz, column_params(default=None)),
        ],
    ),
    "UserSession": (
        "user_session",
        [
            ("user", ForeignKey, foreign_key_params(User, index=True)),
            ("token_hash", Varchar, column_params(length=64, default="", unique=True)),
            ("created_at", Timestamptz, column_params(default=None)),
            ("last_seen_at", Timestamptz, column_params(default=None)),
            ("ended_at", Timestamptz, column_params(default=None, null=True)),
            ("ended_reason", Varchar, column_params(length=32, default="")),
            ("ip", Varchar, column_params(length=64, default="")),
            ("user_agent", Varchar, column_params(length=200, default="")),
        ],
    ),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
