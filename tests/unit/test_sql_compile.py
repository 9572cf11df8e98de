"""The faster SQL compilation (models/db/sql_compile.py) gives exactly Piccolo's SQL and arguments."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from piccolo.querystring import QueryString

from models.db.sql_compile import compile_string, original_compile_string
from models.db.tables import ALL_TABLES, Event, Order, OrderLine, Shipment, SupplierOrder

ENGINES = ("postgres", "sqlite")


def _queries() -> list[QueryString]:
    stamp = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    queries = []
    for table in ALL_TABLES:
        pk = table._meta.primary_key
        queries += [
            *table.select().querystrings,
            *table.select().where(pk == 7).first().querystrings,
            *table.count().where(pk.is_in([1, 2, 3])).querystrings,
            *table.delete().where(pk.not_in([4, 5])).querystrings,
        ]
    queries += [
        *SupplierOrder.select(SupplierOrder.all_columns(), SupplierOrder.supplier.name)
        .where(SupplierOrder.order == 9)
        .order_by(SupplierOrder.id)
        .querystrings,
        *Order.select(Order.id, Order.channel.name, Order.channel.kind)
        .where((Order.status == "shipped") & (Order.placed_at > stamp) & Order.customer_last_name.like("%Dvoř%"))
        .order_by(Order.placed_at, ascending=False)
        .limit(50)
        .offset(10)
        .querystrings,
        *OrderLine.update({OrderLine.status: "accepted", OrderLine.quantity: 3})
        .where((OrderLine.order == 4) | OrderLine.rejection_reason.is_null())
        .querystrings,
        *Event.select(Event.id, Event.order_line.sku).where(Event.order == 1).order_by(Event.id).querystrings,
        *Shipment.insert(Shipment(order=1, tracking_number="1Z{x}", shipped_at=stamp)).querystrings,
        QueryString("SELECT {} FROM t WHERE a = {} AND b IN ({}, {})", QueryString("x"), "it's", None, 2.5),
        QueryString("SELECT '{{literal braces}}', {}", QueryString("{}+{}", 1, QueryString("{}", stamp))),
    ]
    return queries


@pytest.mark.parametrize("engine_type", ENGINES)
def test_the_apps_queries_compile_exactly_as_piccolo_compiles_them(engine_type):
    for query in _queries():
        assert compile_string(query, engine_type) == original_compile_string(query, engine_type), query.template


def test_it_is_what_piccolo_now_runs():
    assert QueryString.compile_string is compile_string


templates = st.lists(st.sampled_from(["a", " = ", "{}", "{{", "}}", "'x'", "\n", "é"]), max_size=8).map("".join)
values = st.one_of(st.integers(), st.text(max_size=5), st.none(), st.floats(allow_nan=False))


@st.composite
def query_strings(draw, depth: int = 0) -> QueryString:
    template = draw(templates)
    holes = template.replace("{{", "").replace("}}", "").count("{}")
    args = []
    for _ in range(holes):
        nested = depth < 3 and draw(st.booleans())
        args.append(draw(query_strings(depth + 1)) if nested else draw(values))
    return QueryString(template, *args)


@given(query_strings())
def test_any_nesting_of_templates_compiles_as_piccolo_does(query):
    for engine_type in ENGINES:
        assert compile_string(query, engine_type) == original_compile_string(query, engine_type)
