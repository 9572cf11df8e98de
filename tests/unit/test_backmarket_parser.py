"""Property tests of the Back Market order parser: any input imports or is refused with a message."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connectors.backmarket import BackMarketOrderError, parse_order
from connectors.sandbox.backmarket import money, to_backmarket_json
from connectors.sandbox.fake_orders import fake_order
from models.orders.validation import order_problems
from models.ports import IncomingOrder

PLACED = dt.datetime(2025, 3, 14, 9, 26, 53, tzinfo=dt.UTC)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


def realistic(seed: int, *, defect_rate: float = 0.12) -> tuple[IncomingOrder, dict[str, Any]]:
    rng = random.Random(seed)
    source = fake_order(rng, "41000001", PLACED, defect_rate=defect_rate)
    return source, to_backmarket_json(source, 41000001, 91000001)


def parse_or_refuse(data: Any) -> IncomingOrder | None:
    """The property: an `IncomingOrder`, or `BackMarketOrderError` with a message; nothing else."""
    try:
        order = parse_order(data)
    except BackMarketOrderError as exc:
        assert str(exc).strip(), "a refusal must say why"
        return None
    assert isinstance(order, IncomingOrder)
    json.loads(order.raw)
    order.raw.encode("utf-8")
    assert all(isinstance(line.unit_price, int) and isinstance(line.quantity, int) for line in order.lines)
    assert abs(order.total) < 2**63
    assert len(order.channel_order_id) <= 100 and all(len(line.sku) <= 100 for line in order.lines)
    order_problems(order)  # validation accepts whatever the parser lets through
    return order


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_any_json_value_parses_or_is_refused_with_a_message(data: Any) -> None:
    parse_or_refuse(data)


@st.composite
def mutated_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A realistic order with a few fields replaced by arbitrary JSON, or removed."""
    _, order = realistic(draw(st.integers(0, 10_000)))
    for _ in range(draw(st.integers(1, 4))):
        containers: list[dict[str, Any]] = [order]
        for key in ("shipping_address", "billing_address"):
            if isinstance(order.get(key), dict):
                containers.append(order[key])
        if isinstance(order.get("orderlines"), list):
            containers += [line for line in order["orderlines"] if isinstance(line, dict)]
        target = draw(st.sampled_from(containers))
        if not target:
            continue
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            target.pop(key)
        else:
            target[key] = draw(json_values)
    return order


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_orders())
def test_damaged_realistic_orders_parse_or_are_refused_with_a_message(data: dict[str, Any]) -> None:
    parse_or_refuse(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32))
def test_realistic_orders_round_trip_with_accents_and_exact_money(seed: int) -> None:
    source, data = realistic(seed)
    order = parse_order(json.loads(json.dumps(data, ensure_ascii=False)))
    assert order.channel_order_id == "41000001"
    assert order.channel_status == "1" and order.needs_acceptance
    assert order.placed_at == PLACED
    assert order.delivery.first_name == source.delivery.first_name
    assert order.delivery.last_name == source.delivery.last_name
    assert order.delivery.street1 == source.delivery.street1
    assert order.delivery.postcode == source.delivery.postcode
    assert order.delivery.city == source.delivery.city
    assert order.delivery.country == source.delivery.country
    assert [(line.sku, line.title, line.quantity, line.unit_price) for line in order.lines] == [
        (line.sku, line.title, line.quantity, line.unit_price) for line in source.lines
    ]
    assert [line.channel_line_id for line in order.lines] == [str(91000001 + i) for i in range(len(source.lines))]
    assert order.shipping_total == source.shipping_total
    assert order.total == source.total
    assert order.extra["backmarket"]["price"] == source.total
    assert order.customer_email == source.customer_email
    assert json.loads(order.raw) == data


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(10**12), 10**12),
    st.sampled_from(["EUR", "GBP", "USD", "SEK", "JPY"]),
    st.sampled_from(["string", "float", "padded"]),
)
def test_money_becomes_exact_minor_units(minor: int, currency: str, form: str) -> None:
    _, data = realistic(1)
    text = money(minor, currency)
    value: Any = text
    if form == "float":
        assume(abs(minor) < 10**9)
        value = float(text)
    elif form == "padded":
        value = f" {text}0 " if "." in text else f" {text} "
    data.update(currency=currency, shipping_price=money(0, currency), price=None)
    data["orderlines"] = [dict(data["orderlines"][0], price=value)]
    order = parse_order(data)
    assert order.lines[0].unit_price == minor
    assert order.currency == currency


