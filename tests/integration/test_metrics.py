"""Metrics over a known history: orders accepted, rejected, cancelled and shipped at known times.

The history is made with the domain operations themselves, each run at a chosen moment with
`models.core.clock.frozen_at`, so every figure can be checked exactly. The period (24–30 Oct 2026,
Europe/Paris) spans the end of summer time (25 Oct, 01:00 UTC): orders placed late in the evening
on either side of it fall on the right local day only if the day boundaries follow the change.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from models.core.actors import Actor
from models.core.clock import frozen_at, now
from models.db.tables import Channel
from models.fulfilment.shipping import add_shipment
from models.metrics.figures import Period, compute_metrics
from models.orders.acceptance import accept_order, decide_line, reject_order
from models.orders.closing import cancel_order
from tests import databases
from tests.conftest import import_one, login, make_order
from tests.integration.support import order_lines
from web.pages import forget_timezone

PARIS = ZoneInfo("Europe/Paris")
USER = Actor.user("alice")
#: "Now" for every computation: the period's last day, at noon UTC.
NOW = dt.datetime(2026, 10, 30, 12, 0, tzinfo=dt.UTC)
PERIOD = Period(dt.date(2026, 10, 24), dt.date(2026, 10, 30), PARIS)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fresh_timezone_cache():
    forget_timezone()
    yield
    forget_timezone()


@dataclass
class History:
    market: dict
    shop: dict


async def add_channel(name: str, handling_days: int) -> dict:
    await Channel.insert(Channel(name=name, kind="demo", handling_days=handling_days, created_at=now()))
    return await Channel.select().where(Channel.name == name).first()


async def place(channel: dict, order_id: str, placed: dt.datetime, lines: int = 2, acceptance: bool = True) -> int:
    """The channel's order arrives ten minutes after it was placed."""
    skus = [("SKU-1", 2, 1990), ("SKU-2", 1, 4500), ("SKU-3", 1, 900)][:lines]
    incoming = make_order(order_id, placed_at=placed, lines=skus, needs_acceptance=acceptance)
    with frozen_at(placed + dt.timedelta(minutes=10)):
        return await import_one(channel, incoming)


async def ship_everything(order_id: int, moment: dt.datetime) -> None:
    lines = [line for line in await order_lines(order_id) if line["status"] == "accepted"]
    with frozen_at(moment):
        await add_shipment(order_id, {line["id"]: line["quantity"] for line in lines}, USER, no_tracking=True)


