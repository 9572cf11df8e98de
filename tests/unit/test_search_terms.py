"""Search terms: accent- and case-insensitive, prefix-searchable ids, names, SKUs and tracking numbers."""

from __future__ import annotations

import pytest

from models.search_terms import (
    MAX_TERM_LENGTH,
    identifier_terms,
    normalise,
    order_terms,
    prefix_upper_bound,
    query_words,
    words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dvořák", "dvorak"),
        ("DVOŘÁK", "dvorak"),
        ("Müller", "muller"),
        ("MÜLLER", "muller"),
        ("Zoë", "zoe"),
        ("François", "francois"),
        ("Łukasz", "łukasz"),  # a letter of its own, not an accent: kept
        ("Straße", "strasse"),  # casefold, not lower
        ("  Ångström ", "angstrom"),
        ("ＡＢＣ", "abc"),  # full-width forms (NFKD)
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_normalise_caps_length():
    assert len(normalise("x" * 500)) == MAX_TERM_LENGTH


def test_words_split_on_punctuation_and_spaces():
    assert words("Anne-Marie  O'Neil") == ["anne", "marie", "o", "neil"]
    assert words("") == []


def test_identifier_terms_keep_the_whole_value_and_its_parts():
    assert identifier_terms("MK-2026/0042") == {"mk-2026/0042", "mk", "2026", "0042"}
    assert identifier_terms("  ") == set()


def test_order_terms_cover_id_names_email_skus_and_tracking():
    terms = order_terms(
        "A-100",
        names=["Zoë", "Dvořák", ""],
        emails=["Zoe@Example.com", ""],
        skus=["SKU-ABC"],
        tracking_numbers=["1Z999AA10123456784"],
    )
    assert {"a-100", "a", "100", "zoe", "dvorak", "zoe@example.com", "sku-abc", "sku", "abc"} <= terms
    assert "1z999aa10123456784" in terms
    assert "" not in terms


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dvorak", ["dvorak"]),
        ("DVOŘÁK", ["dvorak"]),
        ("  Zoë   Dvořák ", ["zoe", "dvorak"]),
        ("SKU-ABC", ["sku-abc"]),  # punctuation inside a word is kept
        ("", []),
        ("a b c d e f g", ["a", "b", "c", "d", "e"]),  # at most five words
    ],
)
def test_query_words(query, expected):
    assert query_words(query) == expected


def test_a_query_finds_terms_stored_from_accented_names():
    stored = order_terms("X-1", names=["Dvořák"])
    for query in ("dvorak", "Dvořák", "DVORAK", "dvo"):
        (word,) = query_words(query)
        assert any(word <= term < prefix_upper_bound(word) for term in stored), query


def test_prefix_upper_bound_bounds_every_extension():
    bound = prefix_upper_bound("dvo")
    for term in ("dvo", "dvorak", "dvo\u00ff", "dvo\uffff"):
        assert "dvo" <= term < bound
    assert bound < "dvp"
