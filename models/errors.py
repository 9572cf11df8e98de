"""Domain errors. Each carries a message a merchant can read and act on."""

from __future__ import annotations

from models.lifecycle import TransitionRefused

__all__ = ["Conflict", "DomainError", "FieldErrors", "NotFound", "TransitionRefused"]


class DomainError(Exception):
    """Base for refusals that change nothing and explain why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    """Someone else changed the record first; the caller's change was not applied."""


class FieldErrors(DomainError):
    """Input was rejected field by field; `errors` maps field name to message."""

    def __init__(self, errors: dict[str, str], message: str = "Please correct the fields below.") -> None:
        super().__init__(message)
        self.errors = errors
