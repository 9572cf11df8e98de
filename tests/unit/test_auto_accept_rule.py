"""The auto-accept rule: which orders it leaves for manual acceptance, and why."""

from __future__ import annotations

import pytest

from models.core.errors import FieldErrors
from models.orders.auto_accept import AutoAcceptRule, hold_reasons, parse_below_cost_pct
from tests.conftest import make_order

CATALOG = {
    "BB-1001": {"cost": 1000, "currency": "EUR"},
    "BB-1002": {"cost": None, "currency": "EUR"},
    "BB-USD": {"cost": 1000, "currency": "USD"},
}


def order(*lines: tuple[str, int, int]):
    return make_order("R-1", lines=list(lines))


def test_unknown_sku_is_held_only_when_the_rule_says_so():
    incoming = order(("BB-1001", 1, 1500), ("NOPE-1", 2, 500))
    assert hold_reasons(incoming, CATALOG, AutoAcceptRule(hold_unknown_sku=True)) == [
        "SKU NOPE-1 is not in the catalog"
    ]
    assert hold_reasons(incoming, CATALOG, AutoAcceptRule(hold_unknown_sku=False)) == []


@pytest.mark.parametrize(
    ("price", "limit", "held"),
    [
        (800, 20, False),  # exactly 20 % below: not more than the limit
        (799, 20, True),
        (999, 0, True),  # 0 %: any sale below cost
        (1000, 0, False),
        (1, 100, False),  # 100 %: never held
        (2000, 10, False),
    ],
)
def test_price_more_than_n_percent_below_catalog_cost_is_held(price, limit, held):
    reasons = hold_reasons(order(("BB-1001", 1, price)), CATALOG, AutoAcceptRule(hold_below_cost_pct=limit))
    assert bool(reasons) is held


def test_the_reason_names_the_sku_prices_and_limit():
    [reason] = hold_reasons(order(("BB-1001", 1, 500)), CATALOG, AutoAcceptRule(hold_below_cost_pct=20))
    assert reason == "BB-1001 sells at 5.00 EUR, 50 % below its catalog cost of 10.00 EUR (the limit is 20 %)"
    [reason] = hold_reasons(order(("BB-1001", 1, 667)), CATALOG, AutoAcceptRule(hold_below_cost_pct=20))
    assert "33.3 % below" in reason


def test_lines_without_a_comparable_cost_are_not_price_checked():
    rule = AutoAcceptRule(hold_below_cost_pct=0)
    assert hold_reasons(order(("BB-1002", 1, 1)), CATALOG, rule) == []  # cost not given
    assert hold_reasons(order(("BB-USD", 1, 1)), CATALOG, rule) == []  # cost in another currency
    assert hold_reasons(order(("NOPE-1", 1, 1)), CATALOG, rule) == []  # unknown SKU, not asked to hold


def test_percentage_from_the_channel_form():
    assert parse_below_cost_pct("") is None
    assert parse_below_cost_pct(" 15 % ") == 15
    assert parse_below_cost_pct("0") == 0
    for bad in ("-5", "101", "12.5", "ten"):
        with pytest.raises(FieldErrors) as refused:
            parse_below_cost_pct(bad)
        assert "whole percentage from 0 to 100" in refused.value.errors["hold_below_cost_pct"]


def test_rule_description_for_the_channel_page():
    assert AutoAcceptRule().describe() == "accepts every new order"
    assert AutoAcceptRule(True, 20).describe() == (
        "holds orders with an unknown SKU or a line priced more than 20 % below its catalog cost"
    )
    assert AutoAcceptRule.of({"hold_unknown_sku": 1, "hold_below_cost_pct": None}) == AutoAcceptRule(True, None)
