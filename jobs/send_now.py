"""Send an order's queued messages at once, while the merchant waits to see what the others said.

Whatever cannot be sent now stays in the outbox: the background jobs keep trying, with backoff.
"""

from __future__ import annotations

from jobs.dispatcher import dispatch_channel_order_now as send_channel_messages_now
from jobs.http import http_client
from jobs.supplier_dispatch import dispatch_order_now


async def send_order_messages_now(order_id: int) -> None:
    """Suppliers first (a cancellation there matters most), then the channel."""
    client = http_client()
    await dispatch_order_now(order_id, client)
    await send_channel_messages_now(order_id, client)
