"""Quoting a value inside a message, so that text from outside cannot rearrange the message.

A marketplace value may carry Unicode bidi controls: an unclosed RIGHT-TO-LEFT OVERRIDE in a postcode
would show the rest of "Invalid postcode: “75…” is not a valid postcode for FR" backwards, on the
page, in e-mails and in exports alike. Such a value is wrapped in FIRST STRONG ISOLATE … POP
DIRECTIONAL ISOLATE, the plain-text form of <bdi>: its controls end where the value ends.
"""

from __future__ import annotations

import re

#: Embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"


def isolated(value: object) -> str:
    """The value as text, isolated when it holds bidi controls (otherwise unchanged)."""
    text = str(value)
    if BIDI_CONTROLS.search(text):
        return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"
    return text


def quoted(value: object) -> str:
    """“value”, isolated as above: for quoting what a channel, a supplier or a person typed."""
    return f"“{isolated(value)}”"
