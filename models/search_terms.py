"""Normalised search terms: what the dashboard search matches by prefix through an index."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_TERM_LENGTH = 100
_WORD_SPLIT = re.compile(r"[^\w]+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower-case and strip accents so *Müller* is found by *muller* and *MÜLLER*."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped[:MAX_TERM_LENGTH]


def words(text: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(normalise(text)) if w]


def identifier_terms(value: str) -> set[str]:
    """An id, SKU or tracking number: whole, and its alphanumeric parts."""
    whole = normalise(value)
    if not whole:
        return set()
    return {whole, *words(value)}


def order_terms(
    channel_order_id: str,
    names: Iterable[str],
    emails: Iterable[str] = (),
    skus: Iterable[str] = (),
    tracking_numbers: Iterable[str] = (),
) -> set[str]:
    terms = set(identifier_terms(channel_order_id))
    for name in names:
        terms.update(words(name))
    for email in emails:
        if email:
            terms.add(normalise(email))
    for value in [*skus, *tracking_numbers]:
        terms.update(identifier_terms(value))
    return {t for t in terms if t}


def query_words(query: str) -> list[str]:
    """Split a search box entry into normalised prefixes (punctuation inside a word is kept)."""
    return [normalise(part) for part in query.split() if normalise(part)][:5]


def prefix_upper_bound(prefix: str) -> str:
    """Smallest string greater than every string starting with `prefix`."""
    return prefix + "\U0010ffff"