@pytest.fixture
async def history(database_url) -> History:
    """Marketplace (handling time 2 days, acceptance by hand) and web shop (3 days, accepted on arrival)."""
    market = await add_channel("Marketplace", handling_days=2)
    shop = await add_channel("Web shop", handling_days=3)

    # 24 Oct 22:30 UTC is 25 Oct 00:30 in Paris (summer time). Accepted after 3 h, shipped a day later.
    a1 = await place(market, "A1", at("2026-10-24 22:30"))
    with frozen_at(at("2026-10-25 01:30")):
        await accept_order(a1, USER)
    await ship_everything(a1, at("2026-10-26 01:30"))

    # One line accepted, one out of stock, after an hour; shipped three days later: late.
    a2 = await place(market, "A2", at("2026-10-25 10:00"))
    first, second = await order_lines(a2)
    with frozen_at(at("2026-10-25 11:00")):
        await decide_line(a2, first["id"], True, USER)
        await decide_line(a2, second["id"], False, USER, reason="out_of_stock")
    await ship_everything(a2, at("2026-10-28 11:00"))

    # Rejected whole (two lines, price error).
    a3 = await place(market, "A3", at("2026-10-26 09:00"))
    with frozen_at(at("2026-10-26 09:30")):
        await reject_order(a3, USER, "price_error")

    # Accepted after 5 h, then cancelled: its line was accepted, the order counts as cancelled.
    a4 = await place(market, "A4", at("2026-10-27 08:00"), lines=1)
    with frozen_at(at("2026-10-27 13:00")):
        await accept_order(a4, USER)
    with frozen_at(at("2026-10-27 14:00")):
        await cancel_order(a4, USER, "customer asked to cancel")

    # Accepted after 2 h, never shipped: past its ship-by date (28 Oct 10:00 + 2 days) at NOW.
    a5 = await place(market, "A5", at("2026-10-28 08:00"), lines=1)
    with frozen_at(at("2026-10-28 10:00")):
        await accept_order(a5, USER)

    # Still waiting for acceptance: placed, nothing decided.
    await place(market, "A7", at("2026-10-29 09:00"))

    # Rejected with a reason of the merchant's own.
    a8 = await place(market, "A8", at("2026-10-29 10:00"), lines=1)
    with frozen_at(at("2026-10-29 10:20")):
        await reject_order(a8, USER, "other", "Discontinued product")

    # Before the period: decided and shipped, and must count nowhere.
    a0 = await place(market, "A0", at("2026-10-23 12:00"))
    first, second = await order_lines(a0)
    with frozen_at(at("2026-10-23 13:00")):
        await decide_line(a0, first["id"], True, USER)
        await decide_line(a0, second["id"], False, USER, reason="cannot_ship_to_address")
    await ship_everything(a0, at("2026-10-27 13:00"))

    # 25 Oct 22:30 UTC is 25 Oct 23:30 in Paris (winter time since 01:00 UTC that day). Accepted on
    # arrival (10 min), shipped 2.5 days later: on time with the shop's 3 days.
    b1 = await place(shop, "B1", at("2026-10-25 22:30"), acceptance=False)
    await ship_everything(b1, at("2026-10-25 22:40") + dt.timedelta(days=2, hours=12))

    # Accepted on arrival, cancelled an hour later: both lines count as accepted.
    b2 = await place(shop, "B2", at("2026-10-26 12:00"), acceptance=False)
    with frozen_at(at("2026-10-26 13:00")):
        await cancel_order(b2, USER, "customer asked to cancel")
    return History(market, shop)


def daily(metrics, field: str) -> dict[int, int]:
    """{day of October: value} for the days where `field` is not zero."""
    return {f.bucket.first_day.day: getattr(f, field) for f in metrics.series if getattr(f, field)}


async def test_marketplace_figures_are_exact(history):
    with frozen_at(NOW):
        metrics = await compute_metrics(PERIOD, history.market["id"])
    totals = metrics.totals
    assert [c.name for c in metrics.channels] == ["Marketplace"]
    assert (totals.orders, totals.cancelled) == (7, 1)
    assert (totals.accepted_lines, totals.rejected_lines) == (5, 4)
    assert totals.fulfilment_rate == pytest.approx(5 / 9)
    assert totals.cancel_rate == pytest.approx(1 / 7)
    assert metrics.rejection_reasons == [("Price error", 2), ("Discontinued product", 1), ("Out of stock", 1)]
    # Times to accept: 1 h, 2 h, 3 h, 5 h → median 2 h 30 min.
    assert metrics.accepted_orders == 4
    assert metrics.median_accept_s == 9000
    # Times to ship: 1 day (on time), 3 days (late, handling time 2 days) → median 2 days.
    assert (totals.shipped, totals.late) == (2, 1)
    assert metrics.median_ship_s == 2 * 86400
    assert metrics.overdue == 1


async def test_each_order_counts_on_its_local_day_across_the_change_of_time(history):
    with frozen_at(NOW):
        metrics = await compute_metrics(PERIOD, history.market["id"])
    assert [f.bucket.first_day.day for f in metrics.series] == [24, 25, 26, 27, 28, 29, 30]
    assert daily(metrics, "orders") == {25: 2, 26: 1, 27: 1, 28: 1, 29: 2}
    assert daily(metrics, "accepted_lines") == {25: 3, 27: 1, 28: 1}
    assert daily(metrics, "rejected_lines") == {25: 1, 26: 2, 29: 1}
    assert daily(metrics, "cancelled") == {27: 1}
    assert daily(metrics, "shipped") == {25: 2}
    assert daily(metrics, "late") == {25: 1}
    assert metrics.series[1].fulfilment_rate == pytest.approx(3 / 4)
    assert metrics.series[0].fulfilment_rate is None


