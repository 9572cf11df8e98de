"""Domain errors. Each carries a message a merchant can read and act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.lifecycle import OrderStatus

__all__ = [
    "Conflict",
    "DomainError",
    "FieldErrors",
    "NeedsConfirmation",
    "NotFound",
    "OrderFinal",
    "TransitionRefused",
]


class DomainError(Exception):
    """Base for refusals that change nothing and explain why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    """Someone else changed the record first; the caller's change was not applied."""


class TransitionRefused(DomainError):
    """The lifecycle does not allow this change; nothing was changed."""

    def __init__(self, current: OrderStatus, target: OrderStatus, message: str) -> None:
        super().__init__(message)
        self.current = current
        self.target = target


class OrderFinal(DomainError):
    """The order is delivered, which is final: nothing about it may change any more."""


class NeedsConfirmation(DomainError):
    """The change is possible but unusual (e.g. one supplier order linked to two orders): nothing was
    changed; the merchant repeats it with an explicit confirmation."""


class FieldErrors(DomainError):
    """Input was rejected field by field; `errors` maps field name to message."""

    def __init__(self, errors: dict[str, str], message: str = "Please correct the fields below.") -> None:
        super().__init__(message)
        self.errors = errors
