"""An order's page: why it needs review, its lines, supplier orders, shipments and audit trail."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.conftest import Pages, World, make_order, order_id

pytestmark = pytest.mark.e2e


def section(page: Page, name: str):
    return page.get_by_role("region", name=name, exact=True)


def test_open_an_order_from_pending_review_and_read_its_reason_and_audit_trail(pages: Pages, world: World) -> None:
    oid = order_id("REV")
    world.import_order(make_order(oid, first_name="Léa", last_name="", lines=[("E2E-REV-1", 3, 1250)]))
    page = pages.new("admin")
    page.goto("/orders?tab=pending_review")
    page.get_by_role("link", name=oid, exact=True).click()

    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    expect(page).to_have_title(f"Order {oid} · Waybill")
    expect(page.get_by_role("heading", name=f"Order {oid}", level=1)).to_be_visible()
    review = section(page, "Needs review")
    expect(review).to_contain_text("Missing surname")
    expect(review.get_by_role("listitem")).to_have_count(1)
    expect(section(page, "Customer and delivery address")).to_contain_text("(no surname)")

    summary = section(page, "Summary")
    expect(summary).to_contain_text("Pending review")
    expect(summary).to_contain_text("E2E Shop")
    expect(summary).to_contain_text("€37.50")

    lines = section(page, "Lines")
    expect(lines.get_by_role("row").filter(has_text="E2E-REV-1")).to_contain_text("€12.50")

    audit = section(page, "Audit trail")
    header = audit.get_by_role("row").first
    expect(header.get_by_role("columnheader")).to_have_text(["Time", "Actor", "Event", "Details"])
    rows = audit.locator("tbody").get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Review issue opened")
    expect(rows.nth(1)).to_contain_text("Imported")  # newest first
    expect(rows.nth(1)).to_contain_text("E2E Shop")

    page.get_by_role("link", name="← Orders").click()
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()


def test_order_with_supplier_order_and_shipment(pages: Pages, world: World) -> None:
    oid = order_id("SHIP")
    internal = world.import_order(make_order(oid, lines=[("E2E-SHIP-1", 2, 1995)]), channel="mall")
    world.send_to_supplier(internal)
    world.ship(internal, "E2ETRACK0001")
    page = pages.new("admin")
    page.goto(f"/orders/{internal}")

    expect(page.get_by_role("heading", name=f"Order {oid}", level=1)).to_be_visible()
    expect(section(page, "Summary")).to_contain_text("Shipped")
    expect(section(page, "Summary")).to_contain_text("CZK 39.90")
    expect(page.get_by_role("region", name="Needs review")).to_have_count(0)
    expect(section(page, "Order history").get_by_role("row").filter(has_text="E2E Dropship")).to_contain_text(
        f"WB-E2E-{internal}"
    )
    shipment = section(page, "Shipments").locator("tbody").get_by_role("row")
    expect(shipment).to_have_count(1)
    expect(shipment).to_contain_text("E2E Post")
    expect(shipment).to_contain_text("E2ETRACK0001")
    expect(shipment).to_contain_text("E2E-SHIP-1 × 2")
    expect(section(page, "Audit trail")).to_contain_text("Shipment added")

    # The tracking number is searchable from the dashboard.
    page.goto("/orders")
    page.get_by_role("searchbox", name="Search orders").fill("e2etrack0001")
    expect(page.get_by_role("region", name="Order list").locator("tbody").get_by_role("link")).to_have_text([oid])


def test_unknown_order_gives_a_404_page(pages: Pages, world: World) -> None:
    world.import_order(make_order(order_id("404"), last_name=""))
    page = pages.new("admin")
    response = page.goto("/orders/987654321")
    assert response is not None and response.status == 404
    expect(page).to_have_title("Not found · Waybill")
    expect(page.get_by_role("heading", name="Not found", level=1)).to_be_visible()
    expect(page.get_by_text("Order 987654321 does not exist.")).to_be_visible()
    # The layout still works: the menu is there and the red dot fills in right away.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=re.compile(r"^Orders, \d+ orders? pending review$"))).to_be_visible()

    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_text("There is nothing at this address.")).to_be_visible()
    page.get_by_role("link", name="Back to orders").click()
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()


HOSTILE_FIRST = "<script>alert(1)</script>"
HOSTILE_LAST = '<img src=x onerror="alert(2)">'
HOSTILE_STREET = "<b>1</b> rue <svg onload=alert(3)>"


def test_hostile_text_from_a_marketplace_is_shown_as_text(pages: Pages, world: World) -> None:
    oid = order_id("XSS")
    internal = world.import_order(
        make_order(oid, first_name=HOSTILE_FIRST, last_name=HOSTILE_LAST, street=HOSTILE_STREET)
    )
    page = pages.new("admin")
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    page.goto(f"/orders?q={oid}")
    row = page.get_by_role("region", name="Order list").get_by_role("row").filter(has_text=oid)
    expect(row).to_contain_text(f"{HOSTILE_FIRST} {HOSTILE_LAST}")

    page.goto(f"/orders/{internal}")
    address = page.get_by_role("region", name="Customer and delivery address")
    expect(address).to_contain_text(HOSTILE_FIRST)
    expect(address).to_contain_text(HOSTILE_LAST)
    expect(address).to_contain_text(HOSTILE_STREET)
    assert page.locator("main img, main svg, main script, main b").count() == 0

    # Text typed into the search box and the address bar comes back escaped too.
    page.goto("/orders?q=%3Cimg%20src%3Dx%20onerror%3Dalert(4)%3E&tab=%3Cscript%3Ealert(5)%3C/script%3E")
    expect(page.get_by_role("searchbox", name="Search orders")).to_have_value("<img src=x onerror=alert(4)>")
    expect(page.get_by_role("status").filter(has_text="Unknown tab")).to_contain_text("<script>alert(5)</script>")
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("main img, main script").count() == 0