async def test_each_channel_has_its_own_handling_time(history):
    with frozen_at(NOW):
        shop = await compute_metrics(PERIOD, history.shop["id"])
        every = await compute_metrics(PERIOD, None)
    # Shipped 2.5 days after acceptance: on time for the shop's 3 days (it would be late at 2).
    assert (shop.totals.shipped, shop.totals.late) == (1, 0)
    assert (shop.totals.orders, shop.totals.cancelled) == (2, 1)
    assert (shop.totals.accepted_lines, shop.totals.rejected_lines) == (4, 0)
    assert shop.median_accept_s == 600
    assert shop.median_ship_s == 2.5 * 86400
    assert daily(shop, "orders") == {25: 1, 26: 1}

    assert [c.name for c in every.channels] == ["Marketplace", "Web shop"]
    assert (every.totals.orders, every.totals.cancelled) == (9, 2)
    assert (every.totals.accepted_lines, every.totals.rejected_lines) == (9, 4)
    assert (every.totals.shipped, every.totals.late) == (3, 1)
    # 10 min, 10 min, 1 h, 2 h, 3 h, 5 h → (1 h + 2 h) / 2; 1 d, 2.5 d, 3 d → 2.5 d.
    assert every.median_accept_s == 5400
    assert every.median_ship_s == 2.5 * 86400
    assert every.overdue == 1


async def test_a_period_without_orders_has_no_rates(history):
    quiet = Period(dt.date(2026, 9, 1), dt.date(2026, 9, 30), PARIS)
    metrics = await compute_metrics(quiet, None)
    assert metrics.totals.orders == 0
    assert metrics.totals.fulfilment_rate is None and metrics.totals.cancel_rate is None
    assert metrics.median_accept_s is None and metrics.median_ship_s is None
    assert metrics.rejection_reasons == []
    assert len(metrics.series) == 30


async def test_a_long_period_is_counted_week_by_week(history):
    year = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31), PARIS)
    with frozen_at(NOW):
        metrics = await compute_metrics(year, history.market["id"])
    assert year.weekly
    assert metrics.series[0].bucket.first_day == dt.date(2026, 1, 1)  # a Thursday: the first week is cut
    assert metrics.series[1].bucket.first_day == dt.date(2026, 1, 5)
    assert all(f.bucket.first_day.weekday() == 0 for f in metrics.series[1:])
    weeks = {f.bucket.first_day: (f.orders, f.accepted_lines, f.rejected_lines) for f in metrics.series if f.orders}
    # A0 (23 Oct) is in the week of 19 Oct; A1–A5 and A7–A8 (25–29 Oct) in the weeks of 19 and 26 Oct.
    assert weeks == {dt.date(2026, 10, 19): (3, 4, 2), dt.date(2026, 10, 26): (5, 2, 3)}
    assert metrics.totals.orders == 8


async def test_metrics_page_shows_the_figures_and_charts(client, users, history):
    await login(client, "viewer")
    query = f"channel={history.market['id']}&period=custom&from=2026-10-24&to=2026-10-30"
    with frozen_at(NOW):
        response = await client.get(f"/metrics?{query}")
    assert response.status_code == 200, response.text
    page = response.text
    assert '<a href="/metrics" aria-current="page">Metrics</a>' in page
    tiles = dict(re.findall(r'data-kpi="(\w+)">.*?class="kpi-value">([^<]+)<', page, re.S))
    assert tiles == {
        "fulfilment": "55.6%",
        "cancel": "14.3%",
        "rejected": "4",
        "accept": "2 h 30 min",
        "ship": "2 d",
        "late": "50%",
    }
    assert "5 of 9 lines accepted" in page
    assert "1 of 7 orders cancelled" in page
    assert "1 accepted order placed in this period is past its ship-by date and not shipped in full yet." in page
    for chart in ("fulfilment", "cancel", "shipping", "reasons"):
        assert f'<svg class="chart chart-{chart}"' in page
        assert f'aria-labelledby="chart-{chart}-title chart-{chart}-desc"' in page
    assert "Fulfilment rate 55.6% over the period: 5 of 9 lines accepted, 4 rejected." in page
    assert "Price error: 2 lines (50%); Discontinued product: 1 line (25%); Out of stock: 1 line (25%)." in page
    assert '<th scope="row">Sun 25 Oct 2026</th><td class="num">3</td><td class="num">1</td>' in page
    assert "Marketplace: 2 days" in page and "Web shop: 3 days" not in page  # only the channel shown


