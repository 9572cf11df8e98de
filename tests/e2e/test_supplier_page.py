"""A merchant opens a supplier: imports a catalog CSV (progress, summary, the bad row), adds a shipping
mapping, and refreshes the wallet from the BigBuy sandbox."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from connectors.sandbox.bigbuy import DEFAULT_API_KEY
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import Supplier
from tests.e2e.conftest import Pages, World

pytestmark = pytest.mark.e2e

#: The e2e server's secret key (tests/e2e/conftest.py), which encrypts supplier credentials.
SERVER_SECRET_KEY = "e2e-" + "s" * 60
ROWS = 1204
BAD_LINE = 602
#: A cost no column could hold, in the second chunk: refused on its own, the rest of its chunk imported.
TOO_LARGE_LINE = 1000


def control(server: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server}/sandbox/bigbuy/_control/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def bigbuy_supplier(world: World, server: str, name: str) -> int:
    """A BigBuy supplier on the server's sandbox, stored the way the app stores suppliers."""
    credentials.configure(SERVER_SECRET_KEY)

    async def work() -> int:
        rows = await Supplier.insert(
            Supplier(
                name=name,
                kind="bigbuy",
                base_url=f"{server}/sandbox/bigbuy",
                credentials=credentials.encrypt({"api_key": DEFAULT_API_KEY}),
                prepaid=True,
                wallet_balance=100,
                created_at=now(),
            )
        ).returning(Supplier.id)
        return rows[0]["id"]

    return world.run(work)


def catalog_file(folder: Path) -> Path:
    lines = ["channel_sku,supplier_sku,cost,currency,priority"]
    lines += [f"E2E-CAT-{n:05d},BB-{n:05d},{n % 40 + 1}.50,EUR,10" for n in range(1, ROWS + 1)]
    lines[BAD_LINE - 1] = "E2E-CAT-BAD,BB-BAD,12;30,EUR,10"
    lines[TOO_LARGE_LINE - 1] = "E2E-CAT-HUGE,BB-HUGE,99999999999999999999.00,EUR,10"
    path = folder / "bigbuy-catalog.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def keep_screenshot(target: Page | Locator, name: str) -> None:
    """With WAYBILL_E2E_SCREENSHOTS set, keep a screenshot of the page (or one part of it) there."""
    folder = os.environ.get("WAYBILL_E2E_SCREENSHOTS")
    if folder:
        options = {"full_page": True} if isinstance(target, Page) else {}
        target.screenshot(path=str(Path(folder) / f"{name}.png"), **options)


