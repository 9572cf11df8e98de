"""Every page: reachable from the main menu, fitting a narrow window, and honest about roles."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from models.orders.lifecycle import TAB_STATUSES
from tests.e2e.conftest import Pages, World, make_order, order_id

pytestmark = pytest.mark.e2e

TABS = list(TAB_STATUSES)

MENU = [
    ("Suppliers", "/suppliers", "Suppliers"),
    ("Channels", "/channels", "Channels"),
    ("Metrics", "/metrics", "Metrics"),
    ("Connection issues", "/connection-issues", "Connection issues"),
    ("Settings", "/settings", "Settings"),
]


def test_main_menu_reaches_every_area(pages: Pages, world: World) -> None:
    page = pages.new("operator")
    page.goto("/orders")
    nav = page.get_by_role("navigation", name="Main")
    for label, path, heading in MENU:
        nav.get_by_role("link", name=label, exact=True).click()
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_attribute("aria-current", "page")
    page.goto("/suppliers")
    expect(page.get_by_role("row").filter(has_text="E2E Dropship")).to_contain_text("€123.45")
    page.goto("/channels")
    expect(page.get_by_role("row").filter(has_text="E2E MALL")).to_be_visible()
    nav.get_by_role("link", name=re.compile(r"^Orders")).click()
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()


def test_viewer_sees_settings_without_any_control_to_change_them(pages: Pages) -> None:
    page = pages.new("viewer")
    page.goto("/settings")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    expect(page.get_by_role("combobox", name="Time zone")).to_have_count(0)
    expect(page.get_by_text("Time zone: Europe/")).to_be_visible()
    expect(page.get_by_text("Only admins can change the time zone.")).to_be_visible()
    main = page.get_by_role("main")
    expect(main.get_by_role("button")).to_have_count(0)
    expect(main.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_role("heading", name="Users")).to_have_count(0)
    expect(page.get_by_role("banner")).to_contain_text("viewer")

    admin = pages.new("admin")
    admin.goto("/settings")
    for control in ("Save time zone", "Add user"):
        expect(admin.get_by_role("button", name=control)).to_be_visible()
    admin.goto("/account")
    for control in ("Change password", "Create token", "Log out everywhere"):
        expect(admin.get_by_role("button", name=control)).to_be_visible()


def test_viewer_changes_nothing_through_the_settings_forms(pages: Pages) -> None:
    """Even a form posted by hand is refused for a viewer, with an explanation."""
    page = pages.new("viewer")
    page.goto("/settings")
    response = page.evaluate(
        """async () => {
            const token = document.querySelector('input[name=_csrf_token]').value;
            const body = new URLSearchParams({_csrf_token: token, name: 'sneaky'});
            const r = await fetch('/settings/tokens', {method: 'POST', body});
            return {status: r.status, text: await r.text()};
        }"""
    )
    assert response["status"] == 403
    assert "can view orders but not change them" in response["text"]


def _keep_screenshot(page: Page, path: str, width: int) -> None:
    """With WAYBILL_E2E_SCREENSHOTS=<dir>, keep a full-page picture of each page for a human to look at."""
    folder = os.environ.get("WAYBILL_E2E_SCREENSHOTS")
    if folder:
        name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)


def _overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("width", [1400, 800])
def test_pages_fit_the_window_and_order_ids_stay_on_one_line(pages: Pages, world: World, width: int) -> None:
    oid = order_id("WIDE-ORDER-ID")
    internal = world.import_order(make_order(oid, last_name="", lines=[("E2E-WIDE-SKU-0001", 1, 100)] * 3))
    shipped = world.import_order(make_order(order_id("WIDE-SHIPPED"), lines=[("E2E-WIDE-SKU-0002", 4, 1999)]))
    world.send_to_supplier(shipped)
    world.ship(shipped, f"E2EWIDE{shipped:08d}")
    page = pages.new("admin", viewport={"width": width, "height": 900})
    for path in [
        "/orders",
        *(f"/orders?tab={tab}" for tab in TABS),
        f"/orders/{internal}",
        f"/orders/{shipped}",
        "/suppliers",
        "/channels",
        "/metrics",
        "/metrics?period=90",
        "/connection-issues",
        "/settings",
        "/orders/999999999",
    ]:
        page.goto(path)
        _keep_screenshot(page, path, width)
        assert _overflow(page) <= 0, f"{path} scrolls sideways at {width}px"
    page.goto("/orders?tab=pending_review")
    links = page.get_by_role("region", name="Order list").locator("tbody").get_by_role("link")
    expect(links.first).to_be_visible()
    wrapped = links.evaluate_all("els => els.filter(e => e.getClientRects().length > 1).map(e => e.textContent)")
    assert wrapped == [], f"order ids broken over lines at {width}px: {wrapped}"

    anonymous = pages.new(viewport={"width": width, "height": 900})
    anonymous.goto("/login")
    _keep_screenshot(anonymous, "/login", width)
    assert _overflow(anonymous) <= 0
    expect(anonymous.get_by_role("button", name="Log in")).to_be_in_viewport()