async def test_switching_channel_over_htmx_swaps_only_the_metrics(client, users, history):
    await login(client, "operator")
    with frozen_at(NOW):
        response = await client.get(
            f"/metrics?channel={history.shop['id']}&preset=&from=2026-10-24&to=2026-10-30",
            headers={"HX-Request": "true", "HX-Target": "metrics-body"},
        )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="metrics-body"')
    assert "<html" not in response.text
    assert "on <strong>Web shop</strong>" in response.text
    assert "4 of 4 lines accepted" in response.text


@pytest.mark.parametrize(
    ("query", "warning"),
    [
        ("period=custom&from=2026-10-30&to=2026-10-01", "The “from” date is after the “to” date"),
        ("period=custom&from=yesterday&to=2026-10-01", "The “from” date “yesterday” is not a date"),
        ("period=custom&from=2020-01-01&to=2026-10-01", "A period can be at most two years long"),
        ("period=365", "Unknown period “365”: showing the last 30 days."),
        ("channel=999", "That channel does not exist (any more): showing all channels."),
    ],
)
async def test_bad_filters_are_explained_and_keep_what_was_typed(client, users, history, query, warning):
    await login(client, "viewer")
    response = await client.get(f"/metrics?{query}")
    assert response.status_code == 200
    assert warning in response.text.replace("&#34;", '"')
    if "yesterday" in query:
        assert 'name="from" value="yesterday"' in response.text


async def test_handling_time_is_set_on_the_channel_form(client, users, history):
    await login(client, "admin")
    channel_id = history.market["id"]
    form_page = await client.get(f"/channels/{channel_id}/edit")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form_page.text).group(1)
    fields = {
        "_csrf_token": token,
        "name": "Marketplace",
        "kind": "mirakl",
        "base_url": "https://market.example.com",
        "poll_interval_s": "300",
        "currency": "EUR",
        "active": "on",
    }
    refused = await client.post(f"/channels/{channel_id}", data={**fields, "handling_days": "0"})
    assert refused.status_code == 400
    assert "Enter a whole number of days from 1 to 60." in refused.text
    assert 'name="handling_days" inputmode="numeric" value="0"' in refused.text
    saved = await client.post(f"/channels/{channel_id}", data={**fields, "handling_days": "4"})
    assert saved.status_code == 200
    assert "4 days from acceptance" in saved.text
    assert (await Channel.select(Channel.handling_days).where(Channel.id == channel_id).first())["handling_days"] == 4


async def test_beyond_the_limit_sqlite_medians_come_from_an_even_sample_and_say_so(client, users, history, monkeypatch):
    """PostgreSQL computes exact medians itself at any size; SQLite samples beyond the limit."""
    monkeypatch.setattr("models.metrics.figures.EXACT_MEDIAN_LIMIT", 2)
    with frozen_at(NOW):
        metrics = await compute_metrics(PERIOD, history.market["id"])
    assert metrics.median_ship_s == 2 * 86400  # two shipped orders: within the limit either way
    await login(client, "viewer")
    with frozen_at(NOW):
        page = (await client.get(f"/metrics?channel={history.market['id']}&from=2026-10-24&to=2026-10-30")).text
    if databases.is_postgres():
        assert (metrics.accept_sample_every, metrics.ship_sample_every) == (1, 1)
        assert metrics.median_accept_s == 9000
        assert "≈" not in page and "Median over 4 orders accepted" in page
    else:
        # Four accepted orders: every 2nd of them by id.
        assert (metrics.accept_sample_every, metrics.ship_sample_every) == (2, 1)
        assert 'class="kpi-value">≈ ' in page
        assert "Median of every 2nd of the 4 orders accepted" in page
