"""Addresses no page answers. Routed like any page, so a visitor who is not logged in is sent to log in
(learning nothing about what exists) and a logged-in user gets the not-found page with the menu."""

from __future__ import annotations

from litestar import route
from litestar.enums import HttpMethod
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

ANY_METHOD = [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE]


@route("/{unknown:path}", http_method=ANY_METHOD, include_in_schema=False, sync_to_thread=False)
def unknown_address(unknown: FromPath[str]) -> None:
    raise NotFoundException()
