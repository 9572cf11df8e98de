"""Two-step verification: each user's TOTP secret, their one-time recovery codes, and the log-ins that wait
for a code after a right password."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, ForeignKey, Text, Timestamptz, Varchar

from models.db.migration_steps import add_tables, column_params, foreign_key_params, stand_in

User = stand_in("User", "app_user")

ID = "2026-12-08T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "TOTP second factor, recovery codes, log-in challenges"

COLUMNS = {
    "UserTotp": (
        "user_totp",
        [
            ("user", ForeignKey, foreign_key_params(User, unique=True)),
            ("secret", Text, column_params(default="")),
            ("created_at", Timestamptz, column_params(default=None)),
            ("confirmed_at", Timestamptz, column_params(default=None, null=True)),
            ("last_step", BigInt, column_params(default=0)),
        ],
    ),
    "RecoveryCode": (
        "recovery_code",
        [
            ("user", ForeignKey, foreign_key_params(User, index=True)),
            ("code_hash", Varchar, column_params(length=64, default="")),
            ("used_at", Timestamptz, column_params(default=None, null=True)),
        ],
    ),
    "LoginChallenge": (
        "login_challenge",
        [
            ("user", ForeignKey, foreign_key_params(User, index=True)),
            ("token_hash", Varchar, column_params(length=64, default="", unique=True)),
            ("created_at", Timestamptz, column_params(default=None)),
            ("ended_at", Timestamptz, column_params(default=None, null=True)),
            ("next_path", Varchar, column_params(length=1000, default="/orders")),
            ("ip", Varchar, column_params(length=64, default="")),
        ],
    ),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
