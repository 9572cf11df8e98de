"""The shared parsers of bounded input: whole numbers and days a row can hold, with the sentence saying why not."""

from __future__ import annotations

import datetime as dt

import pytest

from models.core.bounds import MAX_INT, OutOfBounds, day, row_id, row_id_or_none, whole_number


@pytest.mark.parametrize(("raw", "value"), [("0", 0), (" 7 ", 7), ("+5", 5), (str(MAX_INT), MAX_INT), (12, 12)])
def test_whole_numbers_within_bounds_are_read(raw, value):
    assert whole_number(raw) == value


@pytest.mark.parametrize(
    ("raw", "message", "malformed"),
    [
        ("²", "“²” is not a whole number", True),  # `str.isdigit` is true of it, `int` refuses it
        ("١٢", "“١٢” is not a whole number", True),  # other scripts' digits are not ids either
        ("1.5", "“1.5” is not a whole number", True),
        ("", "“” is not a whole number", True),
        (True, "“True” is not a whole number", True),
        ("-1", "“-1” is out of range: use a whole number from 0 to 2147483647", False),
        (str(MAX_INT + 1), "“2147483648” is out of range: use a whole number from 0 to 2147483647", False),
        ("9" * 5000, "“" + "9" * 40 + "…” is out of range: use a whole number from 0 to 2147483647", False),
    ],
    ids=["superscript", "arabic-indic", "decimal", "empty", "bool", "negative", "past-32-bits", "5000-digits"],
)
def test_anything_else_is_refused_saying_why(raw, message, malformed):
    with pytest.raises(OutOfBounds) as refused:
        whole_number(raw)
    assert refused.value.message == message
    assert refused.value.malformed is malformed


def test_ids_start_at_one_and_optional_ones_fall_back_to_none():
    with pytest.raises(OutOfBounds, match="from 1 to 2147483647"):
        row_id("0")
    assert row_id("42") == 42
    assert [row_id_or_none(raw) for raw in ("42", "0", "²", "9" * 23, "")] == [42, None, None, None, None]


def test_days_run_from_2000_to_2099():
    assert day("2000-01-01") == dt.date(2000, 1, 1)
    assert day(" 2099-12-31 ") == dt.date(2099, 12, 31)
    for raw in ("1999-12-31", "2100-01-01", "0001-01-01", "9999-12-31"):
        with pytest.raises(OutOfBounds, match="is out of range: use a day from 2000-01-01 to 2099-12-31"):
            day(raw)
    with pytest.raises(OutOfBounds, match=r"“11/03/2026” is not a date \(use YYYY-MM-DD\)"):
        day("11/03/2026")
