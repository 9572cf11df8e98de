"""How every JSON API action on an order answers: the order's state after it and what happened.

Refusals are exceptions the app's handlers turn into `ApiError` bodies (`web/api_errors.py`); a change
that went through answers with a subclass of `ApiOrderChange`, built by `order_change`, so a client
reads `order_id`, `status`, `version`, `channel_status`, `message` and `level` the same way after any
action and sends `version` back on the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from litestar.exceptions import NotFoundException

from models.db.tables import Order


@dataclass
class ApiOrderChange:
    order_id: int
    status: str
    #: Send it back as `version` so a change made meanwhile by someone else is refused, not overwritten.
    version: int
    channel_status: str
    #: What the action did, in the dashboard's words (empty for a plain read).
    message: str
    #: `success`, `info` or `warn` (something is still on its way or unconfirmed), `error` (the channel or a
    #: supplier refused; listed under connection issues); empty for a plain read.
    level: str


Change = TypeVar("Change", bound=ApiOrderChange)


async def order_row(order_id: int) -> dict[str, Any]:
    """The order as it is now, or 404 (an order can vanish only by a purge between change and answer)."""
    row = await Order.select().where(Order.id == order_id).first()
    if row is None:
        raise NotFoundException(f"Order {order_id} does not exist.")
    return row


def order_change(shape: type[Change], order: dict[str, Any], message: str, level: str, **fields: Any) -> Change:
    """`shape` filled with the order's state, what happened, and the action's own `fields`."""
    return shape(
        order_id=order["id"],
        status=order["status"],
        version=order["version"],
        channel_status=order["channel_status"],
        message=message,
        level=level,
        **fields,
    )
