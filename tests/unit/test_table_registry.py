"""Every table is registered: `db.bind` and the test database cleanup only know `ALL_TABLES`."""

import inspect

from piccolo.table import Table

from models.db import tables


def test_every_table_class_is_in_all_tables():
    defined = {
        obj
        for obj in vars(tables).values()
        if inspect.isclass(obj) and issubclass(obj, Table) and obj is not Table and obj.__module__ == tables.__name__
    }
    missing = sorted(cls.__name__ for cls in defined - set(tables.ALL_TABLES))
    assert not missing, f"add to models.db.tables.ALL_TABLES: {missing}"
