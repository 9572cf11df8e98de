"""Property tests of the MALL order parser: any input imports or is refused with a message."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.mall import (
    MALL_TZ,
    MallOrderError,
    amount_text,
    changed_at,
    format_datetime,
    minor_units,
    parse_order,
    split_name,
)
from connectors.sandbox.fake_orders import FIRST_NAMES, LAST_NAMES
from models.ports import IncomingOrder

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
ADDRESS_KEYS = ["customer_id", "name", "company", "phone", "email", "street", "city", "zip", "country"]
#: Values a MALL field plausibly holds, mixed with anything JSON can hold.
PLAUSIBLE = (
    JSON_VALUES
    | st.sampled_from(["open", "blocked", "shipped", "CZK", "czk", "2024-05-17 14:03:00", "2024-05-17", "12.5"])
    | st.integers(min_value=0, max_value=10**6)
    | st.decimals(min_value=0, max_value=10**5, places=3).map(float)
)


def mostly(good: st.SearchStrategy[Any], odds: int = 4) -> st.SearchStrategy[Any]:
    """A good value, but one time in `odds` anything: so the parser is tested past its first check."""
    return st.integers(min_value=1, max_value=odds).flatmap(lambda n: PLAUSIBLE if n == 1 else good)


AMOUNTS = st.decimals(min_value=0, max_value=10**5, places=2).map(float)
DATES = st.sampled_from(["2024-05-17 14:03:00", "2024-05-17", "2024-05-17T14:03:00+02:00"])
GOOD_ORDER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "purchase_id": st.integers(min_value=1),
    "confirmed": st.booleans(),
    "currency": st.sampled_from(["CZK", "EUR", "huf"]),
    "currency_id": st.sampled_from(["CZK", "EUR"]),
    "delivery_price": AMOUNTS,
    "cod_price": AMOUNTS,
    "discount": AMOUNTS,
    "cod": AMOUNTS,
    "delivery_method": st.text(max_size=12),
    "delivery_method_id": st.text(max_size=4),
    "branch_id": st.none() | st.integers(),
    "payment_type": st.sampled_from(["A", "B"]),
    "created": DATES,
    "blocked": DATES,
    "shipping": st.none() | DATES,
    "shipped": st.none() | DATES,
    "mdp": st.booleans(),
    "test": st.booleans(),
    "external_id": st.none() | st.text(max_size=12),
}
ADDRESS = st.fixed_dictionaries(
    {}, optional={key: mostly(st.none() | st.text(max_size=20), odds=10) for key in ADDRESS_KEYS}
)


ITEM = st.fixed_dictionaries(
    {
        "quantity": mostly(st.integers(min_value=-5, max_value=100), odds=8),
        "price": mostly(AMOUNTS, odds=8),
    },
    optional={
        "id": mostly(st.text(max_size=12), odds=8),
        "title": mostly(st.text(max_size=20), odds=8),
        "vat": PLAUSIBLE,
        "article_id": PLAUSIBLE,
    },
)
MALL_SHAPED = st.fixed_dictionaries(
    {
        "id": mostly(st.integers(min_value=1, max_value=10**12)),
        "status": mostly(st.sampled_from(["open", "shipping", "blocked"])),
        "open": mostly(st.just("2024-05-17 14:03:00")),
    },
    optional={
        **{key: mostly(good, odds=10) for key, good in GOOD_ORDER_VALUES.items()},
        "address": mostly(ADDRESS),
        "items": mostly(st.lists(mostly(ITEM, odds=8), max_size=3)),
    },
)


def parse_or_refuse(data: Any) -> IncomingOrder | None:
    try:
        order = parse_order(data)
    except MallOrderError as exc:
        assert str(exc).strip(), "a refusal must say why"
        return None
    assert isinstance(order, IncomingOrder)
    json.loads(order.raw)
    return order


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_any_json_value_imports_or_is_refused_with_a_message(data: Any) -> None:
    parse_or_refuse(data)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(MALL_SHAPED)
def test_mall_shaped_garbage_imports_or_is_refused_with_a_message(data: dict[str, Any]) -> None:
    order = parse_or_refuse(data)
    if order is not None:
        assert order.channel_order_id
        assert order.placed_at.tzinfo is not None
        assert all(isinstance(line.unit_price, int) and line.unit_price >= 0 for line in order.lines)
        assert order.needs_acceptance == (order.channel_status == "open" and data.get("confirmed") in (False, 0, None))


NAMES = st.sampled_from(FIRST_NAMES) | st.text(
    st.characters(categories=["L"]), min_size=1, max_size=12
)  # letters of any script
PRICES = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)
STAMPS = st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


@st.composite
def realistic_orders(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A MALL order as the API sends it (after a JSON round trip) and what Waybill must read from it."""
    first, last = draw(NAMES), draw(st.sampled_from(LAST_NAMES))
    items = []
    for n in range(draw(st.integers(min_value=1, max_value=4))):
        price = draw(PRICES)
        items.append(
            {
                "id": draw(st.sampled_from(["BB-1001", "SB-0420", "F192621", 100000249018])),
                "article_id": 100_000_000 + n,
                "title": draw(st.sampled_from(["Hrnek „Dobré ráno“", "Žlutý kůň", "Ručník 70×140"])),
                "quantity": draw(st.integers(min_value=1, max_value=50)),
                "price": draw(st.sampled_from([float(price), str(price)])),
                "vat": 21,
            }
        )
    opened = draw(STAMPS)
    confirmed = draw(st.booleans())
    delivery = draw(PRICES)
    data = {
        "id": draw(st.integers(min_value=1, max_value=10**12)),
        "purchase_id": 895913,
        "status": "open",
        "confirmed": confirmed,
        "currency": draw(st.sampled_from(["CZK", "EUR", "HUF"])),
        "delivery_price": float(delivery),
        "cod_price": 0,
        "address": {
            "name": f"{first} {last}",
            "street": draw(st.sampled_from(["Václavské náměstí 19", "Náměstí Svobody 8", "U Garáží 1611/1"])),
            "city": draw(st.sampled_from(["Praha", "Brno", "České Budějovice"])),
            "zip": "11000",
            "country": "CZ",
            "email": "zakaznik@example.cz",
            "phone": "+420296245025",
        },
        "items": items,
        "blocked": opened.strftime("%Y-%m-%d %H:%M:%S"),
        "open": opened.strftime("%Y-%m-%d %H:%M:%S"),
    }
    expected = {
        "first": first,
        "last": last,
        "prices": [int(Decimal(str(i["price"])) * 100) for i in items],
        "delivery": int(delivery * 100),
        "placed_at": opened.replace(tzinfo=MALL_TZ),
        "needs_acceptance": not confirmed,
    }
    return json.loads(json.dumps(data, ensure_ascii=False)), expected


