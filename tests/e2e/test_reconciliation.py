"""An operator runs the reconciliation from the Channels area and resyncs what drifted."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from models import credentials
from models.clock import now
from models.tables import Channel
from tests.e2e.conftest import SERVER_SECRET, order_id
from tests.e2e.test_channels import mirakl_order

pytestmark = pytest.mark.e2e

CHANNEL = "Reconciled Mirakl (e2e)"


def control(server: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server}/sandbox/mirakl/_control/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def add_channel(world, server: str) -> None:
    async def work() -> None:
        credentials.configure(SERVER_SECRET)
        if not await Channel.exists().where(Channel.name == CHANNEL):
            await Channel.insert(
                Channel(
                    name=CHANNEL,
                    kind="mirakl",
                    base_url=f"{server}/sandbox/mirakl",
                    credentials=credentials.encrypt({"api_key": "sandbox-mirakl-key"}),
                    created_at=now(),
                )
            )

    world.run(work)


def test_reconciliation_finds_a_lost_and_a_mismatched_order_and_resync_fixes_both(pages, server, world, tmp_path):
    add_channel(world, server)
    control(server, "faults", {"error_rate": 0})
    cancelled, lost = order_id("REC"), order_id("REC")
    control(server, "orders", mirakl_order(cancelled, "Dvořák"))

    page = pages.new("operator")
    page.goto("/channels")
    page.get_by_role("button", name=f"Sync now {CHANNEL}").click()
    expect(page.get_by_text("Synced:").first).to_be_visible()
    # Behind Waybill's back: a new order it has not polled yet, and a customer cancellation.
    control(server, "orders", mirakl_order(lost, "Müller"))
    control(server, f"orders/{cancelled}/state", {"order_state": "CANCELED"})

    page.get_by_role("link", name="Reconciliation").click()
    expect(page.get_by_role("heading", name="Reconciliation")).to_be_visible()
    page.get_by_label("Channel").select_option(label=CHANNEL)
    page.get_by_role("button", name="Run reconciliation").click()
    findings = page.get_by_role("table", name="Findings")
    lost_row = findings.get_by_role("row").filter(has_text=lost)
    cancelled_row = findings.get_by_role("row").filter(has_text=cancelled)
    expect(lost_row).to_contain_text("Lost")
    expect(lost_row).to_contain_text("The channel has this open order; Waybill does not.")
    expect(cancelled_row).to_contain_text("Mismatched")
    expect(cancelled_row).to_contain_text("CANCELED")
    expect(page.get_by_role("list", name="Totals")).to_contain_text("lost")
    shot = Path(tmp_path) / "reconciliation.png"
    page.screenshot(path=str(shot), full_page=True)

    lost_row.get_by_role("button", name=f"Resync {CHANNEL} order {lost}").click()
    resynced = findings.get_by_role("row").filter(has_text=lost)
    expect(resynced).to_contain_text("Resynced. Imported from the channel.")
    expect(resynced.get_by_role("link", name=lost)).to_be_visible()
    cancelled_row.get_by_role("button", name=f"Resync {CHANNEL} order {cancelled}").click()
    expect(findings.get_by_role("row").filter(has_text=cancelled)).to_contain_text("Now cancelled.")

    page.get_by_role("button", name="Run reconciliation").click()
    expect(page.get_by_role("heading", name="orders checked")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=lost)).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text=cancelled)).to_have_count(0)


def test_viewers_cannot_open_the_reconciliation(pages):
    page = pages.new("viewer")
    page.goto("/channels")
    expect(page.get_by_role("link", name="Reconciliation")).to_have_count(0)
    response = page.goto("/channels/reconciliation")
    assert response is not None and response.status == 403
