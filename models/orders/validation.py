"""Order data checks. Each problem has a stable code and a message saying what to do next."""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.core.quoting import quoted
from models.ports import IncomingOrder

#: Postcode formats by ISO country code; countries not listed accept any non-empty postcode.
POSTCODE_FORMATS: dict[str, tuple[str, str]] = {
    "FR": (r"\d{5}", "75001"),
    "DE": (r"\d{5}", "10115"),
    "ES": (r"\d{5}", "28001"),
    "IT": (r"\d{5}", "00184"),
    "AT": (r"\d{4}", "1010"),
    "BE": (r"\d{4}", "1000"),
    "CH": (r"\d{4}", "8001"),
    "DK": (r"\d{4}", "1050"),
    "NL": (r"\d{4} ?[A-Z]{2}", "1012 AB"),
    "PT": (r"\d{4}-\d{3}", "1100-148"),
    "PL": (r"\d{2}-\d{3}", "00-950"),
    "CZ": (r"\d{3} ?\d{2}", "110 00"),
    "SK": (r"\d{3} ?\d{2}", "811 01"),
    "HU": (r"\d{4}", "1051"),
    "SE": (r"\d{3} ?\d{2}", "111 22"),
    "FI": (r"\d{5}", "00100"),
    "IE": (r"[A-Z]\d[\dW] ?[A-Z\d]{4}", "D02 X285"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "SW1A 1AA"),
    "US": (r"\d{5}(-\d{4})?", "10001"),
}

KNOWN_COUNTRIES = frozenset(POSTCODE_FORMATS) | {
    "LU", "GR", "RO", "BG", "HR", "SI", "EE", "LV", "LT", "NO", "CA", "AU", "MT", "CY",
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    line_position: int | None = None
    field: str | None = None


def postcode_problem(country: str, postcode: str) -> str | None:
    """A message if `postcode` is not valid for `country`, else None."""
    postcode = postcode.strip().upper()
    if not postcode:
        return "Missing postcode: the delivery address has no postcode."
    fmt = POSTCODE_FORMATS.get(country.upper())
    if fmt and not re.fullmatch(fmt[0], postcode):
        return (
            f"Invalid postcode: {quoted(postcode)} is not a valid postcode for {country.upper()} "
            f"(expected a format like {fmt[1]})."
        )
    return None


def address_problems(last_name: str, street1: str, city: str, postcode: str, country: str) -> list[Problem]:
    problems: list[Problem] = []
    if not last_name.strip():
        problems.append(
            Problem(
                "missing_surname", "Missing surname: the delivery address has no last name.", field="ship_last_name"
            )
        )
    if not street1.strip():
        problems.append(
            Problem("missing_street", "Missing street: the delivery address has no street.", field="ship_street1")
        )
    if not city.strip():
        problems.append(Problem("missing_city", "Missing city: the delivery address has no city.", field="ship_city"))
    if not country.strip():
        problems.append(
            Problem("missing_country", "Missing country: the delivery address has no country.", field="ship_country")
        )
    elif country.upper() not in KNOWN_COUNTRIES:
        problems.append(
            Problem(
                "invalid_country",
                f"Unknown country code {quoted(country)}: use a two-letter ISO code such as FR or DE.",
                field="ship_country",
            )
        )
    else:
        message = postcode_problem(country, postcode)
        if message:
            problems.append(Problem("invalid_postcode", message, field="ship_postcode"))
    return problems


def order_problems(order: IncomingOrder) -> list[Problem]:
    """Everything that stops an incoming order from going ahead without a human."""
    addr = order.delivery
    problems = address_problems(addr.last_name, addr.street1, addr.city, addr.postcode, addr.country)
    if not order.lines:
        problems.append(Problem("no_lines", "The order has no lines: check it on the marketplace."))
    for line in order.lines:
        if not line.sku.strip():
            problems.append(
                Problem("missing_sku", f"Line {line.position} has no SKU: map it to a product.", line.position)
            )
        if line.quantity <= 0:
            problems.append(
                Problem(
                    "invalid_quantity",
                    f"Line {line.position} ({line.sku or 'no SKU'}) has quantity {line.quantity}: "
                    "a quantity must be at least 1.",
                    line.position,
                )
            )
    return problems


def stored_order_problems(order: dict, lines: list[dict]) -> list[Problem]:
    """The same checks on an order as stored (after the merchant edited it), lines as rows."""
    problems = address_problems(
        order["ship_last_name"],
        order["ship_street1"],
        order["ship_city"],
        order["ship_postcode"],
        order["ship_country"],
    )
    for line in lines:
        if line["status"] != "accepted":
            continue
        if not line["sku"].strip():
            problems.append(
                Problem("missing_sku", f"Line {line['position']} has no SKU: map it to a product.", line["position"])
            )
        if line["quantity"] <= 0:
            problems.append(
                Problem(
                    "invalid_quantity",
                    f"Line {line['position']} ({line['sku'] or 'no SKU'}) has quantity {line['quantity']}: "
                    "a quantity must be at least 1.",
                    line["position"],
                )
            )
    return problems
