"""The body of every JSON API refusal, as the app's error handlers write it (`web/app.py`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ApiError:
    status_code: int
    #: Why nothing was done, and what to do instead.
    detail: str
    #: For input that was refused: field → what to fix.
    errors: dict[str, str] | None = None
