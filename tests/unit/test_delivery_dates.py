"""When a delivery happened, from the day or moment a merchant gives, in the merchant's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from models.core.errors import FieldErrors
from models.orders.closing import delivery_time, parse_delivery_date

PRAGUE = ZoneInfo("Europe/Prague")
NOW = dt.datetime(2026, 5, 12, 20, 30, tzinfo=dt.UTC)  # 22:30 in Prague
SHIPPED = dt.datetime(2026, 5, 10, 14, 0, tzinfo=dt.UTC)


def test_a_day_is_recorded_at_midday_local_time():
    assert delivery_time(dt.date(2026, 5, 11), SHIPPED, PRAGUE, NOW) == dt.datetime(2026, 5, 11, 10, 0, tzinfo=dt.UTC)


def test_today_before_midday_is_recorded_as_now():
    morning = dt.datetime(2026, 5, 12, 6, 0, tzinfo=dt.UTC)
    assert delivery_time(dt.date(2026, 5, 12), SHIPPED, PRAGUE, morning) == morning


def test_the_shipping_day_after_midday_is_recorded_at_the_shipping_time():
    late = dt.datetime(2026, 5, 10, 15, 0, tzinfo=dt.UTC)
    assert delivery_time(dt.date(2026, 5, 10), late, PRAGUE, NOW) == late


def test_today_is_the_merchants_today():
    """20:30 UTC on the 12th is already the 13th in Tokyo, still the 12th in Prague."""
    tokyo = ZoneInfo("Asia/Tokyo")
    assert delivery_time(dt.date(2026, 5, 13), SHIPPED, tokyo, NOW) == NOW
    with pytest.raises(FieldErrors) as refused:
        delivery_time(dt.date(2026, 5, 13), SHIPPED, PRAGUE, NOW)
    assert refused.value.errors == {"delivered_at": "The delivery date cannot be in the future."}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (dt.date(2026, 5, 13), "The delivery date cannot be in the future."),
        (NOW + dt.timedelta(hours=1), "The delivery date cannot be in the future."),
        (dt.date(2026, 5, 9), "The delivery date cannot be before the order shipped (10 May 2026)."),
        (SHIPPED - dt.timedelta(days=1), "The delivery date cannot be before the order shipped (10 May 2026)."),
    ],
)
def test_impossible_dates_are_refused_field_by_field(given, message):
    with pytest.raises(FieldErrors) as refused:
        delivery_time(given, SHIPPED, PRAGUE, NOW)
    assert refused.value.errors == {"delivered_at": message}


def test_a_moment_is_kept_as_given():
    moment = dt.datetime(2026, 5, 11, 9, 15, tzinfo=dt.UTC)
    assert delivery_time(moment, SHIPPED, PRAGUE, NOW) == moment


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2026-05-11", dt.date(2026, 5, 11)),
        (" 2026-05-11 ", dt.date(2026, 5, 11)),
        ("2026-05-11T09:15:00+02:00", dt.datetime(2026, 5, 11, 9, 15, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ],
)
def test_dates_are_read_as_iso(text, parsed):
    assert parse_delivery_date(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Enter the delivery date."), ("11/05/2026", "“11/05/2026” is not a date: use YYYY-MM-DD, e.g. 2026-05-12.")],
)
def test_unreadable_dates_are_refused(text, message):
    with pytest.raises(FieldErrors) as refused:
        parse_delivery_date(text)
    assert refused.value.errors == {"delivered_at": message}