@settings(max_examples=300)
@given(realistic_orders())
def test_realistic_orders_round_trip_with_exact_money_and_accents(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    data, expected = case

    order = parse_order(data)

    assert order.channel_order_id == str(data["id"])
    assert (order.delivery.first_name, order.delivery.last_name) == (expected["first"], expected["last"])
    assert (order.customer_first_name, order.customer_last_name) == (expected["first"], expected["last"])
    assert order.delivery.street1 == data["address"]["street"] and order.delivery.city == data["address"]["city"]
    assert [line.unit_price for line in order.lines] == expected["prices"]
    assert [line.title for line in order.lines] == [item["title"] for item in data["items"]]
    assert [line.sku for line in order.lines] == [str(item["id"]) for item in data["items"]]
    assert len({line.channel_line_id for line in order.lines}) == len(order.lines)
    assert order.shipping_total == expected["delivery"]
    assert order.updated_at == expected["placed_at"]  # its last status change: opened
    assert (
        order.total
        == sum(p * i["quantity"] for p, i in zip(expected["prices"], data["items"], strict=True))
        + (expected["delivery"])
    )
    # The same instant (an aware datetime in a DST gap never equals one in another zone).
    assert order.placed_at.timestamp() == expected["placed_at"].timestamp()
    assert order.needs_acceptance == expected["needs_acceptance"]
    assert order.currency == data["currency"] and order.channel_status == "open"
    assert json.loads(order.raw) == data


@given(PRICES)
def test_amounts_survive_the_way_back(price: Decimal) -> None:
    minor = minor_units(float(price), "CZK", "price")
    assert minor == int(price * 100)
    assert Decimal(amount_text(minor, "CZK")) == price


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (12.345, "more than 2 decimals"),
        ("1." + "0" * 40 + "1", "more than 2 decimals"),  # no digit is rounded away
        pytest.param(10**5000, "not a plausible amount", id="huge-int"),
        ("1e400", "not a plausible amount"),
        (-1, "negative"),
        (float("nan"), "finite"),
        ("zdarma", "not a number"),
        (True, "must be an amount"),
    ],
)
def test_amounts_mall_cannot_mean_are_refused(value: Any, message: str) -> None:
    with pytest.raises(MallOrderError, match=message):
        minor_units(value, "CZK", "Item 1: price")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Tomáš Dvořák", ("Tomáš", "Dvořák")),
        ("Jana Marie Nováková", ("Jana Marie", "Nováková")),
        ("Jan van der Berg", ("Jan", "van der Berg")),
        ("Jiří", ("Jiří", "")),
        ("  ", ("", "")),
    ],
)
def test_split_name(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


def test_dates_are_prague_time_both_ways() -> None:
    summer = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
    winter = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert format_datetime(summer) == "2025-07-01 14:00:00"
    assert format_datetime(winter) == "2025-01-01 13:00:00"
    assert changed_at({"blocked": "2025-07-01 13:00:00", "open": "2025-07-01 14:00:00", "shipping": None}) == summer
    assert changed_at({"open": "soon"}) is None


def test_absurd_numbers_are_refused_with_a_message() -> None:
    base = {"id": 1, "status": "open", "open": "2025-01-01 10:00:00"}
    for data in (
        {**base, "id": 10**5000},
        {**base, "address": {"zip": 10**5000}},
        {**base, "items": [{"id": "A", "quantity": 10**5000, "price": 1}]},
        {**base, "purchase_id": 10**5000},
    ):
        with pytest.raises(MallOrderError):
            parse_order(data)
    assert minor_units("12." + "0" * 500, "CZK", "price") == 1200


def test_refusals_name_the_order_and_the_field() -> None:
    with pytest.raises(MallOrderError, match=r"^Order 7, item 2: quantity must be a whole number, not “1.5”"):
        parse_order(
            {
                "id": 7,
                "status": "open",
                "open": "2025-01-01 10:00:00",
                "items": [{"id": "A", "quantity": 1, "price": 1}, {"id": "B", "quantity": 1.5, "price": 1}],
            }
        )
    with pytest.raises(MallOrderError, match="unknown status “paid”"):
        parse_order({"id": 7, "status": "paid", "open": "2025-01-01 10:00:00"})
