"""The Metrics page in Chromium: open it from the menu, switch channel and period, read figures and charts."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from models.channels.importing import import_orders
from models.core.actors import Actor
from models.core.app_settings import merchant_timezone
from models.core.clock import frozen_at, now
from models.db.tables import Channel, Order, OrderLine
from models.fulfilment.shipping import add_shipment
from models.orders.acceptance import accept_order, decide_line, reject_order
from models.orders.closing import cancel_order
from tests.e2e.conftest import World, make_order, order_id

pytestmark = pytest.mark.e2e

USER = Actor.user("operator")
MARKET = "Metrics Market"
SHOP = "Metrics Shop"


def local_noon(days_ago: int, tz: ZoneInfo) -> dt.datetime:
    day = now().astimezone(tz).date() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(12), tzinfo=tz).astimezone(dt.UTC)


async def _channel(name: str, handling_days: int) -> dict:
    row = await Channel.select().where(Channel.name == name).first()
    if row is None:
        await Channel.insert(Channel(name=name, kind="demo", handling_days=handling_days, created_at=now()))
        row = await Channel.select().where(Channel.name == name).first()
    return row


async def _place(channel: dict, placed: dt.datetime, lines: int = 2, acceptance: bool = True) -> int:
    skus = [("MET-1", 1, 1990), ("MET-2", 1, 2990)][:lines]
    incoming = make_order(order_id("MET"), placed_at=placed, lines=skus, needs_acceptance=acceptance)
    with frozen_at(placed + dt.timedelta(minutes=5)):
        await import_orders(channel, [incoming], Actor.channel(channel["name"]))
    row = (
        await Order.select(Order.id)
        .where((Order.channel == channel["id"]) & (Order.channel_order_id == incoming.channel_order_id))
        .first()
    )
    return row["id"]


async def _ship(order: int, moment: dt.datetime) -> None:
    lines = await OrderLine.select().where((OrderLine.order == order) & (OrderLine.status == "accepted"))
    with frozen_at(moment):
        await add_shipment(order, {line["id"]: line["quantity"] for line in lines}, USER, no_tracking=True)


async def _seed() -> None:
    """Market: one order 3 days ago (accepted, shipped on time), two 20 days ago (one line rejected and
    shipped late; one rejected whole). Shop: one order 2 days ago, accepted on arrival, then cancelled."""
    tz = await merchant_timezone()
    market = await _channel(MARKET, handling_days=2)
    shop = await _channel(SHOP, handling_days=3)
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)

    recent = local_noon(3, tz)
    m1 = await _place(market, recent)
    with frozen_at(recent + 2 * hour):
        await accept_order(m1, USER)
    await _ship(m1, recent + 2 * hour + day)

    older = local_noon(20, tz)
    m2 = await _place(market, older)
    first, second = await OrderLine.select().where(OrderLine.order == m2).order_by(OrderLine.position)
    with frozen_at(older + hour):
        await decide_line(m2, first["id"], True, USER)
        await decide_line(m2, second["id"], False, USER, reason="out_of_stock")
    await _ship(m2, older + hour + 3 * day)
    m3 = await _place(market, older + hour)
    with frozen_at(older + 2 * hour):
        await reject_order(m3, USER, "price_error")

    s1 = await _place(shop, local_noon(2, tz), acceptance=False)
    with frozen_at(local_noon(2, tz) + hour):
        await cancel_order(s1, USER, "customer asked to cancel")


@pytest.fixture(scope="module")
def seeded(world: World) -> None:
    world.run(_seed)


def test_metrics_per_channel_and_period_with_charts(pages, seeded) -> None:
    page = pages.new("operator")
    page.goto("/orders")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Metrics", exact=True).click()
    expect(page.get_by_role("heading", name="Metrics", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute("aria-current", "true")

    page.get_by_label("Channel").select_option(label=MARKET)
    expect(page).to_have_url(re.compile(r"channel=\d+"))
    expect(page.locator("#metrics-scope")).to_contain_text(f"on {MARKET}")
    expect(page.get_by_role("group", name="Fulfilment rate")).to_contain_text("50%")
    expect(page.get_by_role("group", name="Fulfilment rate")).to_contain_text("3 of 6 lines accepted")
    late = page.get_by_role("group", name="Late shipments")
    expect(late).to_contain_text("1 of 2 orders shipped after the ship-by date")
    expect(page.get_by_role("group", name="Median time to accept")).to_contain_text("1 h 30 min")
    expect(page.get_by_role("group", name="Median time to ship")).to_contain_text("2 d")
    for chart in ("Fulfilment rate", "Cancel rate", "Shipped on time and late", "Rejection reasons"):
        expect(page.get_by_role("img", name=re.compile("^" + chart))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("^Rejection reasons"))).to_contain_text("Price error")
    reasons = page.get_by_role("region", name="Rejection reasons", exact=True)
    reasons.get_by_text("Show the numbers").click()
    expect(reasons.get_by_role("row", name=re.compile("Price error"))).to_contain_text("2")
    expect(reasons.get_by_role("row", name=re.compile("Out of stock"))).to_contain_text("1")

    page.get_by_role("link", name="Last 7 days").click()
    expect(page).to_have_url(re.compile(r"period=7"))
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("group", name="Fulfilment rate")).to_contain_text("100%")
    expect(page.get_by_role("group", name="Fulfilment rate")).to_contain_text("2 of 2 lines accepted")
    expect(page.get_by_role("group", name="Rejected lines")).to_contain_text("No rejection")
    expect(page.get_by_role("img", name=re.compile("^Fulfilment rate"))).to_be_visible()

    # Another channel keeps the period.
    page.get_by_label("Channel").select_option(label=SHOP)
    expect(page.locator("#metrics-scope")).to_contain_text(f"on {SHOP}")
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("group", name="Cancel rate")).to_contain_text("100%")
    expect(page.get_by_role("group", name="Cancel rate")).to_contain_text("1 of 1 order cancelled")

    # Custom dates: the market's older orders only.
    page.get_by_label("Channel").select_option(label=MARKET)
    expect(page.locator("#metrics-scope")).to_contain_text(f"on {MARKET}")
    last = page.get_by_label("To", exact=True).input_value()  # today, in the merchant's time zone
    end = dt.date.fromisoformat(last) - dt.timedelta(days=10)
    start = end - dt.timedelta(days=14)
    page.get_by_label("From", exact=True).fill(start.isoformat())
    page.get_by_label("To", exact=True).fill(end.isoformat())
    page.get_by_role("button", name="Apply dates").click()
    expect(page).to_have_url(re.compile(r"period=custom"))
    expect(page.locator("#metrics-scope")).to_contain_text("(15 days)")
    expect(page.get_by_role("group", name="Fulfilment rate")).to_contain_text("1 of 4 lines accepted")
    expect(page.get_by_role("group", name="Late shipments")).to_contain_text("100%")

    # The plain link works without htmx too (a reload shows the same view).
    page.reload()
    expect(page.get_by_role("group", name="Fulfilment rate")).to_contain_text("1 of 4 lines accepted")
