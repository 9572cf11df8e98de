"""The channel engine against sandbox marketplaces over real HTTP, with faults injected.

Every order must be imported exactly once and every outbox message applied exactly once on the
marketplace, whatever errors, rate limits, timeouts and malformed bodies happen on the way.
"""

from __future__ import annotations

import json

import httpx
import pytest

import connectors.base
from connectors.sandbox.backmarket import BackMarketSandbox
from connectors.sandbox.mirakl import MiraklSandbox
from jobs.dispatcher import dispatch_due
from jobs.importer import sync_channel
from models.accounts import credentials
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import Carrier, Channel, Order, OrderLine, OutboxMessage, ReviewIssue, SyncIssue
from models.fulfilment.shipping import add_shipment
from models.orders.acceptance import accept_order
from models.orders.lifecycle import LineStatus, OrderStatus

MARKETPLACES = {
    "mirakl": (MiraklSandbox, {"api_key": "sandbox-mirakl-key"}),
    "backmarket": (BackMarketSandbox, {"token": "sandbox-backmarket-token"}),
}
try:
    from connectors.sandbox.mall import MallSandbox

    MARKETPLACES["mall"] = (MallSandbox, {"client_id": "sandbox-mall-client"})
except ImportError:  # pragma: no cover - the MALL sandbox lands separately
    pass

FAULTS = {
    "error_rate": 0.12,
    "rate_limit_rate": 0.08,
    "retry_after_s": 0,
    "malformed_rate": 0.05,
    "timeout_rate": 0.05,
    "timeout_s": 1.2,
}


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connectors.base, "DEFAULT_TIMEOUT", httpx.Timeout(0.8))


async def make_channel(kind: str, base_url: str, creds: dict[str, str], **extra) -> dict:
    await Channel.insert(
        Channel(
            name=f"{kind} sandbox",
            kind=kind,
            base_url=base_url,
            credentials=credentials.encrypt(creds),
            currency="CZK" if kind == "mall" else "EUR",
            created_at=now(),
            **extra,
        )
    )
    return await Channel.select().where(Channel.kind == kind).first()


async def import_until_done(channel: dict, client: httpx.AsyncClient, expected: int, rounds: int = 40) -> None:
    for _ in range(rounds):
        # A failed run keeps what it imported; the next run carries on.
        run = await sync_channel(channel["id"], client)
        if await Order.count().where(Order.channel == channel["id"]) >= expected:
            return
    raise AssertionError(f"import did not complete: {run.summary}")


async def dispatch_until_done(client: httpx.AsyncClient, rounds: int = 60) -> None:
    for _ in range(rounds):
        # Skip the backoff waits: make every pending message due now.
        await OutboxMessage.update({OutboxMessage.next_attempt_at: now()}).where(OutboxMessage.state == "pending")
        await dispatch_due(client, limit=100)
        if not await OutboxMessage.exists().where(OutboxMessage.state == "pending"):
            return
    raise AssertionError("outbox did not drain")


def assert_no_duplicate_operations(sandbox) -> None:
    seen = [(op, oid, json.dumps(details, sort_keys=True, default=str)) for op, oid, details in sandbox.operations]
    duplicates = {entry for entry in seen if seen.count(entry) > 1}
    assert not duplicates, f"applied more than once: {sorted(duplicates)[:5]}"


@pytest.mark.parametrize("kind", sorted(MARKETPLACES))
async def test_orders_imported_and_messages_applied_exactly_once_under_faults(kind, database_url, serve_sandbox):
    sandbox_cls, creds = MARKETPLACES[kind]
    sandbox = sandbox_cls(seed=3)
    sandbox.generate_orders(40)
    base_url = serve_sandbox(sandbox)
    channel = await make_channel(kind, base_url, creds)
    await Carrier.insert(Carrier(name="DHL", code="DHL", tracking_url_pattern="https://dhl.example/{tracking}"))
    carrier = await Carrier.select().first()
    sandbox.faults.update({**FAULTS, "seed": 11})

    async with httpx.AsyncClient() as client:
        await import_until_done(channel, client, expected=40)
        # Re-reading everything again changes nothing.
        await sync_channel(channel["id"], client)
        ids = [r["channel_order_id"] for r in await Order.select(Order.channel_order_id)]
        assert len(ids) == len(set(ids)) == 40

        waiting = await Order.select(Order.id).where(Order.status == OrderStatus.AWAITING_ACCEPTANCE)
        assert waiting, "the sandbox should have orders waiting for acceptance"
        for row in waiting:
            await accept_order(row["id"], Actor.user("tester"))
        await dispatch_until_done(client)

        accepted = await Order.select(Order.id, Order.channel_order_id).where(
            Order.status == OrderStatus.AWAITING_FULFILLMENT
        )
        for row in accepted[:10]:
            lines = await OrderLine.select().where(
                (OrderLine.order == row["id"]) & (OrderLine.status == LineStatus.ACCEPTED)
            )
            await add_shipment(
                row["id"],
                {line["id"]: line["quantity"] for line in lines},
                Actor.user("tester"),
                carrier_id=carrier["id"],
                tracking_number=f"TRK{row['id']:08d}",
            )
        await dispatch_until_done(client)

    sandbox.faults.update({"error_rate": 0, "rate_limit_rate": 0, "malformed_rate": 0, "timeout_rate": 0})
    assert_no_duplicate_operations(sandbox)
    gave_up = await OutboxMessage.select(OutboxMessage.action, OutboxMessage.last_error).where(
        OutboxMessage.state != "done"
    )
    assert gave_up == []
    accepted_ids = {
        row["channel_order_id"]
        for row in await Order.select(Order.channel_order_id).where(Order.id.is_in([r["id"] for r in waiting]))
    }
    touched = {oid for op, oid, _ in sandbox.operations}
    assert accepted_ids <= touched, "every accepted order reached the marketplace"
    # The faults left connection issues behind, and the successful retries resolved them.
    assert await SyncIssue.count() > 0
    assert not await SyncIssue.exists().where(SyncIssue.outbox.is_not_null() & SyncIssue.resolved_at.is_null())


