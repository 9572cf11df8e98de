"""Routing: which supplier ships which line, under which SKU, by which shipping method.

Lines are routed by their channel SKU (frozen at import) through the catalog; when several
suppliers carry a SKU, the lowest priority number wins. One customer order can become several
supplier orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from models.db.tables import CatalogItem, ShippingMapping


@dataclass(frozen=True)
class RoutedLine:
    order_line_id: int
    channel_sku: str
    supplier_sku: str
    quantity: int
    unit_cost: int | None


@dataclass
class RoutePlan:
    #: supplier id → the lines it ships
    routes: dict[int, list[RoutedLine]] = field(default_factory=dict)
    #: channel SKUs no active catalog entry covers
    unknown_skus: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unknown_skus and bool(self.routes)


async def catalog_for(skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The preferred active catalog entry per channel SKU."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    active = CatalogItem.active.eq(True)
    rows = (
        await CatalogItem.select()
        .where(CatalogItem.channel_sku.is_in(wanted) & active)
        .order_by(CatalogItem.priority)
        .order_by(CatalogItem.id)
    )
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        best.setdefault(row["channel_sku"], row)
    return best


async def plan_routes(lines: list[dict[str, Any]]) -> RoutePlan:
    """Route every accepted line (`lines` as order_line rows) to a supplier."""
    accepted = [line for line in lines if line["status"] == "accepted" and line["quantity"] > 0]
    catalog = await catalog_for(line["sku"] for line in accepted)
    plan = RoutePlan()
    for line in accepted:
        entry = catalog.get(line["sku"])
        if entry is None:
            if line["sku"] not in plan.unknown_skus:
                plan.unknown_skus.append(line["sku"])
            continue
        plan.routes.setdefault(entry["supplier"], []).append(
            RoutedLine(line["id"], line["sku"], entry["supplier_sku"], line["quantity"], entry["cost"])
        )
    return plan


async def shipping_method(channel_id: int, channel_rate: str, supplier_id: int) -> str | None:
    """The supplier's method for a channel's shipping rate, or None when no mapping exists."""
    row = (
        await ShippingMapping.select(ShippingMapping.method)
        .where(
            (ShippingMapping.channel == channel_id)
            & (ShippingMapping.channel_rate == channel_rate)
            & (ShippingMapping.supplier == supplier_id)
        )
        .first()
    )
    return row["method"] if row else None
