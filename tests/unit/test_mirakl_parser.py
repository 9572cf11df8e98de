"""The Mirakl order parser: any input imports or is refused with a message; real orders keep every detail."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.mirakl import ALPHA3_TO_ALPHA2, MiraklOrderError, minor_units, parse_order
from connectors.sandbox.mirakl import MiraklSandbox
from models.ports import IncomingOrder

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


def sample_orders(seed: int = 3, count: int = 30) -> list[dict[str, Any]]:
    sandbox = MiraklSandbox(seed=seed, clock=lambda: dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC))
    return [sandbox.orders[order_id] for order_id in sandbox.generate_orders(count)]


SAMPLES = sample_orders()


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON value."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    document = copy.deepcopy(document)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def parses_or_refuses(data: Any) -> IncomingOrder | None:
    try:
        order = parse_order(data)
    except MiraklOrderError as exc:
        assert str(exc).strip(), "a refusal must say why"
        return None
    assert isinstance(order, IncomingOrder)
    assert order.channel_order_id
    json.loads(order.raw)  # the raw payload is JSON text
    return order


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_is_parsed_or_refused_with_a_message(data: Any) -> None:
    parses_or_refuses(data)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted({key for order in SAMPLES for key in order})), json_values, max_size=10))
def test_orders_made_of_mirakl_keys_with_any_values_are_parsed_or_refused(data: dict[str, Any]) -> None:
    parses_or_refuses(data)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_real_order_with_any_one_field_broken_is_parsed_or_refused(data: st.DataObject) -> None:
    order = data.draw(st.sampled_from(SAMPLES))
    path = data.draw(st.sampled_from(paths(order)))
    broken = replace(order, path, data.draw(json_values))
    parses_or_refuses(broken)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_real_order_with_a_field_removed_is_parsed_or_refused(data: st.DataObject) -> None:
    order = copy.deepcopy(data.draw(st.sampled_from(SAMPLES)))
    path = data.draw(st.sampled_from(paths(order)))
    target = order
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    parses_or_refuses(order)


def cents(value: float) -> int:
    return int(Decimal(repr(value)) * 100)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_generated_orders_round_trip_through_json(seed: int) -> None:
    for original in sample_orders(seed, 40):
        wire = json.loads(json.dumps(original, ensure_ascii=False))  # as it travels
        order = parse_order(wire)
        address = original["customer"]["shipping_address"]
        assert order.channel_order_id == original["order_id"]
        assert order.channel_status == "WAITING_ACCEPTANCE" and order.needs_acceptance
        assert order.placed_at == dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)
        assert (order.delivery.first_name, order.delivery.last_name) == (address["firstname"], address["lastname"])
        assert order.customer_first_name == original["customer"]["firstname"]
        assert order.delivery.street1 == address["street_1"] and order.delivery.city == address["city"]
        assert order.delivery.postcode == address["zip_code"]
        assert order.delivery.country == ALPHA3_TO_ALPHA2[address["country_iso_code"]]
        assert order.currency == original["currency_iso_code"]
        assert order.shipping_rate == original["shipping_type_label"]
        assert [(line.channel_line_id, line.sku, line.title, line.quantity) for line in order.lines] == [
            (line["order_line_id"], line["offer_sku"], line["product_title"], line["quantity"])
            for line in original["order_lines"]
        ]
        prices = [cents(line["price_unit"]) for line in original["order_lines"]]
        assert [line.unit_price for line in order.lines] == prices
        assert order.shipping_total == cents(original["shipping_price"])
        assert order.total == cents(original["total_price"])
        assert json.loads(order.raw) == original


def test_generated_orders_keep_accents() -> None:
    names = {parse_order(o).delivery.last_name for o in sample_orders(9, 80)}
    assert names & {"Dvořák", "Müller", "Łęcka", "Østergaard", "Šimková", "Hořejší", "Núñez", "Krämer"}


names = st.text(st.characters(categories=["L", "Zs", "Pd"]), min_size=1, max_size=30).map(str.strip).filter(bool)
amounts = st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2)


@settings(max_examples=300)
@given(first=names, last=names, city=names, price=amounts, shipping=amounts, quantity=st.integers(1, 999))
def test_names_and_money_survive_exactly(
    first: str, last: str, city: str, price: Decimal, shipping: Decimal, quantity: int
) -> None:
    data = {
        "order_id": "42-A",
        "order_state": "SHIPPING",
        "created_date": "2025-01-31T23:59:59Z",
        "currency_iso_code": "EUR",
        "customer": {"firstname": first, "lastname": last, "shipping_address": {"lastname": last, "city": city}},
        "order_lines": [
            {"order_line_id": "42-A-1", "offer_sku": "S", "quantity": quantity, "price_unit": float(price)}
        ],
        "shipping_price": float(shipping),
    }
    order = parse_order(json.loads(json.dumps(data)))
    assert order.delivery.last_name == last.strip() and order.delivery.city == city.strip()
    assert order.customer_first_name == first.strip()
    assert order.lines[0].unit_price == int(price * 100)
    assert order.shipping_total == int(shipping * 100)
    assert not order.needs_acceptance and order.channel_status == "SHIPPING"


def test_the_update_time_is_mirakls_own_or_the_creation_time() -> None:
    """The reconciliation compares it with the import cursor, which comes from the same field."""
    changed = parse_order(minimal(last_updated_date="2025-02-03T08:30:00Z"))
    assert changed.updated_at == dt.datetime(2025, 2, 3, 8, 30, tzinfo=dt.UTC)
    assert parse_order(minimal()).updated_at == dt.datetime(2025, 2, 1, 10, 0, tzinfo=dt.UTC)


def minimal(**changes: Any) -> dict[str, Any]:
    data = {
        "order_id": "7-A",
        "order_state": "WAITING_ACCEPTANCE",
        "created_date": "2025-02-01T10:00:00Z",
        "currency_iso_code": "EUR",
        "order_lines": [{"order_line_id": "7-A-1", "offer_sku": "SKU", "quantity": 2, "price_unit": 19.9}],
    }
    data.update(changes)
    return data


def test_bad_addresses_are_not_refused() -> None:
    order = parse_order(minimal(customer={"shipping_address": {"lastname": "", "zip_code": "ABC12"}}))
    assert order.delivery.last_name == "" and order.delivery.postcode == "ABC12"
    hidden = parse_order(minimal(customer={"firstname": "Zoë", "lastname": "Dvořák", "shipping_address": None}))
    assert hidden.extra["address_hidden"] and hidden.customer_last_name == "Dvořák"


def test_line_price_falls_back_to_line_total() -> None:
    line = {"order_line_id": "7-A-1", "offer_sku": "SKU", "quantity": 3, "price": 59.7}
    assert parse_order(minimal(order_lines=[line])).lines[0].unit_price == 1990
    with pytest.raises(MiraklOrderError, match="cannot be split"):
        parse_order(minimal(order_lines=[{**line, "price": 59.71}]))


def test_refused_lines_are_not_lines_to_ship() -> None:
    lines = [
        {"order_line_id": "7-A-1", "offer_sku": "A", "quantity": 1, "price_unit": 5, "order_line_state": "SHIPPING"},
        {"order_line_id": "7-A-2", "offer_sku": "B", "quantity": 1, "price_unit": 5, "order_line_state": "REFUSED"},
    ]
    order = parse_order(minimal(order_state="SHIPPING", order_lines=lines))
    assert [line.sku for line in order.lines] == ["A"] and order.extra["inactive_lines"] == ["7-A-2"]
    refused = parse_order(minimal(order_state="REFUSED", order_lines=[{**lines[1]}]))
    assert [line.sku for line in refused.lines] == ["B"]


def test_currency_digits_and_precision() -> None:
    assert minor_units(1500, "JPY", "price") == 1500
    assert minor_units(1.234, "KWD", "price") == 1234
    assert minor_units("19.90", "EUR", "price") == 1990
    with pytest.raises(MiraklOrderError, match="more than 2 decimals"):
        minor_units(0.1 + 0.2, "EUR", "price")  # float noise is refused, never rounded away
    with pytest.raises(MiraklOrderError, match="more than 2 decimals"):
        minor_units(19.999, "EUR", "price_unit")
    with pytest.raises(MiraklOrderError, match="not a number"):
        minor_units(True, "EUR", "price_unit")


def test_repeated_amounts_convert_the_same_and_refusals_keep_their_message() -> None:
    for _ in range(2):  # the second time from the cache of known amounts
        assert minor_units(19.9, "EUR", "price") == 1990
        assert minor_units(19, "JPY", "price") == 19
        assert minor_units(1, "EUR", "price") == minor_units(1.0, "EUR", "price") == 100
        with pytest.raises(MiraklOrderError, match=r"line 7-A-1: price_unit 19\.999 has more than 2 decimals"):
            minor_units(19.999, "EUR", "line 7-A-1: price_unit")
        with pytest.raises(MiraklOrderError, match="price is not a number"):
            minor_units("x" * 100, "EUR", "price")


def test_country_codes() -> None:
    for code, expected in [("FRA", "FR"), ("DEU", "DE"), ("CZE", "CZ"), ("POL", "PL"), ("fr", "FR")]:
        assert parse_order(minimal(customer={"shipping_address": {"country_iso_code": code}})).delivery.country == (
            expected
        )
    labelled = parse_order(minimal(customer={"shipping_address": {"country": "France"}}))
    assert labelled.delivery.country == "France"  # not understood: validation asks a human


def test_payment_on_due_date_is_on_account() -> None:
    assert parse_order(minimal(payment_workflow="PAY_ON_DUE_DATE")).payment_method == "on_account"
    assert parse_order(minimal(payment_workflow="PAY_ON_ACCEPTANCE")).payment_method == "card"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"order_id": None}, "order_id is missing"),
        ({"order_state": ""}, "no order_state"),
        ({"created_date": "yesterday"}, "created_date is not an ISO 8601 date"),
        ({"currency_iso_code": "€"}, "currency_iso_code"),
        ({"order_lines": {}}, "no order_lines list"),
        ({"order_lines": [{"offer_sku": "X", "quantity": 1, "price_unit": 1}]}, "order_line_id is missing"),
        ({"order_lines": [{"order_line_id": "1", "quantity": 1.5, "price_unit": 1}]}, "not a whole number"),
        ({"order_lines": [{"order_line_id": "1", "quantity": 1}]}, "has no price"),
        ({"customer": "Zoë"}, "customer should be an object"),
        ({"order_lines": [{"order_line_id": "1", "quantity": 10**5000, "price_unit": 1}]}, "plausible quantity"),
        ({"order_lines": [{"order_line_id": "1", "quantity": 1, "price_unit": 10**5000}]}, "price_unit is not"),
        ({"order_lines": [{"order_line_id": "1", "quantity": 1, "price_unit": "1e-40"}]}, "more than 2 decimals"),
        ({"order_lines": [{"order_line_id": "1", "quantity": 1, "price_unit": "1." + "0" * 40}]}, "too many digits"),
    ],
)
def test_unreadable_orders_are_refused_with_a_clear_message(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(MiraklOrderError, match=words):
        parse_order(minimal(**changes))
