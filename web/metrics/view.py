"""What the Metrics page shows: headline figures and charts built from `models.metrics.figures.Metrics`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.metrics.figures import Bucket, Figures, Metrics, Period
from web.metrics.charts import BarChart, HBarChart, LineChart, hbar_chart, line_chart, percent_label, stacked_bar_chart


def duration_text(seconds: float | None) -> str:
    """A median time for people: "under 1 min", "45 min", "3 h 12 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if seconds < 60:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else percent_label(rate)


def bucket_name(bucket: Bucket, weekly: bool) -> str:
    """The bucket in a point label or table row: "Mon 16 Nov 2026", or "Week of 2 Nov 2026"."""
    if weekly:
        return f"Week of {bucket.first_day.day} {bucket.first_day:%b %Y}"
    return f"{bucket.first_day:%a} {bucket.first_day.day} {bucket.first_day:%b %Y}"


def bucket_tick(bucket: Bucket, period: Period) -> str:
    """The bucket under the x axis: "Mon 16" over a week, "16 Nov" over months, "16 Nov ’25" over years."""
    day = bucket.first_day
    if period.length <= 7:
        return f"{day:%a} {day.day}"
    if period.first_day.year != period.last_day.year and period.weekly:
        return f"{day.day} {day:%b} ’{day:%y}"
    return f"{day.day} {day:%b}"


@dataclass
class Chart:
    """One chart: its SVG geometry, a title, a sentence with the numbers, and the rows of its table."""

    key: str
    title: str
    #: What is plotted, in a few words under the title.
    subtitle: str
    summary: str
    geometry: LineChart | BarChart | HBarChart
    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class TimeAxis:
    """The period's buckets as the charts name them."""

    #: Per bucket, in point labels and table rows ("Mon 16 Nov 2026").
    names: list[str]
    #: Per bucket, under the x axis ("16 Nov").
    ticks: list[str]
    #: "day" or "week".
    unit: str


def _lines(n: int) -> str:
    return f"{n:,} line{'s' if n != 1 else ''}"


def _orders(n: int) -> str:
    return f"{n:,} order{'s' if n != 1 else ''}"


def build_charts(metrics: Metrics) -> list[Chart]:
    series = metrics.series
    weekly = metrics.period.weekly
    axis = TimeAxis(
        names=[bucket_name(f.bucket, weekly) for f in series],
        ticks=[bucket_tick(f.bucket, metrics.period) for f in series],
        unit="week" if weekly else "day",
    )
    return [
        _fulfilment_chart(series, axis, metrics.totals),
        _cancel_chart(series, axis, metrics.totals),
        _shipping_chart(series, axis, metrics.totals),
        _reasons_chart(metrics),
    ]


def _fulfilment_chart(series: list[Figures], axis: TimeAxis, totals: Figures) -> Chart:
    names = axis.names
    values = [f.fulfilment_rate for f in series]
    labels = [
        f"{name}: {rate_text(v)} ({f.accepted_lines:,} of {_lines(f.decided_lines)} accepted)"
        if v is not None
        else f"{name}: no line decided"
        for name, v, f in zip(names, values, series, strict=True)
    ]
    return Chart(
        key="fulfilment",
        subtitle=f"Accepted lines out of decided lines, per {axis.unit}",
        title="Fulfilment rate",
        summary=(
            f"Fulfilment rate {rate_text(totals.fulfilment_rate)} over the period: {totals.accepted_lines:,} of "
            f"{_lines(totals.decided_lines)} accepted, {totals.rejected_lines:,} rejected."
            + _range_sentence(values, names)
        ),
        geometry=line_chart(values, axis.ticks, labels, floor_at_zero=False),
        columns=[axis.unit.capitalize(), "Accepted lines", "Rejected lines", "Fulfilment rate"],
        rows=[
            [name, f"{f.accepted_lines:,}", f"{f.rejected_lines:,}", rate_text(f.fulfilment_rate)]
            for name, f in zip(names, series, strict=True)
        ],
    )


def _cancel_chart(series: list[Figures], axis: TimeAxis, totals: Figures) -> Chart:
    names = axis.names
    values = [f.cancel_rate for f in series]
    labels = [
        f"{name}: {rate_text(v)} ({f.cancelled:,} of {_orders(f.orders)} cancelled)"
        if v is not None
        else f"{name}: no order placed"
        for name, v, f in zip(names, values, series, strict=True)
    ]
    return Chart(
        key="cancel",
        subtitle=f"Cancelled orders out of orders placed, per {axis.unit}",
        title="Cancel rate",
        summary=(
            f"Cancel rate {rate_text(totals.cancel_rate)} over the period: {totals.cancelled:,} of "
            f"{_orders(totals.orders)} cancelled." + _range_sentence(values, names)
        ),
        geometry=line_chart(values, axis.ticks, labels, floor_at_zero=True),
        columns=[axis.unit.capitalize(), "Orders placed", "Cancelled", "Cancel rate"],
        rows=[
            [name, f"{f.orders:,}", f"{f.cancelled:,}", rate_text(f.cancel_rate)]
            for name, f in zip(names, series, strict=True)
        ],
    )


