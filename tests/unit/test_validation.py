"""Order checks at import: each problem has a stable code and a message that says what to do."""

from __future__ import annotations

import datetime as dt

import pytest

from models.orders.validation import POSTCODE_FORMATS, address_problems, order_problems, postcode_problem
from models.ports import IncomingAddress, IncomingLine, IncomingOrder


def incoming(
    *,
    last_name: str = "Dvořák",
    street1: str = "12 rue de la Paix",
    city: str = "Paris",
    postcode: str = "75002",
    country: str = "FR",
    lines: list[tuple[str, int]] | None = None,
) -> IncomingOrder:
    specs = [("SKU-1", 1)] if lines is None else lines
    return IncomingOrder(
        channel_order_id="V-1",
        placed_at=dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC),
        lines=[IncomingLine(i, sku, f"Product {i}", qty, 1000) for i, (sku, qty) in enumerate(specs, 1)],
        delivery=IncomingAddress("Zoë", last_name, "", street1, "", postcode, city, "", country),
    )


def codes(order: IncomingOrder) -> list[str]:
    return [p.code for p in order_problems(order)]


def test_a_complete_order_has_no_problems():
    assert order_problems(incoming()) == []


@pytest.mark.parametrize("last_name", ["", "   ", "\t"])
def test_missing_surname(last_name):
    problems = order_problems(incoming(last_name=last_name))
    assert [p.code for p in problems] == ["missing_surname"]
    assert problems[0].message == "Missing surname: the delivery address has no last name."
    assert problems[0].field == "ship_last_name"


def test_missing_street():
    problems = order_problems(incoming(street1=" "))
    assert [p.code for p in problems] == ["missing_street"]
    assert problems[0].message.startswith("Missing street")
    assert problems[0].field == "ship_street1"


def test_missing_city():
    assert codes(incoming(city="")) == ["missing_city"]


@pytest.mark.parametrize(
    ("country", "postcode", "example"),
    [
        ("FR", "7500", "75001"),
        ("FR", "ABCDE", "75001"),
        ("DE", "1011", "10115"),
        ("NL", "1012", "1012 AB"),
        ("PT", "1100148", "1100-148"),
        ("PL", "00950", "00-950"),
        ("GB", "12345", "SW1A 1AA"),
        ("US", "1000", "10001"),
        ("CZ", "1100", "110 00"),
    ],
)
def test_invalid_postcode_names_the_country_and_an_example(country, postcode, example):
    problems = order_problems(incoming(country=country, postcode=postcode))
    assert [p.code for p in problems] == ["invalid_postcode"]
    message = problems[0].message
    assert f"“{postcode}”" in message
    assert country in message
    assert f"expected a format like {example}" in message
    assert problems[0].field == "ship_postcode"


@pytest.mark.parametrize(
    ("country", "postcode"),
    [
        ("FR", "75002"),
        ("fr", " 75002 "),
        ("NL", "1012AB"),
        ("NL", "1012 ab"),  # compared upper-case
        ("GB", "SW1A 1AA"),
        ("GB", "M1 1AE"),
        ("US", "10001-1234"),
        ("PT", "1100-148"),
        ("CZ", "11000"),
        ("LU", "L-1234"),  # known country without a format: any postcode
    ],
)
def test_valid_postcodes(country, postcode):
    assert order_problems(incoming(country=country, postcode=postcode)) == []


def test_every_example_postcode_is_itself_valid():
    for country, (_, example) in POSTCODE_FORMATS.items():
        assert postcode_problem(country, example) is None, country


def test_missing_postcode():
    problems = order_problems(incoming(postcode=""))
    assert [p.code for p in problems] == ["invalid_postcode"]
    assert problems[0].message.startswith("Missing postcode")


@pytest.mark.parametrize("country", ["XX", "FRA", "ZZ"])
def test_unknown_country(country):
    problems = order_problems(incoming(country=country, postcode="whatever"))
    assert [p.code for p in problems] == ["invalid_country"]
    assert f"“{country}”" in problems[0].message
    assert "two-letter ISO code" in problems[0].message


def test_missing_country():
    assert codes(incoming(country="", postcode="75002")) == ["missing_country"]


@pytest.mark.parametrize("quantity", [0, -1, -50])
def test_quantity_must_be_at_least_one(quantity):
    problems = order_problems(incoming(lines=[("SKU-1", 2), ("SKU-2", quantity)]))
    assert [p.code for p in problems] == ["invalid_quantity"]
    assert problems[0].line_position == 2
    assert f"has quantity {quantity}" in problems[0].message
    assert "SKU-2" in problems[0].message
    assert "at least 1" in problems[0].message


def test_order_without_lines():
    problems = order_problems(incoming(lines=[]))
    assert [p.code for p in problems] == ["no_lines"]
    assert "has no lines" in problems[0].message


def test_line_without_sku():
    problems = order_problems(incoming(lines=[("  ", 1)]))
    assert [p.code for p in problems] == ["missing_sku"]
    assert problems[0].line_position == 1


def test_several_problems_are_all_reported():
    problems = order_problems(incoming(last_name="", street1="", postcode="1", lines=[("A", 0)]))
    assert [p.code for p in problems] == ["missing_surname", "missing_street", "invalid_postcode", "invalid_quantity"]


def test_address_problems_is_usable_for_edited_addresses():
    assert address_problems("Müller", "Hauptstr. 1", "Berlin", "10115", "DE") == []
    assert [p.code for p in address_problems("", "Hauptstr. 1", "Berlin", "1011", "DE")] == [
        "missing_surname",
        "invalid_postcode",
    ]
