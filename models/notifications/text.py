"""The words of a new-order notification: one order gets its own e-mail, several get a digest.

Plain text, so it reads the same in any mail client and on the Notifications page; every order
comes with the link to its page, where it is accepted or rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from models.core.money import amount_with_code


@dataclass(frozen=True)
class WaitingOrder:
    id: int
    channel_order_id: str
    channel: str
    customer: str
    items: int
    total: int
    currency: str


@dataclass
class Digest:
    username: str
    #: How many orders wait; `orders` lists at most `LISTED` of them.
    total: int
    orders: list[WaitingOrder] = field(default_factory=list)
    base_url: str = ""

    LISTED: ClassVar[int] = 25

    def link(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def _describe(order: WaitingOrder, with_channel: bool = True) -> str:
    parts = [order.channel] if with_channel else []
    if order.customer:
        parts.append(order.customer)
    parts.append(f"{order.items} item{'s' if order.items != 1 else ''}")
    parts.append(amount_with_code(order.total, order.currency))
    return ", ".join(parts)


def compose(digest: Digest) -> tuple[str, str]:
    """(subject, body) of the message to `digest.username`."""
    tab = digest.link("/orders?tab=awaiting_acceptance")
    footer = [
        "",
        "You receive this because “E-mail me when an order waits for acceptance” is on in your Waybill settings.",
        f"Turn it off on the Settings page: {digest.link('/settings')}",
    ]
    if digest.total == 1 and digest.orders:
        order = digest.orders[0]
        subject = f"Order {order.channel_order_id} waits for acceptance"
        body = [
            f"Hello {digest.username},",
            "",
            f"Order {order.channel_order_id} from {order.channel} waits for acceptance.",
            "",
            f"  {_describe(order, with_channel=False)}",
            "",
            f"Accept or reject it: {digest.link(f'/orders/{order.id}')}",
        ]
        return subject, "\n".join(body + footer) + "\n"
    subject = f"{digest.total} orders wait for acceptance"
    body = [f"Hello {digest.username},", "", f"{digest.total} orders wait for acceptance:", ""]
    for order in digest.orders:
        body.append(f"- {order.channel_order_id}: {_describe(order)}")
        body.append(f"  {digest.link(f'/orders/{order.id}')}")
    more = digest.total - len(digest.orders)
    if more > 0:
        body.append(f"- …and {more} more.")
    body += ["", f"All orders waiting for acceptance: {tab}"]
    return subject, "\n".join(body + footer) + "\n"
