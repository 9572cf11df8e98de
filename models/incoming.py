"""An order as a channel delivers it, after the connector has parsed the channel's own format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class IncomingAddress:
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street1: str = ""
    street2: str = ""
    postcode: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    phone: str = ""


@dataclass
class IncomingLine:
    position: int
    sku: str
    title: str
    quantity: int
    unit_price: int
    channel_line_id: str = ""


@dataclass
class IncomingOrder:
    channel_order_id: str
    placed_at: dt.datetime
    lines: list[IncomingLine]
    delivery: IncomingAddress
    customer_first_name: str = ""
    customer_last_name: str = ""
    customer_email: str = ""
    customer_phone: str = ""
    currency: str = "EUR"
    shipping_total: int = 0
    shipping_rate: str = ""
    payment_method: str = "card"
    channel_status: str = ""
    #: The channel still expects the merchant to accept or reject the order.
    needs_acceptance: bool = True
    raw: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(line.unit_price * max(line.quantity, 0) for line in self.lines) + self.shipping_total
