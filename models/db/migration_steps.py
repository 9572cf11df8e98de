"""The steps hand-written migrations repeat: raw statements, new tables with their columns, new columns.

Migrations keep their ids and what they do; they only say it through these helpers, which produce
exactly the Piccolo calls each migration used to spell out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

#: A column as migrations list it: (name, column class, params).
Column = tuple[str, type, dict[str, Any]]


def column_params(**overrides: Any) -> dict[str, Any]:
    """Piccolo's params of a plain, non-null column, with `overrides`."""
    params: dict[str, Any] = {
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


def foreign_key_params(references: type[Table], **overrides: Any) -> dict[str, Any]:
    """A nullable foreign key that follows its row on update and delete (unless `overrides` say else)."""
    return column_params(
        **{
            "references": references,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            **overrides,
        }
    )


def stand_in(name: str, tablename: str) -> type[Table]:
    """A table referenced by a foreign key, as far as the migration needs it: its name and id."""
    key = Serial(null=False, primary_key=True, index_method=IndexMethod.btree, db_column_name="id")
    return type(name, (Table,), {"id": key}, tablename=tablename)


def run_statements(manager: MigrationManager, statements: Sequence[str] | Callable[[str], Sequence[str]]) -> None:
    """Run raw SQL statements in order; a callable gets the engine type ("sqlite", "postgres") first."""
    engine = engine_finder()

    class _Raw(Table, db=engine):
        pass

    async def run() -> None:
        chosen = statements(engine.engine_type) if callable(statements) else statements
        for statement in chosen:
            await _Raw.raw(statement).run()

    manager.add_raw(run)


def add_columns(manager: MigrationManager, class_name: str, tablename: str, columns: Iterable[Column]) -> None:
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


def add_tables(manager: MigrationManager, tables: Mapping[str, tuple[str, Sequence[Column]]]) -> None:
    """New tables (class name → (table name, columns)): every table first, then their columns."""
    for class_name, (tablename, _) in tables.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    for class_name, (tablename, columns) in tables.items():
        add_columns(manager, class_name, tablename, columns)
