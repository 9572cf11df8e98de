"""Hostile marketplace data: markup, SQL fragments, 100 kB strings and odd Unicode in every field of an
imported order. The dashboard shows it as text, runs none of it, keeps its layout, and search with the
same strings answers normally."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Pages, World, make_order, order_id

#: Each one sets `window.__hostile` or opens a dialog if it ever runs.
SCRIPT = "<script>window.__hostile='script';alert('script')</script>"
IMG = "\"'><img src=x onerror=\"window.__hostile='img';alert('img')\">"
SVG = "<svg onload=\"window.__hostile='svg';alert('svg')\"></svg>"
SQL = "'; DROP TABLE orders; -- 1' OR '1'='1"
RTL = "\u202etxt.exe\u202c"
ZERO_WIDTH = "Zero\u200bWidth\u200dJoin\ufeff"
COMBINING = "Z\u0334\u0327\u0354a\u0338l\u0337g\u0336o\u0335"
EMOJI = "📦🚚👩‍👩‍👧🏳️‍🌈"
NUL = "nul\x00byte"
LONG = "W" * 100_000  # one 100 kB word: the worst case for wrapping
LONG_MARKUP = (SCRIPT + " ") * 1_700  # 100 kB of script tags

SEARCHES = [SCRIPT, IMG, SVG, SQL, RTL, ZERO_WIDTH, COMBINING, EMOJI, NUL, LONG[:2000], "%", "_", "\\", "'", '"']

#: Installed before any page script: counts what would mean hostile data ran.
WATCH = "window.__hostile = null;"


def hostile_order(channel_order_id: str):
    incoming = make_order(
        channel_order_id,
        first_name=IMG + EMOJI,
        last_name=SCRIPT + RTL,
        street=LONG,
        postcode="<i>75</i>\u200b",
        lines=[("SKU-<b>1</b>'--\u202e", 2, 1990), ("SKU-" + EMOJI + COMBINING, 1, 500)],
    )
    incoming.lines[0].title = LONG_MARKUP
    incoming.lines[1].title = SVG + ZERO_WIDTH + NUL
    incoming.delivery.company = SQL
    incoming.delivery.street2 = COMBINING + NUL
    incoming.delivery.city = ZERO_WIDTH + EMOJI
    incoming.delivery.region = SVG
    incoming.delivery.phone = "+33\u200b" + IMG[:40]
    incoming.customer_email = "x@<script>.example"
    incoming.customer_phone = SQL
    incoming.shipping_rate = SCRIPT
    return incoming


def watch(page: Page) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.add_init_script(WATCH)
    return dialogs


def assert_nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert dialogs == [], f"a dialog opened on {page.url}: {dialogs}"
    assert page.evaluate("window.__hostile") is None, f"hostile markup ran on {page.url}"
    assert page.locator("img[src='x'], svg[onload], i:text-is('75')").count() == 0, "markup became elements"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def keep_screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("WAYBILL_E2E_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"hostile-{name}.png"), full_page=True)


def test_hostile_marketplace_data_is_shown_as_text_and_never_runs(pages: Pages, world: World) -> None:
    oid = order_id("HOSTILE<s>'")  # (order ids are checked for wrapping by other tests: no bidi controls here)
    internal = world.import_order(hostile_order(oid))
    page = pages.new("operator")
    dialogs = watch(page)

    page.goto(f"/orders/{internal}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(oid)
    body = page.locator("main")
    expect(body).to_contain_text("<script>window.__hostile='script'")
    expect(body).to_contain_text("DROP TABLE orders")
    expect(body).to_contain_text("SKU-<b>1</b>'--")
    expect(body).to_contain_text(EMOJI)
    keep_screenshot(page, "order")
    assert_nothing_ran(page, dialogs)
    page.get_by_role("link", name="Edit delivery address").click()  # an htmx fragment with the values in inputs
    expect(page.get_by_label("Company")).to_have_value(SQL)
    expect(page.get_by_label("Region")).to_have_value(SVG)
    keep_screenshot(page, "address-form")
    assert_nothing_ran(page, dialogs)

    page.goto("/orders?tab=all")
    row = page.get_by_role("region", name="Order list").get_by_role("row").filter(has_text=oid)
    expect(row).to_contain_text("<script>window.__hostile")
    keep_screenshot(page, "list")
    assert_nothing_ran(page, dialogs)

    search = page.get_by_role("searchbox", name="Search orders")
    search.fill(oid)
    search.press("Enter")
    expect(page.get_by_role("region", name="Order list").get_by_role("link", name=oid)).to_be_visible()
    assert_nothing_ran(page, dialogs)
    for text in (SCRIPT, IMG, SQL, COMBINING, EMOJI):
        search.fill(text)
        search.press("Enter")
        expect(page.get_by_role("region", name="Order list")).to_be_visible()
        assert_nothing_ran(page, dialogs)
    keep_screenshot(page, "search")


def test_search_with_hostile_strings_errs_nowhere(pages: Pages, world: World) -> None:
    world.import_order(hostile_order(order_id("HOSTILE-SEARCH")))
    page = pages.new("viewer")
    dialogs = watch(page)
    for text in SEARCHES:
        for path in (f"/orders?tab=all&q={quote(text)}", f"/orders/export.csv?q={quote(text)}"):
            response = page.request.get(path)
            assert response.status < 500, (path[:80], response.status)
        answer = page.request.get(f"/orders?q={quote(text)}", headers={"HX-Request": "true", "HX-Target": "results"})
        assert answer.status == 200, (text[:40], answer.status)
    page.goto(f"/orders?q={quote(SCRIPT)}")
    expect(page.get_by_role("searchbox", name="Search orders")).to_have_value(SCRIPT)
    assert_nothing_ran(page, dialogs)


def _left(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box["x"]


#: Where a piece of text is drawn: the left edge of its first character's box, or null if absent.
TEXT_LEFT = """([root, text]) => {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(text);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + 1);
    return range.getBoundingClientRect().left;
  }
  return null;
}"""


def _text_left(locator: Locator, text: str) -> float:
    left = locator.evaluate(f"(root, text) => ({TEXT_LEFT})([root, text])", text)
    assert left is not None, f"{text!r} is not shown"
    return left


def test_an_unclosed_right_to_left_override_stays_inside_its_field(pages: Pages, world: World) -> None:
    """U+202E left open in one field would reverse everything after it on the same line: the surname
    would be drawn before the first name, the city before the postcode."""
    incoming = make_order(order_id("BIDI"), first_name="Eve\u202e", last_name="Zedsurname", postcode="75\u202e")
    incoming.delivery.city = "Parisville"
    internal = world.import_order(incoming)
    page = pages.new("viewer")

    page.goto(f"/orders/{internal}")
    address = page.locator("#delivery-address")
    first = address.locator("address bdi", has_text="Eve")
    last = address.locator("address bdi", has_text="Zedsurname")
    assert _left(first) < _left(last), "the surname moved before the first name"
    postcode = address.locator("address bdi", has_text="75")
    city = address.locator("address bdi", has_text="Parisville")
    assert _left(postcode) < _left(city), "the city moved before the postcode"
    # The validator quotes the postcode in its message: the rest of the message still reads forwards.
    review = page.locator("#review-issues")
    assert _text_left(review, "is not a valid") < _text_left(review, "expected a format"), "the message runs backwards"
    keep_screenshot(page, "bidi-order")

    page.goto(f"/orders?tab=all&q={quote(incoming.channel_order_id)}")
    row = page.get_by_role("region", name="Order list").get_by_role("row").filter(has_text="Zedsurname")
    assert _left(row.locator("bdi", has_text="Eve")) < _left(row.locator("bdi", has_text="Zedsurname"))
