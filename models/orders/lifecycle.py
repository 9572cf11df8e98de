"""The order lifecycle: statuses, the allowed transitions (as data), and derived status rules.

This is the one place that says which status may follow which. Operations ask `check_transition`
before changing anything; a refusal carries a message a merchant can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

# A `DomainError`, so the web layer answers a refusal with its message like any other refusal.
from models.core.errors import DomainError


class TransitionRefused(DomainError):
    """The lifecycle does not allow this change; nothing was changed."""

    def __init__(self, current: OrderStatus, target: OrderStatus, message: str) -> None:
        super().__init__(message)
        self.current = current
        self.target = target


class OrderStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    AWAITING_FULFILLMENT = "awaiting_fulfillment"
    PROCESSING = "processing"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURNED = "returned"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


class LineStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    PAID = "paid"
    UNPAID = "unpaid"


class PaymentMethod(StrEnum):
    CARD = "card"
    ON_ACCOUNT = "on_account"


STATUS_LABELS: dict[OrderStatus, str] = {
    OrderStatus.PENDING_REVIEW: "Pending review",
    OrderStatus.AWAITING_ACCEPTANCE: "Awaiting acceptance",
    OrderStatus.AWAITING_FULFILLMENT: "Awaiting fulfillment",
    OrderStatus.PROCESSING: "Processing",
    OrderStatus.PARTIALLY_SHIPPED: "Partially shipped",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.RETURNED: "Returned",
    OrderStatus.REJECTED: "Rejected",
    OrderStatus.CANCELLED: "Cancelled",
}

S = OrderStatus

#: Supplier order statuses (models.ports.SUPPLIER_STATUSES) meaning the supplier has the order.
AT_SUPPLIER: frozenset[str] = frozenset({"processed", "on_hold", "shipped"})

#: Every allowed (from, to) pair. Anything not listed is refused.
TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        # A human fixed what blocked the order; it resumes where it belongs.
        (S.PENDING_REVIEW, S.AWAITING_ACCEPTANCE),
        (S.PENDING_REVIEW, S.AWAITING_FULFILLMENT),
        (S.PENDING_REVIEW, S.PROCESSING),
        (S.PENDING_REVIEW, S.REJECTED),
        (S.PENDING_REVIEW, S.CANCELLED),
        # Marketplace acceptance.
        (S.AWAITING_ACCEPTANCE, S.PENDING_REVIEW),
        (S.AWAITING_ACCEPTANCE, S.AWAITING_FULFILLMENT),
        (S.AWAITING_ACCEPTANCE, S.REJECTED),
        (S.AWAITING_ACCEPTANCE, S.CANCELLED),
        # Routing to suppliers, or the merchant ships from own stock.
        (S.AWAITING_FULFILLMENT, S.PENDING_REVIEW),
        (S.AWAITING_FULFILLMENT, S.PROCESSING),
        (S.AWAITING_FULFILLMENT, S.PARTIALLY_SHIPPED),
        (S.AWAITING_FULFILLMENT, S.SHIPPED),
        (S.AWAITING_FULFILLMENT, S.CANCELLED),
        # At the supplier.
        (S.PROCESSING, S.PENDING_REVIEW),
        (S.PROCESSING, S.PARTIALLY_SHIPPED),
        (S.PROCESSING, S.SHIPPED),
        (S.PROCESSING, S.CANCELLED),
        # Shipping and after. Cancelling stops once anything has shipped.
        (S.PARTIALLY_SHIPPED, S.SHIPPED),
        (S.SHIPPED, S.DELIVERED),
        (S.SHIPPED, S.RETURNED),
    }
)

#: Statuses nothing may leave.
FINAL_STATUSES: frozenset[OrderStatus] = frozenset({S.DELIVERED, S.RETURNED, S.REJECTED, S.CANCELLED})

#: Statuses in which nothing about the order may change at all, whatever the operation (DESIGN §1:
#: delivered is final). Only records of what happened elsewhere (a supplier's answer, a failed
#: delivery to a channel) are still kept beside such an order.
FROZEN_STATUSES: frozenset[OrderStatus] = frozenset({S.DELIVERED})

#: What each merchant action is called, for refusal messages.
ACTION_LABELS: dict[OrderStatus, str] = {
    S.PENDING_REVIEW: "Send to review",
    S.AWAITING_ACCEPTANCE: "Return to acceptance",
    S.AWAITING_FULFILLMENT: "Accept order",
    S.PROCESSING: "Process",
    S.PARTIALLY_SHIPPED: "Add tracking",
    S.SHIPPED: "Mark as shipped",
    S.DELIVERED: "Mark as delivered",
    S.RETURNED: "Mark as returned",
    S.REJECTED: "Reject order",
    S.CANCELLED: "Cancel order",
}


def allowed_sources(target: OrderStatus) -> list[OrderStatus]:
    return [src for src in OrderStatus if (src, target) in TRANSITIONS]


def allowed_targets(current: OrderStatus) -> list[OrderStatus]:
    return [dst for dst in OrderStatus if (current, dst) in TRANSITIONS]


def is_allowed(current: OrderStatus, target: OrderStatus) -> bool:
    return (OrderStatus(current), OrderStatus(target)) in TRANSITIONS


def refusal_message(current: OrderStatus, target: OrderStatus) -> str:
    current, target = OrderStatus(current), OrderStatus(target)
    action = ACTION_LABELS[target]
    if current == target:
        return f"{action}: the order is already {current.label.lower()}."
    if current in FINAL_STATUSES:
        return (
            f"{action} is not possible: the order is {current.label.lower()}, which is final and can no longer change."
        )
    sources = ", ".join(s.label.lower() for s in allowed_sources(target))
    return (
        f"{action} is not possible while the order is {current.label.lower()}; "
        f"it is only possible when the order is {sources}."
    )


def check_transition(current: OrderStatus | str, target: OrderStatus | str) -> None:
    """Raise `TransitionRefused` unless `current → target` is in the table."""
    current, target = OrderStatus(current), OrderStatus(target)
    if (current, target) not in TRANSITIONS:
        raise TransitionRefused(current, target, refusal_message(current, target))


@dataclass(frozen=True)
class LineState:
    """What the derived rules need to know about one order line."""

    status: LineStatus
    quantity: int
    shipped_quantity: int = 0


def decision_status(lines: Iterable[LineState]) -> OrderStatus | None:
    """Status implied by the acceptance decisions, or None while a line is still pending.

    No pending line and at least one accepted → awaiting fulfillment; every line rejected
    (or cancelled) → rejected.
    """
    lines = list(lines)
    if not lines or any(line.status == LineStatus.PENDING for line in lines):
        return None
    if any(line.status == LineStatus.ACCEPTED for line in lines):
        return OrderStatus.AWAITING_FULFILLMENT
    return OrderStatus.REJECTED


def shipping_status(lines: Iterable[LineState]) -> OrderStatus | None:
    """Shipped when all accepted quantity is in shipments, partially shipped when some is."""
    accepted = [line for line in lines if line.status == LineStatus.ACCEPTED]
    if not accepted:
        return None
    shipped = sum(min(line.shipped_quantity, line.quantity) for line in accepted)
    if shipped == 0:
        return None
    if all(line.shipped_quantity >= line.quantity for line in accepted):
        return OrderStatus.SHIPPED
    return OrderStatus.PARTIALLY_SHIPPED


def resume_status(lines: Iterable[LineState], sent_to_supplier: bool) -> OrderStatus:
    """Where an order goes once its last review issue is resolved."""
    lines = list(lines)
    shipped = shipping_status(lines)
    if shipped is not None:
        return shipped
    decided = decision_status(lines)
    if decided is None:
        return OrderStatus.AWAITING_ACCEPTANCE
    if decided == OrderStatus.AWAITING_FULFILLMENT and sent_to_supplier:
        return OrderStatus.PROCESSING
    return decided


#: Dashboard tabs: (slug, label, statuses). "all" has no status filter.
TABS: list[tuple[str, str, tuple[OrderStatus, ...]]] = [
    ("pending_review", "Pending review", (S.PENDING_REVIEW,)),
    ("awaiting_acceptance", "Awaiting acceptance", (S.AWAITING_ACCEPTANCE,)),
    ("awaiting_fulfillment", "Awaiting fulfillment", (S.AWAITING_FULFILLMENT,)),
    ("processing", "Processing", (S.PROCESSING,)),
    ("shipped", "Shipped", (S.PARTIALLY_SHIPPED, S.SHIPPED)),
    ("delivered", "Delivered", (S.DELIVERED,)),
    ("closed", "Closed", (S.REJECTED, S.CANCELLED, S.RETURNED)),
    ("all", "All", ()),
]

TAB_STATUSES: Mapping[str, tuple[OrderStatus, ...]] = {slug: sts for slug, _, sts in TABS}
