"""Amounts are kept in minor units (cents); these write them out in the currency's own precision."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision


def amount(minor: int, currency: str = "EUR") -> str:
    """A plain decimal amount (for CSV, the API and messages), e.g. 1290 EUR → "12.90"."""
    precision = get_currency_precision(currency or "EUR")
    return str(Decimal(minor).scaleb(-precision).quantize(Decimal(1).scaleb(-precision)))


def amount_with_code(minor: int, currency: str) -> str:
    """e.g. 1240 EUR → "12.40 EUR", as suppliers write balances."""
    return f"{amount(minor, currency)} {currency}"
