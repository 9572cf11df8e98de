"""What is shipped, what has tracking waiting for *Mark as shipped*, and what is left, per order line.

A pure computation over an order's lines and shipments (as `order_detail` loads them), shared by the
order page and the JSON API so both show the same numbers as the rules in `models.fulfilment.shipping` use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

READY = "ready"
SHIPPED = "shipped"


@dataclass(frozen=True)
class LineShipping:
    id: int
    sku: str
    title: str
    #: The accepted quantity.
    quantity: int
    shipped: int
    ready: int

    @property
    def left(self) -> int:
        """Neither shipped nor in a parcel waiting to ship."""
        return max(self.quantity - self.shipped - self.ready, 0)


@dataclass
class ShippingSummary:
    lines: list[LineShipping] = field(default_factory=list)
    ready: list[dict[str, Any]] = field(default_factory=list)
    shipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def left(self) -> int:
        return sum(line.left for line in self.lines)

    @property
    def unshipped(self) -> int:
        return sum(max(line.quantity - line.shipped, 0) for line in self.lines)


def summarize(lines: list[dict[str, Any]], shipments: list[dict[str, Any]]) -> ShippingSummary:
    """`shipments` carry `lines` of `{"line_id", "quantity"}` (see `order_queries.order_detail`)."""
    shipped: dict[int, int] = {}
    ready: dict[int, int] = {}
    summary = ShippingSummary()
    for shipment in shipments:
        is_ready = shipment.get("state") == READY
        (summary.ready if is_ready else summary.shipped).append(shipment)
        counts = ready if is_ready else shipped
        for item in shipment.get("lines", []):
            line_id = item.get("line_id")
            if line_id is not None:
                counts[line_id] = counts.get(line_id, 0) + int(item["quantity"])
    summary.lines = [
        LineShipping(
            id=line["id"],
            sku=line["sku"],
            title=line["title"],
            quantity=line["quantity"],
            shipped=shipped.get(line["id"], 0),
            ready=ready.get(line["id"], 0),
        )
        for line in lines
        if line["status"] == "accepted"
    ]
    return summary
