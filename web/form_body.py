"""The body type of every dashboard form post (the URL-encoded fields as a dict), and reading numbers from it.

A number a person types is checked field by field (`FieldErrors`, shown at the field). An id or version a
form sends by itself (a list's choice, a hidden field) that no row can have is refused with 400: no page of
the app sends one.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.params import Body

from models.core.bounds import MAX_INT, OutOfBounds, row_id, whole_number
from models.core.errors import FieldErrors

FORM = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def form_id(data: dict[str, Any], key: str, what: str) -> int | None:
    """The id chosen in field `key` (None when none was); an id no `what` can have is refused with 400."""
    raw = str(data.get(key, "")).strip()
    if not raw:
        return None
    try:
        return row_id(raw)
    except OutOfBounds as exc:
        raise ClientException(
            f"Nothing was changed: the {what} {exc.message}. Reload the page and choose from the list."
        ) from None


def form_version(data: dict[str, Any], what: str, reload: str = "Reload the page") -> int | None:
    """The version of the `what` the form was rendered with, so a stale save gets a conflict, not a lost
    update. None when the form sends none; anything but a whole number from 0 to `MAX_INT` is refused (400)
    rather than ignored, which would let the change through unchecked."""
    value = str(data.get("version", "")).strip()
    if not value:
        return None
    try:
        return whole_number(value)
    except OutOfBounds as exc:
        raise ClientException(
            f"Nothing was changed: this form's {what} version {exc.message}. {reload} and try again."
        ) from None


def typed_number(raw: object, field: str, message: str = "") -> int:
    """A whole number typed into `field` (negative ones too: the domain's rule explains them); raises
    `FieldErrors` on `field` for anything else, with `message` as the summary."""
    try:
        return whole_number(raw, -MAX_INT, MAX_INT)
    except OutOfBounds as exc:
        hint = "Enter a whole number." if exc.malformed else f"Enter a whole number from 0 to {MAX_INT}."
        raise FieldErrors({field: hint}, message or hint) from None
