"""After a wallet top-up, the merchant resubmits every wallet-blocked order from the supplier page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import make_order
from tests.e2e import test_supplier_dispatch as dispatch_flows
from tests.e2e.conftest import order_id
from tests.e2e.test_supplier_dispatch import SUPPLIER, reference, sandbox

pytestmark = pytest.mark.e2e

#: The BigBuy sandbox supplier of the dispatch flows, shared.
bigbuy = dispatch_flows.bigbuy


def test_wallet_too_low_top_up_then_resubmit_all_sends_each_order_exactly_once(
    pages,
    world,
    server,
    bigbuy,
    tmp_path,
):
    sandbox(server, "POST", "wallet", {"balance": "1.00"})
    orders = [
        world.import_order(make_order(order_id("RALL"), needs_acceptance=False, lines=[("BB-1001", 1, 1990)]))
        for _ in range(3)
    ]
    page = pages.new("operator")
    for order in orders:
        page.goto(f"{server}/orders/{order}")
        page.get_by_role("button", name="Process").click()
        expect(page.get_by_role("alert")).to_contain_text("Insufficient wallet balance: 1.00 EUR available")

    page.goto(f"{server}/suppliers/{bigbuy['id']}")
    held = page.get_by_role("region", name="Orders held for the wallet")
    expect(held).to_contain_text(re.compile(r"\d+ orders wait because the wallet at BigBuy E2E was too low"))
    sandbox(server, "POST", "wallet/topup", {"amount": "500.00"})
    held.get_by_role("button", name="Resubmit all").click()
    summary = held.get_by_role("status")
    expect(summary).to_contain_text(re.compile(rf"Resubmitted \d+ orders: \d+ sent to {SUPPLIER}\."))
    expect(held).to_contain_text("No order is held for the wallet.")
    expect(held.get_by_role("progressbar")).to_have_attribute("value", re.compile(r"[1-9]\d*"))
    expect(page.locator("#orders-waiting")).to_contain_text("None")
    expect(page.get_by_role("region", name="Wallet", exact=True)).not_to_contain_text("1.00 €")
    held.get_by_text("Each order").click()
    table = held.get_by_role("table", name="Resubmitted orders")
    for order in orders:
        expect(table.get_by_role("row").filter(has=page.locator(f'a[href="/orders/{order}"]'))).to_contain_text("Sent")
    page.screenshot(path=str(tmp_path / "resubmit-all.png"), full_page=True)

    references = [o["internalReference"] for o in sandbox(server, "GET", "orders")["orders"]]
    for order in orders:
        assert references.count(reference(order, bigbuy)) == 1
        page.goto(f"{server}/orders/{order}")
        expect(page.locator("#order-status")).to_have_text("Processing")