def _shipping_chart(series: list[Figures], axis: TimeAxis, totals: Figures) -> Chart:
    names = axis.names
    stacks = [
        [
            (f.on_time, "bar-on-time", f"{name}: {f.on_time:,} shipped on time"),
            (f.late, "bar-late", f"{name}: {f.late:,} shipped late"),
        ]
        for name, f in zip(names, series, strict=True)
    ]
    return Chart(
        key="shipping",
        subtitle=f"Orders shipped in full, by the {axis.unit} they were placed",
        title="Shipped on time and late",
        summary=(
            f"{_orders(totals.shipped)} placed in the period have shipped: {totals.on_time:,} on time and "
            f"{totals.late:,} late ({rate_text(totals.late_rate)})."
        ),
        geometry=stacked_bar_chart(stacks, axis.ticks),
        columns=[axis.unit.capitalize(), "Shipped on time", "Shipped late", "Late share"],
        rows=[
            [name, f"{f.on_time:,}", f"{f.late:,}", rate_text(f.late_rate)]
            for name, f in zip(names, series, strict=True)
        ],
    )


def _reasons_chart(metrics: Metrics) -> Chart:
    reasons = metrics.rejection_reasons
    total = sum(n for _, n in reasons)
    if reasons:
        listed = "; ".join(f"{label}: {_lines(n)} ({percent_label(n / total)})" for label, n in reasons)
        summary = f"{_lines(total)} rejected. {listed}."
    else:
        summary = "No line was rejected in the period."
    return Chart(
        key="reasons",
        subtitle="Rejected lines by reason",
        title="Rejection reasons",
        summary=summary,
        geometry=hbar_chart(reasons),
        columns=["Reason", "Rejected lines", "Share"],
        rows=[[label, f"{n:,}", percent_label(n / total)] for label, n in reasons],
    )


def _range_sentence(values: list[float | None], names: list[str]) -> str:
    present = [(v, name) for v, name in zip(values, names, strict=True) if v is not None]
    if len(present) < 2:
        return ""
    low = min(present, key=lambda item: item[0])
    high = max(present, key=lambda item: item[0])
    return f" Lowest {rate_text(low[0])} ({low[1]}), highest {rate_text(high[0])} ({high[1]})."


def ordinal(n: int) -> str:
    """2 → "2nd", 3 → "3rd", 11 → "11th", 21 → "21st"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _median_text(seconds: float | None, every: int) -> str:
    """The median; "≈" when it comes from a sample of the orders."""
    return ("≈ " if every > 1 and seconds is not None else "") + duration_text(seconds)


def _median_detail(count: int, every: int, what: str) -> str:
    if not count:
        return f"No order {what.split(',')[0]} yet"
    if every > 1:
        return f"Median of every {ordinal(every)} of the {_orders(count)} {what}"
    return f"Median over {_orders(count)} {what}"


def headline(metrics: Metrics) -> dict[str, Any]:
    """The figures at the top of the page, each with the counts behind it."""
    totals = metrics.totals
    reasons = metrics.rejection_reasons
    return {
        "fulfilment": rate_text(totals.fulfilment_rate),
        "fulfilment_detail": f"{totals.accepted_lines:,} of {_lines(totals.decided_lines)} accepted"
        if totals.decided_lines
        else "No line decided yet",
        "cancel": rate_text(totals.cancel_rate),
        "cancel_detail": f"{totals.cancelled:,} of {_orders(totals.orders)} cancelled"
        if totals.orders
        else "No order placed",
        "rejected": f"{totals.rejected_lines:,}",
        "rejected_detail": f"Most often: {reasons[0][0]}" if reasons else "No rejection",
        "accept": _median_text(metrics.median_accept_s, metrics.accept_sample_every),
        "accept_detail": _median_detail(metrics.accepted_orders, metrics.accept_sample_every, "accepted"),
        "ship": _median_text(metrics.median_ship_s, metrics.ship_sample_every),
        "ship_detail": _median_detail(totals.shipped, metrics.ship_sample_every, "shipped, from acceptance"),
        "late": rate_text(totals.late_rate),
        "late_detail": f"{totals.late:,} of {_orders(totals.shipped)} shipped after the ship-by date"
        if totals.shipped
        else "No order shipped yet",
        "late_warn": bool(totals.late),
        "overdue": metrics.overdue,
    }
