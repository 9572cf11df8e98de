"""Bodies decode and encode like the standard library, including what orjson alone refuses."""

from __future__ import annotations

import json

import pytest

from connectors import jsontext


@pytest.mark.parametrize(
    "text",
    ['{"a": 1, "b": [1.5, "é", null, true]}', '{"id": 18446744073709551615}', "[]", '"x"', "NaN", "-Infinity"],
)
def test_loads_reads_what_the_standard_library_reads(text):
    expected = json.loads(text)
    got = jsontext.loads(text.encode())
    assert got == expected or (got != got and expected != expected)  # NaN


@pytest.mark.parametrize("body", [b"", b"<html>", b"{", b"\xff\xfe"])
def test_loads_refuses_what_is_not_json_with_a_value_error(body):
    with pytest.raises(jsontext.DecodeError):
        jsontext.loads(body)


def test_dumps_round_trips_and_keeps_big_integers_and_accents():
    value = {"name": "Dvořák", "big": 2**80, "n": [1, 2.5, None]}
    assert json.loads(jsontext.dumps(value)) == value
    assert "Dvořák" in jsontext.dumps(value)


def test_integers_beyond_64_bits_are_read_as_floats():
    assert jsontext.loads(b'{"big": 123456789012345678901234567890}') == {"big": 1.2345678901234568e29}