async def test_a_step_the_channel_refuses_is_not_sent_and_the_order_is_flagged(database_url, serve_sandbox):
    sandbox = MiraklSandbox(seed=5)
    order_id = sandbox.generate_orders(1)[0]
    base_url = serve_sandbox(sandbox)
    channel = await make_channel("mirakl", base_url, {"api_key": "sandbox-mirakl-key"})
    async with httpx.AsyncClient() as client:
        await sync_channel(channel["id"], client)
        order = await Order.select().where(Order.channel_order_id == order_id).first()
        # The customer cancelled on the marketplace after our last poll.
        sandbox.set_state(order_id, "CANCELED")
        await Order.update({Order.channel_status: "CANCELED"}).where(Order.id == order["id"])
        await Order.update({Order.status: OrderStatus.AWAITING_ACCEPTANCE}).where(Order.id == order["id"])
        await accept_order(order["id"], Actor.user("tester"))
        await dispatch_due(client)
    message = await OutboxMessage.select().where(OutboxMessage.action == "accept").first()
    assert message["state"] == "failed"
    assert "CANCELED" in message["last_error"]
    assert sandbox.operation_count("accept", order_id) == 0
    issue = await ReviewIssue.select().where(ReviewIssue.order == order["id"]).first()
    assert issue["code"] == "channel_sync_failed"
    assert await SyncIssue.exists().where(SyncIssue.operation == "accept")


async def test_wrong_credentials_show_the_marketplace_message(database_url, serve_sandbox):
    sandbox = MiraklSandbox(seed=5)
    sandbox.generate_orders(2)
    base_url = serve_sandbox(sandbox)
    channel = await make_channel("mirakl", base_url, {"api_key": "wrong"})
    async with httpx.AsyncClient() as client:
        run = await sync_channel(channel["id"], client)
    assert not run.ok
    issue = await SyncIssue.select().first()
    assert issue["operation"] == "order_import"
    assert issue["remote_message"]
    stored = await Channel.select().where(Channel.id == channel["id"]).first()
    assert stored["last_import_ok"] is False
    assert stored["import_cursor"] is None


async def test_channel_cancellation_is_followed_and_closed_unknown_orders_are_not_imported(database_url, serve_sandbox):
    sandbox = MiraklSandbox(seed=8)
    first, _second = sandbox.generate_orders(2)
    base_url = serve_sandbox(sandbox)
    channel = await make_channel("mirakl", base_url, {"api_key": "sandbox-mirakl-key"})
    async with httpx.AsyncClient() as client:
        await sync_channel(channel["id"], client)
        assert await Order.count() == 2
        sandbox.set_state(first, "CANCELED")  # the customer cancelled on the marketplace
        closed_elsewhere = sandbox.generate_orders(1)[0]
        sandbox.set_state(closed_elsewhere, "CLOSED")  # handled before the shop was connected
        await sync_channel(channel["id"], client)
        await dispatch_due(client)
    cancelled = await Order.select().where(Order.channel_order_id == first).first()
    assert cancelled["status"] == OrderStatus.CANCELLED
    assert cancelled["channel_status"] == "CANCELED"
    assert not await Order.exists().where(Order.channel_order_id == closed_elsewhere)
    assert sandbox.operation_count("cancel", first) == 0, "a cancellation the channel made is not sent back"
    assert not await OutboxMessage.exists().where(OutboxMessage.action == "cancel")