def test_supplier_page_catalog_import_shipping_mapping_and_wallet(
    pages: Pages, world: World, server: str, tmp_path: Path
) -> None:
    supplier_id = bigbuy_supplier(world, server, "E2E BigBuy")
    control(server, "wallet", {"balance": "456.78"})

    page = pages.new("operator")
    page.goto("/suppliers")
    page.get_by_role("link", name="E2E BigBuy").click()
    expect(page).to_have_url(re.compile(rf"/suppliers/{supplier_id}$"))
    expect(page.get_by_role("heading", name="E2E BigBuy", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Suppliers")).to_be_visible()
    wallet = page.get_by_role("region", name="Wallet", exact=True)
    expect(wallet.get_by_label("Wallet balance")).to_have_text("€1.00")

    # Catalog: every chunk moves the bar; at the end, the summary and the two bad rows by line.
    page.evaluate(
        """() => {
            window.progressSeen = [];
            new MutationObserver(() => {
                const bar = document.querySelector('#catalog-import progress');
                if (bar) window.progressSeen.push(Number(bar.value));
            }).observe(document.getElementById('catalog-import'), {childList: true, subtree: true});
        }"""
    )
    catalog = page.get_by_role("region", name="Catalog")
    catalog.get_by_label("Catalog CSV file").set_input_files(catalog_file(tmp_path))
    catalog.get_by_role("button", name="Import catalog").click()
    done = catalog.get_by_role("progressbar", name=re.compile("Imported bigbuy-catalog.csv"))
    expect(done).to_have_attribute("value", str(ROWS))
    expect(done).to_have_attribute("max", str(ROWS))
    expect(catalog.get_by_role("status").filter(has_text="rows:")).to_have_text(
        "1,204 rows: 1,202 added, 0 updated, 2 with errors"
    )
    errors = catalog.get_by_role("table", name="Rows with errors")
    expect(errors.get_by_role("row")).to_have_count(3)
    expect(errors.get_by_role("row").nth(1).get_by_role("cell")).to_have_text(
        [str(BAD_LINE), "Cost “12;30” is not an amount (write it like 12.30)."]
    )
    expect(errors.get_by_role("row").nth(2).get_by_role("cell")).to_have_text(
        [
            str(TOO_LARGE_LINE),
            "Cost “99999999999999999999.00” is too large: a cost must be at most 99,999,999.99.",
        ]
    )
    seen = page.evaluate("window.progressSeen")
    assert {500, 1000, ROWS} <= set(seen), f"the bar moved chunk by chunk: {seen}"
    expect(catalog.get_by_text("1,202 entries in all")).to_be_visible()  # the table refreshed itself
    catalog.get_by_label("Search SKU").fill("e2e-cat-0120")
    entries = catalog.get_by_role("table", name=re.compile("^Catalog of E2E BigBuy"))
    expect(entries.get_by_role("cell", name="BB-01200")).to_be_visible()
    expect(entries.locator("tbody tr")).to_have_count(5)  # 01200 … 01204

    # Shipping mapping: added, listed, and a second one for the same rate refused with a reason.
    mappings = page.get_by_role("region", name="Shipping mappings")
    mappings.get_by_label("Channel", exact=True).select_option(label="E2E Shop")
    mappings.get_by_label("Channel rate").fill("Free shipping")
    mappings.get_by_label("Method").fill("UPS Ground")
    mappings.get_by_role("button", name="Add mapping").click()
    row = mappings.get_by_role("row").filter(has_text="Free shipping")
    expect(row).to_contain_text("E2E Shop")
    expect(row).to_contain_text("UPS Ground")
    expect(mappings.get_by_role("status")).to_have_text("Mapping added: “Free shipping” → “UPS Ground”.")
    mappings.get_by_label("Channel rate").fill("Free shipping")
    mappings.get_by_label("Method").fill("GLS")
    mappings.get_by_role("button", name="Add mapping").click()
    expect(mappings.get_by_text("A mapping for “Free shipping” on E2E Shop already exists.")).to_be_visible()
    expect(mappings.get_by_label("Method")).to_have_value("GLS")
    keep_screenshot(mappings, "supplier-mapping-duplicate")
    mappings.get_by_role("link", name="Edit mapping for “Free shipping” on E2E Shop").click()
    mappings.get_by_label("Method for “Free shipping” on E2E Shop").fill("UPS Standard")
    keep_screenshot(mappings, "supplier-mapping-edit")
    mappings.get_by_role("button", name="Save").click()
    expect(mappings.get_by_role("row").filter(has_text="Free shipping")).to_contain_text("UPS Standard")

    # Wallet: the sandbox's balance, refreshed just now.
    wallet.get_by_role("button", name="Refresh wallet").click()
    expect(wallet.get_by_label("Wallet balance")).to_have_text("€456.78")
    expect(wallet.get_by_role("status")).to_have_text("Balance refreshed.")
    expect(wallet).to_contain_text("Refreshed just now")
    keep_screenshot(page, "supplier-page-1400")

    narrow = pages.new("operator", viewport={"width": 800, "height": 900})
    narrow.goto(f"/suppliers/{supplier_id}")
    expect(narrow.get_by_role("heading", name="E2E BigBuy", level=1)).to_be_visible()
    keep_screenshot(narrow, "supplier-page-800")
    overflow = narrow.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the supplier page scrolls sideways at 800px"


def test_viewer_sees_the_supplier_page_without_controls(pages: Pages, world: World, server: str) -> None:
    supplier_id = bigbuy_supplier(world, server, "E2E BigBuy (viewer)")
    page = pages.new("viewer")
    page.goto(f"/suppliers/{supplier_id}")
    expect(page.get_by_role("heading", name="E2E BigBuy (viewer)", level=1)).to_be_visible()
    main = page.get_by_role("main")
    for name in ("Refresh wallet", "Import catalog", "Add mapping"):
        expect(main.get_by_role("button", name=name)).to_have_count(0)
    expect(main.get_by_role("searchbox", name="Search SKU")).to_be_visible()


def test_a_file_that_is_not_a_catalog_is_refused_with_what_to_do(
    pages: Pages, world: World, server: str, tmp_path: Path
) -> None:
    supplier_id = bigbuy_supplier(world, server, "E2E BigBuy (refusals)")
    workbook = tmp_path / "catalog.xlsx"
    workbook.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(200))
    page = pages.new("admin")
    page.goto(f"/suppliers/{supplier_id}")
    catalog = page.get_by_role("region", name="Catalog")
    catalog.get_by_label("Catalog CSV file").set_input_files(workbook)
    catalog.get_by_role("button", name="Import catalog").click()
    expect(catalog.get_by_role("alert")).to_contain_text("This is not a CSV file")
    expect(catalog.get_by_role("alert")).to_contain_text("Nothing was imported.")
    keep_screenshot(catalog, "supplier-upload-refused")
    expect(catalog.get_by_text("0 entries in all")).to_be_visible()
