"""Values quoted in messages keep their bidi controls to themselves."""

from __future__ import annotations

from models.core.quoting import isolated, quoted
from models.orders.validation import postcode_problem

RLO = "\u202e"


def test_plain_values_are_quoted_unchanged() -> None:
    assert quoted("75002") == "“75002”"
    assert quoted("שלום") == "“שלום”"  # right-to-left letters need no isolate of their own
    assert isolated(42) == "42"


def test_a_value_with_bidi_controls_is_isolated_and_kept_whole() -> None:
    for control in ("\u202a", "\u202b", "\u202c", "\u202d", RLO, "\u2066", "\u2067", "\u2068", "\u2069"):
        value = f"75{control}x"
        assert isolated(value) == f"\u2068{value}\u2069"
        assert quoted(value) == f"“\u2068{value}\u2069”"


def test_a_validator_message_ends_the_override_of_the_value_it_quotes() -> None:
    message = postcode_problem("FR", f"75{RLO}")
    assert message is not None
    opened = message.index(RLO)
    closed = message.index("\u2069", opened)
    assert message[:opened].endswith("75") and message[opened - 3] == "\u2068"
    assert message[closed + 1 :].startswith("” is not a valid postcode for FR")
