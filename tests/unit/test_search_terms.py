"""Search terms: accent- and case-insensitive, prefix-searchable ids, names, SKUs and tracking numbers."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.core.search_terms import (
    MAX_TERM_LENGTH,
    identifier_terms,
    name_terms,
    normalise,
    order_terms,
    prefix_upper_bound,
    query_words,
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


def test_name_terms_keep_each_word_as_written_and_its_inner_parts():
    assert name_terms("Anne-Marie  O'Neil") == ("anne-marie", "marie", "o'neil", "neil")
    assert name_terms("¿Jośe") == ("¿jose", "jose")  # a leading sign: the word itself is kept too
    assert name_terms("") == ()


def test_identifier_terms_keep_the_whole_value_and_the_parts_a_prefix_does_not_reach():
    # "mk" is a prefix of the whole; "a" alone would match almost every order.
    assert identifier_terms("MK-2026/0042-A") == {"mk-2026/0042-a", "2026", "0042"}
    assert identifier_terms("#0042") == {"#0042", "0042"}
    assert identifier_terms("  ") == set()


def test_order_terms_cover_id_names_email_skus_and_tracking():
    terms = order_terms(
        "A-100",
        names=["Zoë", "Dvořák", ""],
        emails=["Zoe@Example.com", ""],
        skus=["SKU-ABC"],
        tracking_numbers=["1Z999AA10123456784"],
    )
    assert {"a-100", "100", "zoe", "dvorak", "zoe@example.com", "sku-abc", "abc"} <= terms
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


def reference_normalise(text: str) -> str:
    """The plain definition: NFKD, casefold, NFKD, drop combining marks, strip, cap the length."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()[:MAX_TERM_LENGTH]


def split(text: str) -> list[str]:
    return [w for w in re.split(r"[^\w]+", reference_normalise(text)) if w]


def reference_order_terms(channel_order_id, names, emails, skus, tracking_numbers) -> set[str]:
    """Every token whole, and each of its words that is longer than one letter and not its start."""

    def token(value: str) -> set[str]:
        whole = reference_normalise(value)
        return {whole, *(w for w in split(whole) if len(w) > 1 and not whole.startswith(w))} if whole else set()

    terms = token(channel_order_id)
    for name in names:
        for word in reference_normalise(name).split():
            terms.update(token(word))
    terms.update(reference_normalise(email) for email in emails if email)
    for value in [*skus, *tracking_numbers]:
        terms.update(token(value))
    return {t for t in terms if t}


texts = st.text(st.characters(codec="utf-8"), max_size=120) | st.sampled_from(
    ["Dvořák", "  Ångström ", "ＡＢＣ", "Straße", "O'Brien", "x" * 130, " \t", "SKU-ÄÖ/12", "ǅ", "İstanbul"]
)


@given(texts)
@settings(max_examples=300)
def test_normalise_matches_its_definition(text):
    assert normalise(text) == reference_normalise(text)
    assert normalise(text) == reference_normalise(text)  # cached the second time


@given(texts, st.lists(texts, max_size=4), st.lists(texts, max_size=2), st.lists(texts, max_size=3), st.lists(texts))
@settings(max_examples=300)
def test_order_terms_match_their_definition(channel_order_id, names, emails, skus, tracking_numbers):
    expected = reference_order_terms(channel_order_id, names, emails, skus, tracking_numbers)
    for _ in range(2):  # the second time from the caches
        assert order_terms(channel_order_id, names, emails, skus, tracking_numbers) == expected
    assert identifier_terms(channel_order_id) == reference_order_terms(channel_order_id, [], [], [], [])


@given(texts, st.lists(texts, max_size=4), st.lists(texts, max_size=3))
@settings(max_examples=300)
def test_every_word_longer_than_one_letter_is_found_by_prefix(channel_order_id, names, skus):
    """Whatever word of an id, name or SKU is typed (two letters or more), a stored term starts with it."""
    stored = order_terms(channel_order_id, names, skus=skus)
    for text in [channel_order_id, *names, *skus]:
        for word in split(text):
            if len(word) > 1:
                assert any(term.startswith(word) for term in stored), (word, stored)
