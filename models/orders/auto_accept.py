"""Auto-accept with a safety rule: which new orders an auto-accept channel leaves for a human.

A channel with auto-accept on accepts new marketplace orders at import, unless its rule holds one
for manual acceptance: a SKU the catalog does not know, or a line priced more than N % below its
catalog cost (a price error on the marketplace). A held order waits in *Awaiting acceptance* and its
audit trail says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models.core.errors import FieldErrors
from models.core.money import amount_with_code
from models.ports import IncomingOrder
from models.suppliers.routing import catalog_for

#: SKUs per catalog lookup, well below both engines' bound-parameter limits.
SKU_CHUNK = 2_000
HELD_EVENT = "held_for_acceptance"


@dataclass(frozen=True)
class AutoAcceptRule:
    """What makes an auto-accept channel hold an order for manual acceptance."""

    hold_unknown_sku: bool = False
    #: Hold when a line's unit price is more than this many percent below its catalog cost; None: no check.
    hold_below_cost_pct: int | None = None

    @classmethod
    def of(cls, channel: Mapping[str, Any]) -> AutoAcceptRule:
        pct = channel.get("hold_below_cost_pct")
        return cls(bool(channel.get("hold_unknown_sku")), None if pct is None else int(pct))

    @property
    def checks_catalog(self) -> bool:
        return self.hold_unknown_sku or self.hold_below_cost_pct is not None

    def describe(self) -> str:
        """e.g. "holds orders with an unknown SKU or a line more than 20 % below its catalog cost"."""
        parts = []
        if self.hold_unknown_sku:
            parts.append("an unknown SKU")
        if self.hold_below_cost_pct is not None:
            parts.append(f"a line priced more than {self.hold_below_cost_pct} % below its catalog cost")
        return "holds orders with " + " or ".join(parts) if parts else "accepts every new order"


def parse_below_cost_pct(raw: str) -> int | None:
    """The form's percentage: empty means no price check; else a whole number from 0 to 100."""
    text = (raw or "").strip().rstrip("%").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 100:
        raise FieldErrors(
            {"hold_below_cost_pct": "Enter a whole percentage from 0 to 100, or leave it empty to not check prices."}
        )
    return int(text)


def _percent(value: Decimal) -> str:
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.1f}"


def hold_reasons(order: IncomingOrder, catalog: Mapping[str, Mapping[str, Any]], rule: AutoAcceptRule) -> list[str]:
    """Why `rule` holds `order` (empty: accept it). `catalog` maps SKU → its preferred catalog entry.

    Lines whose catalog cost is unknown or in another currency than the order are not price-checked.
    """
    reasons: list[str] = []
    for line in order.lines:
        sku = line.sku.strip()
        entry = catalog.get(sku)
        if entry is None:
            if rule.hold_unknown_sku:
                reasons.append(f"SKU {sku} is not in the catalog")
            continue
        limit = rule.hold_below_cost_pct
        cost = entry.get("cost")
        if limit is None or not cost or (entry.get("currency") or "EUR") != order.currency:
            continue
        if line.unit_price * 100 < cost * (100 - limit):
            below = Decimal(cost - line.unit_price) * 100 / Decimal(cost)
            reasons.append(
                f"{sku} sells at {amount_with_code(line.unit_price, order.currency)}, {_percent(below)} % below its "
                f"catalog cost of {amount_with_code(cost, order.currency)} (the limit is {limit} %)"
            )
    return reasons


async def orders_to_hold(channel: Mapping[str, Any], orders: Iterable[IncomingOrder]) -> dict[str, list[str]]:
    """Channel order id → why it is held, for the orders this channel would auto-accept."""
    if not channel.get("auto_accept"):
        return {}
    rule = AutoAcceptRule.of(channel)
    candidates = [order for order in orders if order.needs_acceptance]
    if not rule.checks_catalog or not candidates:
        return {}
    skus = sorted({line.sku.strip() for order in candidates for line in order.lines})
    catalog: dict[str, dict[str, Any]] = {}
    for start in range(0, len(skus), SKU_CHUNK):
        catalog.update(await catalog_for(skus[start : start + SKU_CHUNK]))
    held = {}
    for order in candidates:
        reasons = hold_reasons(order, catalog, rule)
        if reasons:
            held[order.channel_order_id] = reasons
    return held


def held_message(reasons: list[str]) -> str:
    return "Held for manual acceptance (auto-accept rule): " + "; ".join(reasons) + "."
