"""An operator runs the reconciliation from the Channels area and resyncs what drifted."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from connectors.mirakl import format_datetime
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import Channel
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
    cancelled, lost, fresh = order_id("REC"), order_id("REC"), order_id("REC")
    control(server, "orders", mirakl_order(cancelled, "Dvořák"))

    page = pages.new("operator")
    page.goto("/channels")
    page.get_by_role("button", name=f"Sync now {CHANNEL}").click()
    expect(page.get_by_text("Synced:").first).to_be_visible()
    # Behind Waybill's back: an order the marketplace dates an hour back, before the window Waybill's
    # next poll reads again (so it is lost), a customer cancellation, and a new order the next poll
    # will read (not yet imported, not lost).
    an_hour_ago = format_datetime(now().replace(microsecond=0) - dt.timedelta(hours=1))
    dated = {"created_date": an_hour_ago, "last_updated_date": an_hour_ago}
    control(server, "orders", {**mirakl_order(lost, "Müller"), **dated})
    control(server, "orders", mirakl_order(fresh, "Novák"))
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
    totals = page.get_by_role("list", name="Totals").get_by_role("listitem")
    expect(totals.filter(has_text="not yet imported")).to_have_text(re.compile(r"^\s*1\s+not yet imported\s*$"))
    tally = page.get_by_role("row").filter(has_text=CHANNEL)
    expect(page.get_by_role("columnheader", name="Not yet imported")).to_be_visible()
    expect(tally.get_by_role("cell").nth(5)).to_have_text("1")
    expect(findings.get_by_role("row").filter(has_text=fresh)).to_have_count(0)
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
    # Resync fixed the findings; the order placed after the sync waits for the next poll, not a finding.
    expect(page.get_by_role("status")).to_contain_text("1 newer order at the channel comes with the next import.")


def test_viewers_cannot_open_the_reconciliation(pages):
    page = pages.new("viewer")
    page.goto("/channels")
    expect(page.get_by_role("link", name="Reconciliation")).to_have_count(0)
    response = page.goto("/channels/reconciliation")
    assert response is not None and response.status == 403
