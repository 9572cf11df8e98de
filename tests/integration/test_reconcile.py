"""The reconciliation report against the Mirakl and BigBuy sandboxes over HTTP, and its Resync."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys

import httpx
import pytest

from jobs.importer import sync_channel
from jobs.reconciliation import resync_order, run_reconciliation
from models.channels.import_runs import OVERLAP
from models.channels.reconcile import DUPLICATED, LOST, MISMATCHED
from models.core.clock import now
from models.db.tables import Order, OutboxMessage, SupplierOrder
from models.orders.acceptance import accept_order
from tests.reconcile_world import (
    MERCHANT,
    accept_and_send,
    import_cursor_of,
    import_orders_of,
    lost_orders,
    make_world,
    order_id_of,
    orders_dated,
)


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def status_of(order_id: int) -> str:
    return (await Order.select(Order.status).where(Order.id == order_id).first())["status"]


async def test_a_clean_shop_reports_nothing_and_each_kind_of_drift_is_found_and_resynced(
    database_url, serve_sandbox, http
):
    world = await make_world(serve_sandbox, "Reconciled marketplace")
    waiting = await import_orders_of(world, 8, http)
    assert len(waiting) >= 4
    sent, cancelled_there, stuck = waiting[0], waiting[1], waiting[2]
    sent_id = await accept_and_send(world, sent, http)
    assert await status_of(sent_id) == "processing"

    report = await run_reconciliation(client=http)
    assert report.counts == {LOST: 0, DUPLICATED: 0, MISMATCHED: 0}, report.findings
    tally = report.channels[0]
    assert (tally.in_waybill, tally.at_channel, tally.supplier_orders) == (8, 8, 1)
    assert not tally.errors

    # Drift of every kind: an order Waybill never imported (though its import read past it), a
    # cancellation Waybill never heard of, an acceptance that never reached the marketplace, and BigBuy
    # holding another order for our reference.
    (lost,) = await lost_orders(world)
    world.mirakl.set_state(cancelled_there, "CANCELED")
    stuck_id = await order_id_of(world, stuck)
    await accept_order(stuck_id, MERCHANT)
    await OutboxMessage.update({OutboxMessage.state: "gave_up", OutboxMessage.last_error: "Mirakl failed (500)"}).where(
        OutboxMessage.order == stuck_id
    )
    await SupplierOrder.update({SupplierOrder.supplier_order_id: "999999"}).where(SupplierOrder.order == sent_id)

    report = await run_reconciliation(client=http)
    found = {(f.kind, f.channel_order_id): f for f in report.findings}
    assert set(found) == {(LOST, lost), (MISMATCHED, cancelled_there), (MISMATCHED, stuck), (DUPLICATED, sent)}
    assert found[(LOST, lost)].order_id is None and found[(LOST, lost)].resync
    assert report.not_yet_imported == 0
    assert found[(MISMATCHED, cancelled_there)].remote == "CANCELED"
    assert "Mirakl failed (500)" in found[(MISMATCHED, stuck)].detail
    assert not found[(DUPLICATED, sent)].resync  # a second order at the supplier needs a person

    channel_id = world.channel["id"]
    result = await resync_order(channel_id, lost, http)
    assert result.ok and "Imported" in result.message and result.status == "awaiting_acceptance"
    result = await resync_order(channel_id, cancelled_there, http)
    assert result.ok and result.status == "cancelled"
    result = await resync_order(channel_id, stuck, http)
    assert result.ok and "sent again" in result.message and result.status == "awaiting_fulfillment"
    assert world.mirakl.operation_count("accept", stuck) == 1

    report = await run_reconciliation(client=http)
    assert report.counts == {LOST: 0, DUPLICATED: 1, MISMATCHED: 0}, report.findings
    assert await Order.count().where(Order.channel == channel_id) == 9


async def test_an_order_placed_after_the_last_import_is_not_yet_imported_until_the_next_import(
    database_url, serve_sandbox, http
):
    world = await make_world(serve_sandbox, "Busy marketplace")
    # Before any import succeeded, nothing the channel has can be lost: it is all still to be read.
    world.mirakl.generate_orders(2)
    report = await run_reconciliation(client=http)
    assert report.counts == {LOST: 0, DUPLICATED: 0, MISMATCHED: 0}, report.findings
    assert report.not_yet_imported == 2 and report.channels[0].not_yet_imported == 2

    await import_orders_of(world, 3, http)
    cursor = await import_cursor_of(world)
    report = await run_reconciliation(client=http)
    assert report.counts == {LOST: 0, DUPLICATED: 0, MISMATCHED: 0}, report.findings
    assert report.not_yet_imported == 0 and report.checked == 5

    # Placed at the marketplace after the poll read its list, and one changed inside the window the
    # next poll reads again: both wait for that poll. One changed before that window was missed.
    (placed_after,) = world.mirakl.generate_orders(1)
    (in_overlap,) = orders_dated(world, cursor - OVERLAP + dt.timedelta(minutes=1))
    (lost,) = orders_dated(world, cursor - OVERLAP - dt.timedelta(minutes=1))
    report = await run_reconciliation(client=http)
    assert [(f.kind, f.channel_order_id) for f in report.findings] == [(LOST, lost)]
    tally = report.channels[0]
    assert (tally.in_waybill, tally.at_channel, tally.not_yet_imported) == (5, 8, 2)
    assert report.clean is False

    run = await sync_channel(world.channel["id"], http)
    assert run.ok, run.summary
    imported = {
        row["channel_order_id"]
        for row in await Order.select(Order.channel_order_id).where(Order.channel == world.channel["id"])
    }
    assert {placed_after, in_overlap} <= imported and lost not in imported
    report = await run_reconciliation(client=http)
    assert [(f.kind, f.channel_order_id) for f in report.findings] == [(LOST, lost)]
    assert (report.channels[0].in_waybill, report.not_yet_imported) == (7, 0)


async def test_since_limits_the_report_and_an_unreachable_channel_is_said(database_url, serve_sandbox, http):
    world = await make_world(serve_sandbox, "Unreachable marketplace")
    await import_orders_of(world, 3, http)

    report = await run_reconciliation(since=now() + dt.timedelta(minutes=1), client=http)
    assert report.checked == 0 and not report.findings

    world.mirakl.faults.update({"error_rate": 1.0})
    report = await run_reconciliation(client=http)
    assert not report.findings and not report.clean
    assert "could not be read" in report.channels[0].errors[0]


async def test_the_command_prints_the_report_and_resyncs(database_url, serve_sandbox, http):
    world = await make_world(serve_sandbox, "Command marketplace")
    await import_orders_of(world, 3, http)
    (lost,) = await lost_orders(world)
    (fresh,) = world.mirakl.generate_orders(1)  # placed after the import: the next poll reads it
    env = {**os.environ, "WAYBILL_DATABASE_URL": database_url, "WAYBILL_SECRET_KEY": "test-secret-key"}
    command = [
        sys.executable,
        "-c",
        "from web.cli import main; main()",
        "reconcile",
        "--channel",
        "Command marketplace",
    ]

    result = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert f"lost        Command marketplace {lost} (not in Waybill)" in result.stdout
    assert "not yet imported" in result.stdout.splitlines()[0]
    assert fresh not in result.stdout
    assert "3 orders checked: 1 lost, 0 duplicated, 0 mismatched; 1 not yet imported." in result.stdout

    result = await asyncio.to_thread(
        subprocess.run, [*command, "--resync"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Resync Command marketplace {lost}: Imported from the channel." in result.stdout
    assert "4 orders checked: 0 lost, 0 duplicated, 0 mismatched; 1 not yet imported." in result.stdout
