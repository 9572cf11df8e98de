"""Every version of an order as the channel sent it can be read back on the order's pages."""

from __future__ import annotations

import json
import re

from models.channels.importing import import_orders
from tests.conftest import import_one, login, make_order


async def test_order_page_lists_each_payload_version_and_shows_it(client, users, channel):
    order = make_order("PAY-1")
    order.raw = json.dumps({"order_id": "PAY-1", "note": "<script>alert(1)</script>", "v": 1})
    order_id = await import_one(channel, order)
    order.raw = json.dumps({"order_id": "PAY-1", "v": 2})
    await import_orders(channel, [order])
    other_id = await import_one(channel, make_order("PAY-2"))

    await login(client, "viewer")
    page = await client.get(f"/orders/{order_id}")
    links = re.findall(rf'href="/orders/{order_id}/payloads/(\d+)"', page.text)
    assert len(links) == 2
    shown = await client.get(f"/orders/{order_id}/payloads/{links[-1]}")
    assert shown.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    assert "<script>alert(1)" not in shown.text
    # A version of another order is not reachable through this order.
    other_links = re.findall(
        rf'href="/orders/{other_id}/payloads/(\d+)"', (await client.get(f"/orders/{other_id}")).text
    )
    assert (await client.get(f"/orders/{order_id}/payloads/{other_links[0]}")).status_code == 404
