"""Input refused with 400 before any handler runs, whatever the route: an id in the address that no row can
have, and a JSON body that is not UTF-8 or nests too deep (the decoder's own errors, which would be a 500).

Both are installed on the app (`web/app.py`): `bounded_path_ids` as a guard, `BoundedRequest` as its request
class. Numbers inside bodies and query strings are bounded where they are declared (`web/api_params.py`,
`QueryId` below) or parsed (`models.core.bounds`).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException, SerializationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter

from models.core.bounds import MAX_INT, shown

#: An optional id in a query string (`?before=…`): 1 to `MAX_INT`, else 400.
QueryId = Annotated[int | None, Parameter(ge=1, le=MAX_INT)]
#: A count in a query string (`?attempt=…`): 1 to `MAX_INT`, else 400.
PollCount = Annotated[int, Parameter(ge=1, le=MAX_INT)]


def bounded_path_ids(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse an address whose `{…:int}` part is negative or past `MAX_INT`, which the database driver would
    fail on (PostgreSQL's past 32 bits, SQLite's past 64). 0 is left to the handler: "Order 0 does not exist"."""
    for name, value in connection.path_params.items():
        if isinstance(value, int) and not 0 <= value <= MAX_INT:
            what = name.removesuffix("_id").replace("_", " ")
            raise ClientException(
                f"This address names {what} {shown(value)}, which cannot exist: ids go from 1 to {MAX_INT}."
            )


class BoundedRequest(Request):
    """A request whose JSON body, when it cannot be read, is refused with 400 and a sentence saying why."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except UnicodeDecodeError as exc:
            raise ClientException(
                f"The request body is not JSON: it holds bytes that are not UTF-8 text ({exc.object[exc.start]:#04x}). "
                "Send the JSON encoded as UTF-8."
            ) from None
        except RecursionError:
            raise ClientException(
                "The request body nests JSON too deeply to be read: no request here nests more than a few levels."
            ) from None
        except SerializationException as exc:
            raise ClientException(f"The request body is not valid JSON: {exc.detail}.") from None
