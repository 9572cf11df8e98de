"""Helpers shared by the integration tests: table snapshots and direct look-ups."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from models import db
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import (
    Event,
    Order,
    OrderLine,
    OrderSearchTerm,
    OrderStatusCount,
    OutboxMessage,
    RawPayload,
    ReviewIssue,
    Shipment,
    ShipmentLine,
    Supplier,
)

COUNTED_TABLES = (Order, OrderLine, Event, RawPayload, ReviewIssue, OrderSearchTerm, OutboxMessage, Shipment)


async def table_counts() -> dict[str, int]:
    return {table._meta.tablename: await table.count() for table in COUNTED_TABLES}


async def order_row(order_id: int) -> dict[str, Any]:
    row = await Order.select().where(Order.id == order_id).first()
    assert row is not None
    return row


async def order_lines(order_id: int) -> list[dict[str, Any]]:
    return await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.position)


async def order_events(order_id: int) -> list[dict[str, Any]]:
    return await Event.select().where(Event.order == order_id).order_by(Event.id)


async def event_kinds(order_id: int) -> list[str]:
    return [e["kind"] for e in await order_events(order_id)]


async def open_issue_codes(order_id: int) -> list[str]:
    rows = (
        await ReviewIssue.select(ReviewIssue.code)
        .where((ReviewIssue.order == order_id) & ReviewIssue.resolved_at.is_null())
        .order_by(ReviewIssue.id)
    )
    return [r["code"] for r in rows]


async def outbox_for(order_id: int) -> list[dict[str, Any]]:
    return await OutboxMessage.select().where(OutboxMessage.order == order_id).order_by(OutboxMessage.id)


async def shipped_quantity(line_id: int) -> int:
    rows = await ShipmentLine.select(ShipmentLine.quantity).where(ShipmentLine.order_line == line_id)
    return sum(r["quantity"] for r in rows)


async def counters_match_orders() -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """(trigger-maintained counters without zero rows, counts from scanning orders)."""
    counters = {
        (r["channel_id"], r["status"]): int(r["n"]) for r in await OrderStatusCount.select() if int(r["n"]) != 0
    }
    scanned = {
        (r["channel"], r["status"]): int(r["n"])
        for r in await db.fetch("SELECT channel, status, COUNT(*) AS n FROM orders GROUP BY channel, status")
    }
    return counters, scanned


async def add_supplier(name: str, kind: str, base_url: str, secrets: dict, prepaid: bool = False) -> int:
    """A supplier with encrypted credentials; returns its id."""
    rows = await Supplier.insert(
        Supplier(
            name=name,
            kind=kind,
            base_url=base_url,
            credentials=credentials.encrypt(secrets),
            prepaid=prepaid,
            created_at=now(),
        )
    ).returning(Supplier.id)
    return rows[0]["id"]


@contextlib.asynccontextmanager
async def served_app(settings) -> AsyncIterator[str]:
    """The app on a loopback port, served by uvicorn in this test's event loop; yields its base URL."""
    await db.close_pool()  # the app's lifespan opens its own pool in this loop
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    from web.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
