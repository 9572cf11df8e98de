"""The Metrics page's pure parts: periods and their buckets, filters, reasons, chart scales, wording."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from models.core.clock import frozen_at, now
from models.metrics.figures import (
    EXACT_MEDIAN_LIMIT,
    NO_REASON,
    OTHER_REASONS,
    Period,
    group_reasons,
    median_of,
    sample_every,
)
from web.metrics.charts import line_chart, nice_step, rate_axis
from web.metrics.filters import parse_metrics_filter
from web.metrics.view import duration_text, ordinal

PARIS = ZoneInfo("Europe/Paris")


def test_frozen_clock_answers_the_moment_and_nests():
    outer = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    inner = dt.datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("America/New_York"))
    with frozen_at(outer):
        assert now() == outer
        with frozen_at(inner):
            assert now() == inner and now().tzinfo == dt.UTC
        assert now() == outer
    assert abs((now() - dt.datetime.now(dt.UTC)).total_seconds()) < 5
    with pytest.raises(ValueError), frozen_at(dt.datetime(2026, 3, 1)):
        pass


def test_last_days_ends_today_in_the_merchants_time_zone():
    # 23:30 UTC on 28 Mar is already 29 Mar in Paris.
    with frozen_at(dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)):
        period = Period.last_days(7, PARIS)
    assert (period.first_day, period.last_day) == (dt.date(2026, 3, 23), dt.date(2026, 3, 29))
    buckets = period.buckets()
    assert len(buckets) == 7 and not period.weekly
    # 29 Mar 2026 is 23 hours long in Paris (summer time starts at 01:00 UTC).
    assert buckets[-1].start == dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
    assert buckets[-1].end == dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)
    assert all(a.end == b.start for a, b in itertools.pairwise(buckets))


def test_long_periods_go_week_by_week_from_monday():
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 4, 15), PARIS)
    buckets = period.buckets()
    assert period.weekly
    assert (buckets[0].first_day, buckets[0].last_day) == (dt.date(2026, 1, 1), dt.date(2026, 1, 4))
    assert all(b.first_day.weekday() == 0 and (b.last_day - b.first_day).days == 6 for b in buckets[1:-1])
    assert (buckets[-1].first_day, buckets[-1].last_day) == (dt.date(2026, 4, 13), dt.date(2026, 4, 15))
    assert buckets[0].start == period.start and buckets[-1].end == period.end


def test_reasons_keep_the_standard_ones_and_sum_rare_free_texts():
    reasons = Counter(
        {
            "Out of stock": 9,
            "Price error": 1,
            "Cannot ship to this address": 1,
            "Discontinued": 8,
            "Supplier closed": 7,
            "Wrong EAN": 2,
            "Too heavy": 1,
            "": 3,
            "  ": 1,
        }
    )
    assert group_reasons(reasons) == [
        ("Out of stock", 9),
        ("Discontinued", 8),
        ("Supplier closed", 7),
        ("Cannot ship to this address", 1),
        ("Price error", 1),
        (OTHER_REASONS, 7),  # no reason given (4), Wrong EAN (2), Too heavy (1)
    ]
    assert group_reasons(Counter({"": 2, "Out of stock": 1})) == [(NO_REASON, 2), ("Out of stock", 1)]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (20, "under 1 min"),
        (45 * 60, "45 min"),
        (3 * 3600, "3 h"),
        (3 * 3600 + 12 * 60, "3 h 12 min"),
        (2 * 86400, "2 d"),
        (2 * 86400 + 4 * 3600 + 50, "2 d 4 h"),
    ],
)
def test_durations_read_like_a_person_would_say_them(seconds, text):
    assert duration_text(seconds) == text


def test_rate_axes_start_near_the_data_and_use_round_steps():
    assert nice_step(0.07) == 0.02
    low, high, step = rate_axis([0.93, 0.97, None, 1.0], floor_at_zero=False)
    assert (round(low, 4), high, step) == (0.92, 1.0, 0.02)
    low, high, step = rate_axis([0.0, 0.034, None], floor_at_zero=True)
    assert (low, round(high, 4), step) == (0.0, 0.04, 0.02)
    low, high, _ = rate_axis([None, None], floor_at_zero=True)
    assert low == 0 and high > 0


def test_a_bucket_without_data_breaks_the_line():
    chart = line_chart([0.5, None, 0.75, 1.0], ["a", "b", "c", "d"], ["A", "B", "C", "D"], floor_at_zero=True)
    assert len(chart.paths) == 2 and len(chart.areas) == 2
    assert [p.label for p in chart.points] == ["A", "C", "D"]
    assert chart.points[2].y == chart.plot_top  # 100 % at the top of the plot


def test_filters_keep_the_preset_across_a_channel_change_and_explain_bad_dates():
    today = dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)
    with frozen_at(today):
        kept = parse_metrics_filter({"channel": "3", "preset": "7"}, PARIS, {3})
        clicked = parse_metrics_filter({"channel": "3", "preset": "7", "period": "90"}, PARIS, {3})
        future = parse_metrics_filter({"period": "custom", "from": "2026-11-01", "to": "2026-12-31"}, PARIS, {3})
        half = parse_metrics_filter({"period": "custom", "from": "2026-11-01"}, PARIS, {3})
    assert (kept.channel_id, kept.preset, kept.period.length) == (3, "7", 7)
    assert clicked.period.length == 90
    assert kept.query(period="30") == "channel=3&period=30"
    assert future.period.last_day == dt.date(2026, 11, 24)
    assert future.warnings == ["Figures stop at today (24 Nov 2026): later days have no orders yet."]
    assert half.period.length == 30 and half.values["from"] == "2026-11-01"
    assert half.warnings[0] == "Choose both a “from” and a “to” date for a custom period."


def test_medians_are_exact_up_to_the_limit_then_sampled_evenly():
    assert sample_every(0) == 1 and sample_every(EXACT_MEDIAN_LIMIT) == 1
    assert sample_every(EXACT_MEDIAN_LIMIT + 1) == 2
    assert sample_every(3 * EXACT_MEDIAN_LIMIT) == 3
    assert median_of([]) is None
    assert median_of([{"x": 5}, {"x": 1}, {"x": 3}]) == 3
    assert median_of([{"x": 4}, {"x": 1}, {"x": 3}, {"x": 10}]) == 3.5


def test_ordinals():
    assert [ordinal(n) for n in (2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]
