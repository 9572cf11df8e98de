"""The orders dashboard as a merchant uses it: red dot, tabs, search, filters and CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from models.core.app_settings import DEFAULT_TIMEZONE
from tests.e2e.conftest import Pages, World, days_ago, make_order, order_id

pytestmark = pytest.mark.e2e


def orders_nav_name(count: int) -> str:
    return f"Orders, {count} order{'s' if count != 1 else ''} pending review"


def order_list(page: Page):
    return page.get_by_role("region", name="Order list")


def shown_ids(page: Page):
    """The order links of the list, newest first (a locator: `expect` retries until htmx has swapped)."""
    return order_list(page).locator("tbody a.order-link")


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def mark_document(page: Page) -> None:
    """A flag that survives htmx swaps but not a page load."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded instead of swapping a fragment"


def test_red_dot_counts_orders_pending_review_and_refreshes_itself(pages: Pages, world: World) -> None:
    world.import_order(make_order(order_id("DOT"), last_name=""))
    page = pages.new("admin")
    page.clock.install()  # the badge polls every 15 s: move the page's clock instead of waiting
    page.goto("/orders")
    before = world.pending_review_count()
    nav = page.get_by_role("navigation", name="Main")
    orders_link = nav.get_by_role("link", name=orders_nav_name(before), exact=True)
    expect(orders_link).to_be_visible()
    expect(orders_link).to_have_attribute("aria-current", "page")
    expect(orders_link.locator(".red-dot")).to_have_text(str(before))

    mark_document(page)
    world.import_order(make_order(order_id("DOT"), last_name=""))
    world.import_order(make_order(order_id("DOT"), postcode="ABC"))
    page.clock.fast_forward("00:16")

    updated = nav.get_by_role("link", name=orders_nav_name(before + 2), exact=True)
    expect(updated).to_be_visible()
    expect(updated.locator(".red-dot")).to_have_text(str(before + 2))
    expect(updated).to_have_attribute("aria-current", "page")
    assert_not_reloaded(page)


def test_pending_review_tab_swaps_the_list_in_place_and_pushes_the_url(pages: Pages, world: World) -> None:
    waiting = order_id("TAB")
    blocked = order_id("TAB")
    world.import_order(make_order(waiting))
    world.import_order(make_order(blocked, last_name=""))
    page = pages.new("admin")
    page.goto("/orders")
    mark_document(page)

    tabs = page.get_by_role("navigation", name="Order status")
    tabs.get_by_role("link", name=re.compile(r"^Pending review")).click()

    expect(page).to_have_url(re.compile(r"/orders\?tab=pending_review$"))
    expect(tabs.get_by_role("link", name=re.compile(r"^Pending review"))).to_have_attribute("aria-current", "page")
    row = order_list(page).get_by_role("row").filter(has=page.get_by_role("link", name=blocked, exact=True))
    expect(row).to_contain_text("Pending review")
    expect(row).to_contain_text("Missing surname")
    expect(shown_ids(page).filter(has_text=waiting)).to_have_count(0)
    assert_not_reloaded(page)

    tabs.get_by_role("link", name=re.compile(r"^Awaiting acceptance")).click()
    expect(page).to_have_url(re.compile(r"tab=awaiting_acceptance$"))
    expect(shown_ids(page).filter(has_text=waiting)).to_have_count(1)
    expect(shown_ids(page).filter(has_text=blocked)).to_have_count(0)

    page.go_back()
    expect(page).to_have_url(re.compile(r"tab=pending_review$"))
    expect(shown_ids(page).filter(has_text=blocked)).to_have_count(1)
    assert_not_reloaded(page)


def test_search_by_name_ignores_accents_and_case_and_finds_order_ids_and_skus(pages: Pages, world: World) -> None:
    older = order_id("SRCH")
    newer = order_id("SRCH")
    other = order_id("SRCH")
    world.import_order(make_order(older, first_name="Zoë", last_name="Nováčková", placed_at=days_ago(2)))
    world.import_order(make_order(newer, first_name="Jiří", last_name="Nováčková", placed_at=days_ago(1)))
    world.import_order(
        make_order(other, last_name="Ødegård", lines=[("E2E-SRCH-ZZ9", 1, 990)], placed_at=days_ago(1.5)),
        channel="mall",
    )
    page = pages.new("admin")
    page.goto("/orders")
    mark_document(page)
    search = page.get_by_role("searchbox", name="Search orders")

    search.fill("novackova")  # no accents, lower case
    expect(shown_ids(page)).to_have_text([newer, older])
    expect(page).to_have_url(re.compile(r"q=novackova"))

    search.fill("NOVÁČKOVÁ jiri")  # upper case with accents; every word must match
    expect(shown_ids(page)).to_have_text([newer])

    search.fill(other)
    page.get_by_role("button", name="Search").click()
    expect(shown_ids(page)).to_have_text([other])

    search.fill("e2e-srch-zz9")
    search.press("Enter")
    expect(shown_ids(page)).to_have_text([other])
    row = order_list(page).get_by_role("row").filter(has_text=other)
    expect(row).to_contain_text("Ødegård")
    expect(row).to_contain_text("CZK 9.90")

    search.fill("odegard nobody")
    expect(order_list(page)).to_contain_text("Nothing matches these filters")
    assert_not_reloaded(page)


