"""An order as a channel delivers it, after the connector has parsed the channel's own format."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
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
    #: When the channel last changed the order, where its API says so (None: it does not). The
    #: reconciliation compares it with the import cursor: an order changed after the last poll is not
    #: lost, merely not imported yet.
    updated_at: dt.datetime | None = None

    @property
    def total(self) -> int:
        return sum(line.unit_price * max(line.quantity, 0) for line in self.lines) + self.shipping_total


#: Fields the channel must get back exactly as it sent them: never altered (an order with NUL in one is refused).
IDENTIFIER_FIELDS = frozenset({"channel_order_id", "channel_status", "sku", "channel_line_id", "currency"})


def drop_nul(value: object) -> None:
    """Remove NUL characters from the text fields of an incoming order, its address and lines, in place.

    Marketplaces do send them; PostgreSQL cannot store them in text, and they mean nothing to a person.
    Every imported order goes through here and nearly none holds a NUL, so the field names are looked
    up once per class and a text field costs one `in` test."""
    for name in _checked_fields(type(value)):
        current = getattr(value, name)
        if isinstance(current, str):
            if "\x00" in current:
                setattr(value, name, current.replace("\x00", ""))
        elif isinstance(current, list):
            for element in current:
                if dataclasses.is_dataclass(element):
                    drop_nul(element)
        elif dataclasses.is_dataclass(current):
            drop_nul(current)


@functools.cache
def _checked_fields(cls: type) -> tuple[str, ...]:
    """The fields of dataclass `cls` that `drop_nul` looks at: all but the identifiers."""
    return tuple(item.name for item in dataclasses.fields(cls) if item.name not in IDENTIFIER_FIELDS)
