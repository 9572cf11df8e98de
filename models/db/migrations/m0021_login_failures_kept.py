"""The failed log-ins recorded so far become failed attempts, so a pause in force at the upgrade holds."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from models.db.migration_steps import run_statements

ID = "2026-12-07T14:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "login failures moved into login attempts"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="waybill", description=DESCRIPTION)
    run_statements(
        manager,
        [
            "INSERT INTO login_attempt (username, ip, at, outcome) "
            "SELECT lower(username), ip, at, 'failed' FROM login_failure",
            "DROP TABLE login_failure",
        ],
    )
    return manager
