"""Piccolo app registration for Waybill's tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from models.db.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="waybill",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
