"""A step that reached the marketplace from an instance that died before recording it is done, not failed."""

from __future__ import annotations

import json

import httpx

from jobs.connections import channel_connector
from jobs.dispatcher import dispatch_due, send
from models.db.tables import Order, OutboxMessage
from models.orders.acceptance import accept_order
from tests.reconcile_world import MERCHANT, import_orders_of, make_world, order_id_of


async def test_an_accept_applied_before_a_crash_is_recorded_as_done(database_url, serve_sandbox):
    async with httpx.AsyncClient(timeout=5) as client:
        world = await make_world(serve_sandbox, "Crashing marketplace")
        channel_order_id = (await import_orders_of(world, 3, client))[0]
        order_id = await order_id_of(world, channel_order_id)
        await accept_order(order_id, MERCHANT)
        message = await OutboxMessage.select().where(OutboxMessage.order == order_id).first()
        # The first attempt reached Mirakl; its instance was killed before it could mark the message done.
        payload = json.loads(message["payload"]) if isinstance(message["payload"], str) else message["payload"]
        await send(channel_connector(world.channel, client), "accept", channel_order_id, payload)

        await dispatch_due(client, owner="another-instance")

    message = await OutboxMessage.select().where(OutboxMessage.id == message["id"]).first()
    assert message["state"] == "done", message["last_error"]
    order = await Order.select(Order.channel_status).where(Order.id == order_id).first()
    assert order["channel_status"] == "SHIPPING"
    assert world.mirakl.operation_count("accept", channel_order_id) == 1
