"""Chart geometry for server-rendered SVG: scales, ticks, paths and bars.

The templates (`templates/metrics/_charts.html`) only draw what these functions measured, so a
chart is plain markup that needs no script, prints, and reads the same with styles turned off.
Coordinates are in the SVG's own units (its viewBox); the SVG scales to its container.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 240
#: Plot margins: room for y labels on the left and x labels below.
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 30
#: At most this many labels under the x axis.
MAX_X_LABELS = 7


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    #: What the point says on hover and to assistive technology, e.g. "Tue 3 Nov: 96.2% (52 lines)".
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str


@dataclass
class Frame:
    """The plot area inside the SVG and the axes around it."""

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)

    @property
    def plot_left(self) -> float:
        return self.left

    @property
    def plot_right(self) -> float:
        return self.width - self.right

    @property
    def plot_top(self) -> float:
        return self.top

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    @property
    def plot_width(self) -> float:
        return self.plot_right - self.plot_left

    @property
    def plot_height(self) -> float:
        return self.plot_bottom - self.plot_top


@dataclass
class LineChart(Frame):
    #: SVG path data, one per unbroken run of values (a bucket without data breaks the line).
    paths: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)


@dataclass
class BarChart(Frame):
    bars: list[Bar] = field(default_factory=list)


@dataclass(frozen=True)
class HBar:
    label: str
    value: int
    share: float
    y: float
    width: float

    @property
    def share_text(self) -> str:
        return percent_label(self.share)


@dataclass
class HBarChart:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[HBar]
    #: Where the bars start and how long the longest one is.
    bar_left: int
    bar_space: int


def nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `ticks` intervals over `span`."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _x_positions(n: int, frame: Frame, bars: bool = False) -> list[float]:
    """Centres of `n` buckets across the plot."""
    if n == 0:
        return []
    if bars or n == 1:
        slot = frame.plot_width / n
        return [frame.plot_left + slot * (i + 0.5) for i in range(n)]
    step = frame.plot_width / (n - 1)
    return [frame.plot_left + step * i for i in range(n)]


def _x_ticks(xs: Sequence[float], labels: Sequence[str]) -> list[Tick]:
    n = len(xs)
    if n == 0:
        return []
    every = max(1, math.ceil(n / MAX_X_LABELS))
    chosen = list(range(0, n, every))
    if n - 1 - chosen[-1] >= every / 2 and n - 1 not in chosen:
        chosen.append(n - 1)
        if len(chosen) > MAX_X_LABELS:
            chosen.pop(-2)
    return [Tick(xs[i], labels[i]) for i in chosen]


def percent_label(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def rate_axis(values: Sequence[float | None], floor_at_zero: bool) -> tuple[float, float, float]:
    """(low, high, step) for rates between 0 and 1: from 0 (or just under the lowest value) to 100 %
    (or just over the highest value), on round steps."""
    present = [v for v in values if v is not None]
    if floor_at_zero:
        top = max(present, default=0.0)
        step = nice_step(max(top, 0.05))
        high = min(1.0, max(step, math.ceil(top / step - 1e-9) * step))
        if high <= top and high < 1.0:
            high += step
        return 0.0, min(high, 1.0), step
    bottom = min(present, default=1.0)
    step = nice_step(max(1.0 - bottom, 0.05))
    low = max(0.0, math.floor(bottom / step + 1e-9) * step)
    if low >= bottom and low > 0:
        low -= step
    return max(low, 0.0), 1.0, step


def line_chart(
    values: Sequence[float | None],
    labels: Sequence[str],
    point_labels: Sequence[str],
    *,
    floor_at_zero: bool,
) -> LineChart:
    """A rate over time: y from `rate_axis`, one point per bucket, gaps where a bucket has no value."""
    chart = LineChart()
    low, high, step = rate_axis(values, floor_at_zero)
    span = (high - low) or 1.0

    def y_of(value: float) -> float:
        return chart.plot_bottom - (value - low) / span * chart.plot_height

    tick = low
    while tick <= high + 1e-9:
        chart.y_ticks.append(Tick(round(y_of(tick), 2), percent_label(tick)))
        tick += step
    xs = _x_positions(len(values), chart)
    chart.x_ticks = _x_ticks(xs, labels)
    run: list[tuple[float, float]] = []
    runs: list[list[tuple[float, float]]] = []
    for x, value, label in zip(xs, values, point_labels, strict=True):
        if value is None:
            if run:
                runs.append(run)
            run = []
            continue
        point = (round(x, 2), round(y_of(value), 2))
        run.append(point)
        chart.points.append(Point(point[0], point[1], label))
    if run:
        runs.append(run)
    base = round(chart.plot_bottom, 2)
    for part in runs:
        line = " L ".join(f"{x} {y}" for x, y in part)
        chart.paths.append(f"M {line}")
        chart.areas.append(f"M {part[0][0]} {base} L {line} L {part[-1][0]} {base} Z")
    return chart


def stacked_bar_chart(
    stacks: Sequence[Sequence[tuple[int, str, str]]],
    labels: Sequence[str],
) -> BarChart:
    """Counts per bucket as stacked bars; each stack is [(value, css class, label), …] from the bottom up."""
    chart = BarChart()
    top_value = max((sum(v for v, _, _ in stack) for stack in stacks), default=0)
    step = nice_step(max(top_value, 4), 4)
    step = max(1.0, math.ceil(step))
    high = max(step, math.ceil(top_value / step) * step)

    def y_of(value: float) -> float:
        return chart.plot_bottom - value / high * chart.plot_height

    tick = 0.0
    while tick <= high + 1e-9:
        chart.y_ticks.append(Tick(round(y_of(tick), 2), f"{int(tick):,}"))
        tick += step
    xs = _x_positions(len(stacks), chart, bars=True)
    chart.x_ticks = _x_ticks(xs, labels)
    slot = chart.plot_width / max(len(stacks), 1)
    width = max(1.0, min(28.0, slot * 0.72))
    for x, stack in zip(xs, stacks, strict=True):
        bottom = 0
        for value, css, label in stack:
            if value <= 0:
                continue
            y_top, y_bottom = y_of(bottom + value), y_of(bottom)
            chart.bars.append(
                Bar(round(x - width / 2, 2), round(y_top, 2), round(width, 2), round(y_bottom - y_top, 2), css, label)
            )
            bottom += value
    return chart


def hbar_chart(items: Sequence[tuple[str, int]], width: int = WIDTH, label_width: int = 190) -> HBarChart:
    """Horizontal bars, one per (label, count), longest first as given; bars scale to the largest."""
    bar_height, gap = 22, 12
    total = sum(n for _, n in items) or 1
    largest = max((n for _, n in items), default=1) or 1
    value_room = 92
    space = width - label_width - value_room
    bars = [
        HBar(label, n, n / total, i * (bar_height + gap), max(2.0, round(n / largest * space, 2)))
        for i, (label, n) in enumerate(items)
    ]
    height = max(bar_height, len(items) * (bar_height + gap) - gap)
    return HBarChart(width, height, label_width, bar_height, bars, label_width, space)
