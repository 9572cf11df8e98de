"""Domain errors. Each carries a message a merchant can read and act on (the lifecycle's own refusal,
`TransitionRefused`, lives beside its table in `models.orders.lifecycle`)."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "FieldErrors",
    "NeedsConfirmation",
    "NotFound",
    "OrderFinal",
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
