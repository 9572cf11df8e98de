"""An admin adds a BigBuy supplier on the e2e server's BigBuy sandbox, refreshes its wallet, then edits it."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from connectors.sandbox.bigbuy import DEFAULT_API_KEY
from tests.e2e.conftest import Pages

pytestmark = pytest.mark.e2e

NAME = "Form-added BigBuy"


def set_wallet(server: str, balance: str) -> None:
    request = urllib.request.Request(
        f"{server}/sandbox/bigbuy/_control/wallet",
        data=json.dumps({"balance": balance}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def keep_screenshot(page, name: str) -> None:
    """With WAYBILL_E2E_SCREENSHOTS set, keep a full-page screenshot there."""
    folder = os.environ.get("WAYBILL_E2E_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_add_a_bigbuy_supplier_refresh_its_wallet_and_edit_it(pages: Pages, server: str) -> None:
    page = pages.new("admin")
    page.goto("/suppliers")
    page.get_by_role("link", name="Add supplier").click()
    expect(page.get_by_role("heading", name="Add supplier", level=1)).to_be_visible()
    expect(page.get_by_label("Kind")).to_have_value("bigbuy")
    expect(page.get_by_label("Prepaid wallet")).to_be_checked()

    # ShipBob asks for its token and channel id, and has no wallet; back to BigBuy.
    page.get_by_label("Kind").select_option(label="ShipBob")
    expect(page.get_by_label("Personal access token")).to_be_visible()
    expect(page.get_by_label("Channel id")).to_be_visible()
    expect(page.get_by_label("API key")).to_be_hidden()
    expect(page.get_by_label("Prepaid wallet")).to_be_disabled()
    page.get_by_label("Kind").select_option(label="BigBuy")
    expect(page.get_by_label("Prepaid wallet")).to_be_checked()
    expect(page.get_by_label("Personal access token")).to_be_hidden()

    # A bad URL: a clear message under the field, and nothing typed is lost.
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("API base URL").fill("sandbox/bigbuy")
    page.get_by_label("API key").fill(DEFAULT_API_KEY)
    page.get_by_role("button", name="Add supplier").click()
    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below; nothing was saved.")
    expect(page.get_by_label("API base URL")).to_have_accessible_description(
        re.compile(r"Enter the API base URL, starting with https://")
    )
    expect(page.get_by_label("Name")).to_have_value(NAME)
    expect(page.get_by_label("API key")).to_have_value(DEFAULT_API_KEY)
    keep_screenshot(page, "supplier-form-errors")

    page.get_by_label("API base URL").fill(f"{server}/sandbox/bigbuy")
    page.get_by_role("button", name="Add supplier").click()
    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Supplier added.")).to_be_visible()
    expect(page.get_by_text("API key stored")).to_be_visible()
    expect(page.get_by_text(DEFAULT_API_KEY)).to_have_count(0)

    set_wallet(server, "789.01")
    wallet = page.get_by_role("region", name="Wallet", exact=True)
    wallet.get_by_role("button", name="Refresh wallet").click()
    expect(wallet.get_by_role("status")).to_have_text("Balance refreshed.")
    expect(wallet.get_by_label("Wallet balance")).to_have_text("€789.01")

    # Edit: the key is kept when left empty; pausing shows on the page and in the list.
    page.get_by_role("link", name="Edit supplier").click()
    expect(page.get_by_role("heading", name=f"Edit {NAME}", level=1)).to_be_visible()
    expect(page.get_by_label("API key")).to_have_value("")
    expect(page.get_by_label("API key")).to_have_attribute("placeholder", "stored — leave empty to keep")
    keep_screenshot(page, "supplier-form-edit")
    page.get_by_label("Active").uncheck()
    page.get_by_role("button", name="Save supplier").click()
    expect(page.get_by_role("status").filter(has_text="Supplier saved.")).to_be_visible()
    expect(page.get_by_text("Paused").first).to_be_visible()
    wallet.get_by_role("button", name="Refresh wallet").click()
    expect(wallet.get_by_role("status")).to_have_text("Balance refreshed.")  # the stored key still works

    page.goto("/suppliers")
    row = page.get_by_role("row").filter(has_text=NAME)
    expect(row).to_contain_text("(paused)")
    expect(row).to_contain_text("€789.01")


def test_an_operator_has_no_add_or_edit_supplier(pages: Pages, server: str) -> None:
    page = pages.new("operator")
    page.goto("/suppliers")
    expect(page.get_by_role("heading", name="Suppliers", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Add supplier")).to_have_count(0)
    page.get_by_role("link", name="E2E Dropship", exact=True).click()
    expect(page.get_by_role("heading", name="E2E Dropship", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Edit supplier")).to_have_count(0)
    response = page.goto("/suppliers/new")
    assert response is not None and response.status == 403
    expect(page.get_by_text("Only admins can do this; your role is operator.")).to_be_visible()
