"""Normalised search terms: what the dashboard search matches by prefix through an index."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

MAX_TERM_LENGTH = 100
_WORD_SPLIT = re.compile(r"[^\w]+", re.UNICODE)
#: Names and SKUs repeat from order to order: their terms are computed once (an import writes many).
_CACHE_SIZE = 16_384


def normalise(text: str) -> str:
    """Lower-case and strip accents so *Müller* is found by *muller* and *MÜLLER*."""
    if text.isascii():
        # ASCII is left as it is by NFKD and has no combining marks; its casefold is lower().
        return text.strip().lower()[:MAX_TERM_LENGTH]
    return _normalise_unicode(text)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalise_unicode(text: str) -> str:
    # Compatibility caseless matching (Unicode §3.13): "℠" and "sm" are one term.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.strip()[:MAX_TERM_LENGTH]


def identifier_terms(value: str) -> set[str]:
    """An id, SKU or tracking number: whole, and the parts a prefix of the whole does not reach."""
    return set(_identifier_terms(value))


def _identifier_terms(value: str) -> tuple[str, ...]:
    whole = normalise(value)
    if not whole:
        return ()
    return (whole, *_inner_parts(whole))


def _inner_parts(token: str) -> tuple[str, ...]:
    """The words of `token` a prefix search of the token does not already find, leaving out single
    characters, which would match nearly every order."""
    return tuple(w for w in _WORD_SPLIT.split(token) if len(w) > 1 and not token.startswith(w))


_cached_identifier_terms = functools.lru_cache(maxsize=_CACHE_SIZE)(_identifier_terms)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def name_terms(name: str) -> tuple[str, ...]:
    """Each word of a name as written (*o'brien*, *anne-marie*) and its inner parts (*brien*, *marie*),
    so the search finds it typed either way."""
    terms: list[str] = []
    for token in normalise(name).split():
        terms.append(token)
        terms.extend(_inner_parts(token))
    return tuple(terms)


def order_terms(
    channel_order_id: str,
    names: Iterable[str],
    emails: Iterable[str] = (),
    skus: Iterable[str] = (),
    tracking_numbers: Iterable[str] = (),
) -> set[str]:
    terms = set(_identifier_terms(channel_order_id))  # unique per order: not worth caching
    for name in names:
        terms.update(name_terms(name))
    for email in emails:
        if email:
            terms.add(normalise(email))
    for value in skus:
        terms.update(_cached_identifier_terms(value))
    for value in tracking_numbers:
        terms.update(_identifier_terms(value))
    terms.discard("")
    return terms


def query_words(query: str) -> list[str]:
    """Split a search box entry into normalised prefixes (punctuation inside a word is kept)."""
    return [normalise(part) for part in query.split() if normalise(part)][:5]


def prefix_upper_bound(prefix: str) -> str:
    """Smallest string greater than every string starting with `prefix`."""
    return prefix + "\U0010ffff"
