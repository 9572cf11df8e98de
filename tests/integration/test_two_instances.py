"""Two real Waybill instances (`waybill serve`, two processes) share one database and one marketplace.

Both run the scheduler: both poll the channel and both deliver the outbox. Leases must make every
order arrive once and every acceptance reach the marketplace once.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import httpx

from connectors.sandbox.mirakl import MiraklSandbox
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import Channel, Order, OutboxMessage

SECRET = "two-instances-test-secret-key-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_instance(database_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "WAYBILL_DATABASE_URL": database_url,
        "WAYBILL_SECRET_KEY": SECRET,
        "WAYBILL_SCHEDULER": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def wait_healthy(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"instance exited: {process.stderr.read()[-2000:]}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    process.terminate()
    raise AssertionError(f"instance did not become healthy: {process.communicate(timeout=10)[1][-3000:]}")


async def test_two_instances_never_import_or_push_twice(database_url, serve_sandbox):
    sandbox = MiraklSandbox(seed=21)
    order_ids = sandbox.generate_orders(60)
    base_url = serve_sandbox(sandbox)
    credentials.configure(SECRET)
    await Channel.insert(
        Channel(
            name="Shared marketplace",
            kind="mirakl",
            base_url=base_url,
            credentials=credentials.encrypt({"api_key": "sandbox-mirakl-key"}),
            poll_interval_s=10,
            auto_accept=True,
            created_at=now(),
        )
    )
    instances = [start_instance(database_url, free_port()) for _ in range(2)]
    try:
        ports = [int(p.args[p.args.index("--port") + 1]) for p in instances]
        for port, process in zip(ports, instances, strict=True):
            await wait_healthy(port, process)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            imported = await Order.count()
            pending = await OutboxMessage.count().where(OutboxMessage.state == "pending")
            if imported >= 60 and pending == 0 and await OutboxMessage.count() >= 1:
                break
            await asyncio.sleep(0.5)
    finally:
        for process in instances:
            process.terminate()
        for process in instances:
            process.wait(timeout=20)

    rows = await Order.select(Order.channel_order_id, Order.status)
    assert sorted(r["channel_order_id"] for r in rows) == sorted(order_ids)
    accepted = [r["channel_order_id"] for r in rows if r["status"] == "awaiting_fulfillment"]
    assert accepted, "auto-accept should have accepted the valid orders"
    for order_id in accepted:
        assert sandbox.operation_count("accept", order_id) == 1, order_id
    assert await OutboxMessage.count().where(OutboxMessage.state != "done") == 0
    owners = {r["lease_owner"] for r in await OutboxMessage.select(OutboxMessage.lease_owner)}
    entries = [json.dumps([op, oid]) for op, oid, _ in sandbox.operations]
    assert len(entries) == len(set(entries)), "an operation reached the marketplace twice"
    assert owners, "messages were claimed by the instances"
