"""Process and Resolve from the orders dashboard, row by row, as in a multi-supplier order tool."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import make_order
from tests.e2e import test_supplier_dispatch as dispatch_flows
from tests.e2e.conftest import order_id
from tests.e2e.test_supplier_dispatch import SUPPLIER, reference, sandbox

pytestmark = pytest.mark.e2e

#: The BigBuy sandbox supplier of the dispatch flows, shared.
bigbuy = dispatch_flows.bigbuy


def test_process_from_the_dashboard_row_and_resolve_a_blocked_order(pages, world, server, bigbuy, tmp_path):
    sandbox(server, "POST", "wallet", {"balance": "1000.00"})
    ready_id, blocked_id = order_id("ROWP"), order_id("ROWR")
    ready = world.import_order(make_order(ready_id, needs_acceptance=False, lines=[("BB-1001", 1, 1990)]))
    blocked = world.import_order(make_order(blocked_id, needs_acceptance=False, lines=[("NOT-IN-CATALOG", 1, 990)]))
    page = pages.new("operator")

    page.goto(f"{server}/orders?q={ready_id}")
    row = page.get_by_role("row").filter(has_text=ready_id)
    expect(row).to_contain_text("Awaiting fulfillment")
    expect(row.get_by_role("link", name="Resolve")).to_have_count(0)
    tabs = page.get_by_role("navigation", name="Order status")
    expect(tabs.get_by_role("link", name="Awaiting fulfillment")).to_contain_text("1")
    expect(tabs.get_by_role("link", name="Processing")).to_contain_text("0")
    row.get_by_role("button", name="Process").click()
    expect(row.get_by_role("status")).to_contain_text(f"Created at {SUPPLIER}")
    expect(row).to_contain_text("Processing")
    expect(row.get_by_role("button", name="Process")).to_have_count(0)
    # The tab counts of the list follow the order, still for this search.
    expect(tabs.get_by_role("link", name="Awaiting fulfillment")).to_contain_text("0")
    expect(tabs.get_by_role("link", name="Processing")).to_contain_text("1")
    expect(page.locator("#results-summary")).to_have_text("1 order matches these filters")
    page.screenshot(path=str(tmp_path / "dashboard-processed.png"), full_page=True)
    at_bigbuy = sandbox(server, "GET", f"orders/{reference(ready, bigbuy)}")
    assert at_bigbuy is not None and at_bigbuy["operations"]["create"] == 1

    page.goto(f"{server}/orders?q={blocked_id}")
    row = page.get_by_role("row").filter(has_text=blocked_id)
    row.get_by_role("button", name="Process").click()
    expect(row.get_by_role("status")).to_contain_text("Unknown SKU: NOT-IN-CATALOG")
    expect(row).to_contain_text("Pending review")
    row.get_by_role("link", name="Resolve").click()
    expect(page).to_have_url(f"{server}/orders/{blocked}#fulfilment")
    expect(page.get_by_role("region", name="Needs review")).to_contain_text("Unknown SKU: NOT-IN-CATALOG")
    expect(page.get_by_role("button", name="Resubmit order")).to_be_visible()


def test_a_viewer_sees_no_process_or_resolve_on_the_dashboard(pages, world, server, bigbuy):
    ready_id = order_id("ROWV")
    world.import_order(make_order(ready_id, needs_acceptance=False, lines=[("BB-1001", 1, 1990)]))
    page = pages.new("viewer")
    page.goto(f"{server}/orders?q={ready_id}")
    row = page.get_by_role("row").filter(has_text=ready_id)
    expect(row).to_contain_text("Awaiting fulfillment")
    expect(row.get_by_role("button", name="Process")).to_have_count(0)