@pytest.mark.parametrize(
    ("price", "currency", "words"),
    [
        ("19.999", "EUR", "more decimals than EUR allows"),
        ("19.9", "JPY", "more decimals than JPY allows"),
        ("1e3", "EUR", "not an amount"),
        ("19,90", "EUR", "not an amount"),
        ("NaN", "EUR", "not an amount"),
        (float("inf"), "EUR", "not a finite amount"),
        (True, "EUR", "boolean"),
        ("99999999999999.00", "EUR", "out of range"),
        (None, "EUR", "has no price"),
    ],
)
def test_unreadable_money_is_refused_clearly(price: Any, currency: str, words: str) -> None:
    _, data = realistic(2)
    data.update(currency=currency, shipping_price="0", price=None)
    data["orderlines"][0]["price"] = price
    with pytest.raises(BackMarketOrderError) as caught:
        parse_order(data)
    assert words in str(caught.value)
    assert "line 1" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.clear(), "no order_id"),
        (lambda d: d.pop("orderlines"), "has no orderlines"),
        (lambda d: d.update(orderlines={"a": 1}), "orderlines is an object"),
        (lambda d: d.update(state="shipped"), "not a Back Market state"),
        (lambda d: d.update(date_creation="yesterday"), "not a date"),
        (lambda d: d.update(shipping_address=["Paris"]), "shipping_address is a list"),
        (lambda d: d["orderlines"][0].update(quantity="two"), "not a whole number"),
        (lambda d: d.update(currency="euro"), "three-letter"),
        (lambda d: d.update(order_id="x" * 101), "longer than 100"),
    ],
)
def test_orders_that_cannot_be_understood_are_refused_clearly(change: Any, words: str) -> None:
    _, data = realistic(3)
    change(data)
    with pytest.raises(BackMarketOrderError) as caught:
        parse_order(data)
    assert words in str(caught.value)


def test_a_non_object_is_refused() -> None:
    with pytest.raises(BackMarketOrderError, match="not a JSON object but a list"):
        parse_order([1, 2])


def test_bad_customer_data_is_kept_for_review_not_refused() -> None:
    _, data = realistic(4, defect_rate=0)
    broken = copy.deepcopy(data)
    broken["shipping_address"].update(last_name="", street="", postal_code="7500", country="FR")
    broken["orderlines"][0].update(listing="", quantity=0)
    order = parse_order(broken)
    codes = {problem.code for problem in order_problems(order)}
    assert {"missing_surname", "missing_street", "invalid_postcode", "missing_sku", "invalid_quantity"} <= codes


def test_numbers_and_nulls_in_text_fields_are_read() -> None:
    _, data = realistic(5)
    data["shipping_address"].update(postal_code=75002, street2=None, phone=None)
    data["order_id"] = 41000001
    order = parse_order(data)
    assert order.delivery.postcode == "75002" and order.delivery.street2 == "" and order.delivery.phone == ""


def test_states_and_acceptance() -> None:
    _, data = realistic(6)
    data["state"] = "3"
    order = parse_order(data)
    assert order.channel_status == "3" and order.needs_acceptance is False


def test_text_that_no_database_stores_is_cleaned() -> None:
    _, data = realistic(7)
    data["shipping_address"]["city"] = "Pa\x00ris\ud800"
    order = parse_order(data)
    assert order.delivery.city == "Paris?"
    order.raw.encode("utf-8")