def _merchant_date(days_back: int) -> str:
    today = dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()
    return (today - dt.timedelta(days=days_back)).isoformat()


def test_filters_by_channel_supplier_and_dates(pages: Pages, world: World) -> None:
    recent = order_id("FLT")
    routed = order_id("FLT")
    old = order_id("FLT")
    world.import_order(make_order(recent, last_name="Kovářová", placed_at=days_ago(1)))
    routed_id = world.import_order(make_order(routed, last_name="Kovářová", placed_at=days_ago(3)), channel="mall")
    world.send_to_supplier(routed_id)
    world.import_order(make_order(old, last_name="Kovářová", placed_at=days_ago(40)))
    page = pages.new("admin")
    page.goto("/orders?q=kovarova")
    expect(shown_ids(page)).to_have_text([recent, routed, old])
    tabs = page.get_by_role("navigation", name="Order status")
    expect(tabs.get_by_role("link", name="All 3", exact=True)).to_be_visible()
    expect(tabs.get_by_role("link", name="Processing 1", exact=True)).to_be_visible()

    page.get_by_label("Channel").select_option(label="E2E MALL")
    expect(shown_ids(page)).to_have_text([routed])
    expect(page).to_have_url(re.compile(rf"channel={world.channels['mall']['id']}"))

    page.get_by_label("Channel").select_option(label="All channels")
    page.get_by_label("Supplier").select_option(label="E2E Dropship")
    expect(shown_ids(page)).to_have_text([routed])

    page.get_by_label("Supplier").select_option(label="All suppliers")
    expect(shown_ids(page)).to_have_text([recent, routed, old])
    page.get_by_label("From").fill(_merchant_date(10))
    expect(shown_ids(page)).to_have_text([recent, routed])
    page.get_by_label("To").fill(_merchant_date(2))
    expect(shown_ids(page)).to_have_text([routed])
    assert query_of(page)["from"] == [_merchant_date(10)]

    # The filtered view is a plain link too: reloading shows the same orders with the fields filled in.
    page.reload()
    expect(shown_ids(page)).to_have_text([routed])
    expect(page.get_by_label("From")).to_have_value(_merchant_date(10))
    expect(page.get_by_role("searchbox", name="Search orders")).to_have_value("kovarova")


def test_csv_export_holds_exactly_the_filtered_view(pages: Pages, world: World) -> None:
    ids = [order_id("CSV") for _ in range(4)]
    for days, oid in enumerate(ids, 1):
        world.import_order(make_order(oid, last_name="Exportová", placed_at=days_ago(days)))
    world.import_order(make_order(order_id("CSV"), last_name="Exportová"), channel="mall")
    world.import_order(make_order(order_id("CSV"), last_name="Exportová", postcode="??"), channel="shop")
    page = pages.new("admin")
    page.goto("/orders")
    page.get_by_role("searchbox", name="Search orders").fill("exportova")
    expect(shown_ids(page)).to_have_count(6)
    page.get_by_label("Channel").select_option(label="E2E Shop")
    expect(shown_ids(page)).to_have_count(5)
    page.get_by_role("navigation", name="Order status").get_by_role(
        "link", name=re.compile(r"^Awaiting acceptance")
    ).click()
    expect(shown_ids(page)).to_have_text(ids)
    expect(page.get_by_text("4 orders match these filters")).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("orders-awaiting_acceptance-")
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Channel order id"] for r in rows] == shown_ids(page).all_inner_texts()
    assert {r["Channel"] for r in rows} == {"E2E Shop"}
    assert {r["Status"] for r in rows} == {"Awaiting acceptance"}
    assert {r["Customer"] for r in rows} == {"Zoë Exportová"}
    assert rows[0]["Total"] == "84.80" and rows[0]["Currency"] == "EUR"
