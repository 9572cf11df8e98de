"""The lifecycle table: every allowed pair, every refused pair, and the derived status rules."""

from __future__ import annotations

import itertools

import pytest

from models.core.errors import DomainError
from models.orders.lifecycle import (
    FINAL_STATUSES,
    TABS,
    TRANSITIONS,
    LineState,
    LineStatus,
    OrderStatus,
    TransitionRefused,
    allowed_sources,
    allowed_targets,
    check_transition,
    decision_status,
    is_allowed,
    resume_status,
    shipping_status,
)

S = OrderStatus
ALL_PAIRS = list(itertools.product(OrderStatus, repeat=2))
ALLOWED = sorted(TRANSITIONS)
REFUSED = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


def pair_id(pair: tuple[OrderStatus, OrderStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_the_table_is_the_one_the_design_describes():
    """A guard against silent edits: changing the lifecycle must be a deliberate change to this list."""
    assert {
        (S.PENDING_REVIEW, S.AWAITING_ACCEPTANCE),
        (S.PENDING_REVIEW, S.AWAITING_FULFILLMENT),
        (S.PENDING_REVIEW, S.PROCESSING),
        (S.PENDING_REVIEW, S.REJECTED),
        (S.PENDING_REVIEW, S.CANCELLED),
        (S.AWAITING_ACCEPTANCE, S.PENDING_REVIEW),
        (S.AWAITING_ACCEPTANCE, S.AWAITING_FULFILLMENT),
        (S.AWAITING_ACCEPTANCE, S.REJECTED),
        (S.AWAITING_ACCEPTANCE, S.CANCELLED),
        (S.AWAITING_FULFILLMENT, S.PENDING_REVIEW),
        (S.AWAITING_FULFILLMENT, S.PROCESSING),
        (S.AWAITING_FULFILLMENT, S.PARTIALLY_SHIPPED),
        (S.AWAITING_FULFILLMENT, S.SHIPPED),
        (S.AWAITING_FULFILLMENT, S.CANCELLED),
        (S.PROCESSING, S.PENDING_REVIEW),
        (S.PROCESSING, S.PARTIALLY_SHIPPED),
        (S.PROCESSING, S.SHIPPED),
        (S.PROCESSING, S.CANCELLED),
        (S.PARTIALLY_SHIPPED, S.SHIPPED),
        (S.SHIPPED, S.DELIVERED),
        (S.SHIPPED, S.RETURNED),
    } == set(TRANSITIONS)
    assert len(ALLOWED) + len(REFUSED) == len(OrderStatus) ** 2 == 100


@pytest.mark.parametrize("pair", ALLOWED, ids=pair_id)
def test_allowed_pair_passes(pair):
    current, target = pair
    check_transition(current, target)
    check_transition(current.value, target.value)  # plain strings from the database work too
    assert is_allowed(current, target)
    assert target in allowed_targets(current)
    assert current in allowed_sources(target)


@pytest.mark.parametrize("pair", REFUSED, ids=pair_id)
def test_every_other_pair_is_refused_with_a_clear_message(pair):
    current, target = pair
    assert not is_allowed(current, target)
    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, target)
    exc = refused.value
    assert isinstance(exc, DomainError), "refusals are domain errors, shown to the merchant as messages"
    assert exc.current == current
    assert exc.target == target
    message = str(exc)
    assert message == exc.message
    assert message.endswith(".")
    # The message names the order's current status so the merchant knows why.
    assert current.label.lower() in message
    if current == target:
        assert "already" in message
    elif current in FINAL_STATUSES:
        assert "final" in message
        assert "can no longer change" in message
    else:
        # ... and says when the action would be possible.
        assert "only possible when the order is" in message
        for source in allowed_sources(target):
            assert source.label.lower() in message
    assert "OrderStatus" not in message
    assert "_" not in message, "messages use labels, not internal status codes"


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES), ids=str)
def test_final_statuses_never_change(final):
    assert allowed_targets(final) == []
    for target in OrderStatus:
        with pytest.raises(TransitionRefused):
            check_transition(final, target)


def test_final_statuses_are_exactly_the_closing_ones():
    assert {S.DELIVERED, S.RETURNED, S.REJECTED, S.CANCELLED} == FINAL_STATUSES
    # Every other status has a way forward.
    for status in set(OrderStatus) - FINAL_STATUSES:
        assert allowed_targets(status), status


def test_cancelling_is_allowed_only_up_to_processing():
    assert set(allowed_sources(S.CANCELLED)) == {
        S.PENDING_REVIEW,
        S.AWAITING_ACCEPTANCE,
        S.AWAITING_FULFILLMENT,
        S.PROCESSING,
    }
    with pytest.raises(TransitionRefused, match="Cancel order is not possible while the order is partially shipped"):
        check_transition(S.PARTIALLY_SHIPPED, S.CANCELLED)


