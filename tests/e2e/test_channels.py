"""A merchant connects a marketplace, imports its orders, and sees a connection issue come and go."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import order_id

pytestmark = pytest.mark.e2e


def control(server: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server}/sandbox/mirakl/_control/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def mirakl_order(channel_order_id: str, last_name: str) -> dict:
    return {
        "order_id": channel_order_id,
        "order_state": "WAITING_ACCEPTANCE",
        "currency_iso_code": "EUR",
        "customer": {
            "firstname": "Zoë",
            "lastname": last_name,
            "shipping_address": {
                "firstname": "Zoë",
                "lastname": last_name,
                "street_1": "12 rue de la Paix",
                "zip_code": "75002",
                "city": "Paris",
                "country_iso_code": "FRA",
            },
        },
        "order_lines": [
            {
                "order_line_id": f"{channel_order_id}-1",
                "offer_sku": "BB-1001",
                "product_title": "Water bottle",
                "quantity": 2,
                "price_unit": 19.9,
                "price": 39.8,
            }
        ],
    }


def test_add_channel_sync_now_and_retry_a_connection_issue(pages, server):
    first, second = order_id("MKE2E"), order_id("MKE2E")
    control(server, "orders", mirakl_order(first, "Ångström"))
    control(server, "orders", mirakl_order(second, ""))  # no surname: will need review

    page = pages.new("admin")
    page.goto("/channels")
    page.get_by_role("link", name="Add channel").click()
    page.get_by_label("Name").fill("Fnac (Mirakl sandbox)")
    page.get_by_label("Kind").select_option("mirakl")
    page.get_by_label("API base URL").fill("not a url")
    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_text("Enter the API base URL")).to_be_visible()  # nothing lost, clear message
    expect(page.get_by_label("Name")).to_have_value("Fnac (Mirakl sandbox)")

    page.get_by_label("API base URL").fill(f"{server}/sandbox/mirakl")
    page.get_by_label("API key").fill("sandbox-mirakl-key")
    page.get_by_label("Poll interval (seconds)").fill("60")
    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_role("heading", name="Fnac (Mirakl sandbox)")).to_be_visible()
    expect(page.get_by_text("API key stored")).to_be_visible()
    expect(page.get_by_role("cell", name="WAITING_ACCEPTANCE")).to_be_visible()  # the status pairing

    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_text("Synced:")).to_contain_text("2 new")
    page.goto(f"/orders?q={first}")
    expect(page.get_by_role("link", name=first)).to_be_visible()
    page.goto("/orders?tab=pending_review")
    expect(page.get_by_role("link", name=second)).to_be_visible()

    # The marketplace starts failing: the next sync shows a connection issue and the banner.
    control(server, "faults", {"error_rate": 1.0})
    page.goto("/channels")
    page.get_by_role("button", name="Sync now Fnac (Mirakl sandbox)").click()
    expect(page.get_by_role("status").filter(has_text="Failed")).to_contain_text("injected fault")
    page.goto("/connection-issues")
    expect(page.get_by_role("status").filter(has_text="Connection issues:")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="order_import").filter(has_text="injected fault")
    expect(row).to_be_visible()

    # Retry while it still fails: it says so.
    row.get_by_role("button", name="Retry").click()
    expect(row).to_contain_text("Still failing")

    # The fault is lifted; Retry succeeds and the banner goes away.
    control(server, "faults", {"error_rate": 0})
    row.get_by_role("button", name="Retry").click()
    expect(row).to_contain_text("Retry succeeded")
    page.reload()
    expect(page.get_by_role("status").filter(has_text="Connection issues:")).to_have_count(0)