def test_delivered_and_returned_only_after_shipping():
    assert allowed_sources(S.DELIVERED) == [S.SHIPPED]
    assert allowed_sources(S.RETURNED) == [S.SHIPPED]


def test_refusal_message_examples():
    with pytest.raises(TransitionRefused) as refused:
        check_transition(S.DELIVERED, S.RETURNED)
    assert str(refused.value) == (
        "Mark as returned is not possible: the order is delivered, which is final and can no longer change."
    )
    with pytest.raises(TransitionRefused) as refused:
        check_transition(S.AWAITING_ACCEPTANCE, S.SHIPPED)
    assert str(refused.value) == (
        "Mark as shipped is not possible while the order is awaiting acceptance; "
        "it is only possible when the order is awaiting fulfillment, processing, partially shipped."
    )
    with pytest.raises(TransitionRefused, match=r"^Process: the order is already processing\.$"):
        check_transition(S.PROCESSING, S.PROCESSING)


def test_unknown_status_is_not_silently_accepted():
    with pytest.raises(ValueError):
        check_transition("pending_review", "teleported")


def test_tabs_cover_every_status_once():
    seen = [status for slug, _, statuses in TABS if slug != "all" for status in statuses]
    assert sorted(seen) == sorted(OrderStatus)
    assert TABS[-1][0] == "all" and TABS[-1][2] == ()


# Derived rules ---------------------------------------------------------------------------------

P, A, R, C = LineStatus.PENDING, LineStatus.ACCEPTED, LineStatus.REJECTED, LineStatus.CANCELLED


def lines(*specs: tuple[LineStatus, int, int] | tuple[LineStatus, int]) -> list[LineState]:
    return [LineState(*spec) for spec in specs]


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (lines((A, 1)), S.AWAITING_FULFILLMENT),
        (lines((A, 2), (A, 1)), S.AWAITING_FULFILLMENT),
        (lines((A, 2), (R, 1)), S.AWAITING_FULFILLMENT),
        (lines((R, 2), (A, 1), (R, 3)), S.AWAITING_FULFILLMENT),
        (lines((R, 1)), S.REJECTED),
        (lines((R, 1), (R, 4)), S.REJECTED),
        (lines((R, 1), (C, 4)), S.REJECTED),
        (lines((P, 1)), None),
        (lines((A, 1), (P, 1)), None),
        (lines((R, 1), (P, 1)), None),
        ([], None),
    ],
)
def test_decision_status(states, expected):
    assert decision_status(states) == expected
    assert decision_status(iter(states)) == expected  # any iterable, consumed once


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (lines((A, 2, 2)), S.SHIPPED),
        (lines((A, 2, 2), (A, 1, 1)), S.SHIPPED),
        (lines((A, 2, 2), (R, 3, 0)), S.SHIPPED),  # rejected lines are never shipped
        (lines((A, 2, 1)), S.PARTIALLY_SHIPPED),
        (lines((A, 2, 2), (A, 1, 0)), S.PARTIALLY_SHIPPED),
        (lines((A, 2, 0), (A, 1, 1)), S.PARTIALLY_SHIPPED),
        (lines((A, 2, 0)), None),
        (lines((A, 2, 0), (A, 1, 0)), None),
        (lines((R, 2, 0)), None),
        (lines((P, 2, 0)), None),
        ([], None),
    ],
)
def test_shipping_status(states, expected):
    assert shipping_status(states) == expected
    assert shipping_status(iter(states)) == expected


@pytest.mark.parametrize(
    ("states", "sent", "expected"),
    [
        (lines((P, 1)), False, S.AWAITING_ACCEPTANCE),
        (lines((A, 1), (P, 1)), False, S.AWAITING_ACCEPTANCE),
        (lines((A, 1)), False, S.AWAITING_FULFILLMENT),
        (lines((A, 1), (R, 1)), False, S.AWAITING_FULFILLMENT),
        (lines((A, 1)), True, S.PROCESSING),
        (lines((R, 1)), False, S.REJECTED),
        (lines((R, 1)), True, S.REJECTED),
        (lines((A, 2, 1)), True, S.PARTIALLY_SHIPPED),
        (lines((A, 2, 2)), True, S.SHIPPED),
    ],
)
def test_resume_status(states, sent, expected):
    assert resume_status(states, sent_to_supplier=sent) == expected
    assert resume_status(iter(states), sent_to_supplier=sent) == expected


@pytest.mark.parametrize(
    ("states", "sent"),
    [
        (lines((P, 1)), False),
        (lines((A, 1)), False),
        (lines((A, 1)), True),
        (lines((R, 1)), False),
    ],
)
def test_resuming_from_review_is_always_an_allowed_transition(states, sent):
    """Where review resumes to must be reachable from pending review in the table."""
    check_transition(S.PENDING_REVIEW, resume_status(states, sent_to_supplier=sent))
