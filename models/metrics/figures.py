"""Fulfilment metrics for a channel (or all) over a period: the figures behind the Metrics page.

Every figure covers one cohort, the orders *placed* in the period, so the figures agree with each
other and each order counts in exactly one day (in the merchant's time zone):

- **Fulfilment rate**: accepted lines / decided (accepted + rejected) lines. A line cancelled after
  its order was accepted counts as accepted: the cancellation shows in the cancel rate instead.
- **Cancel rate**: cancelled orders / orders placed.
- **Rejection reasons**: rejected lines by reason.
- **Median time to accept**: order placed → order accepted (every line decided, at least one
  accepted; automatic acceptance counts).
- **Median time to ship**: order accepted → everything shipped.
- **Late shipments**: shipped more than the channel's handling time (`Channel.handling_days`, whole
  days of 24 hours) after acceptance. Channels do not send a ship-by date that Waybill keeps, so the
  ship-by date is acceptance + handling time. Accepted orders still unshipped past it are *overdue*.

Everything is aggregated in the database from two covering indexes (migration m0015), so only
index entries of the period's orders and of their lines are read, never the rows themselves. Days
(or weeks, for long periods) start at midnight in the merchant's time zone, exactly, across
daylight-saving changes (see `MetricsQueries._per_bucket` for how each database groups by them).
PostgreSQL computes the medians itself (`percentile_cont`); on SQLite they are taken from the
durations, all of them up to `EXACT_MEDIAN_LIMIT` and an even sample beyond.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from models import db
from models.core.clock import now
from models.db.tables import Channel
from models.orders.acceptance import REJECTION_REASONS
from models.orders.lifecycle import LineStatus, OrderStatus

#: Longest period computed (two years), so one request cannot ask for a century.
MAX_PERIOD_DAYS = 731
#: Periods up to this many days are shown day by day; longer ones week by week.
MAX_DAILY_DAYS = 92
#: On SQLite, up to this many durations a median is exact. Beyond, it is the median of an even sample
#: of about this size (every k-th order by id): sorting 150,000 durations costs SQLite a quarter of a
#: second, and on the benchmark's data the sample's median stayed within 1 % of the exact one. The
#: page marks such a median "≈" and says how it was sampled. PostgreSQL's medians are always exact.
EXACT_MEDIAN_LIMIT = 50_000
#: Reasons shown with a bar each; rarer free-text reasons are summed as "Other reasons".
MAX_REASONS = 6
OTHER_REASONS = "Other reasons"
NO_REASON = "No reason given"
#: Statuses in which an accepted order still waits to ship.
AWAITING_SHIPMENT = (
    OrderStatus.PENDING_REVIEW,
    OrderStatus.AWAITING_FULFILLMENT,
    OrderStatus.PROCESSING,
    OrderStatus.PARTIALLY_SHIPPED,
)


def _local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


@dataclass(frozen=True)
class Bucket:
    """Days the charts show as one point: one day, or a week (Monday to Sunday, cut to the period)."""

    first_day: dt.date
    last_day: dt.date
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Period:
    """Whole days in the merchant's time zone, first and last included."""

    first_day: dt.date
    last_day: dt.date
    tz: ZoneInfo

    @classmethod
    def last_days(cls, days: int, tz: ZoneInfo, today: dt.date | None = None) -> Period:
        """The last `days` days, today included."""
        today = today or now().astimezone(tz).date()
        return cls(today - dt.timedelta(days=days - 1), today, tz)

    @property
    def start(self) -> dt.datetime:
        return _local_midnight(self.first_day, self.tz)

    @property
    def end(self) -> dt.datetime:
        """The first moment after the period."""
        return _local_midnight(self.last_day + dt.timedelta(days=1), self.tz)

    @property
    def length(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def weekly(self) -> bool:
        return self.length > MAX_DAILY_DAYS

    def buckets(self) -> list[Bucket]:
        buckets = []
        day = self.first_day
        while day <= self.last_day:
            last = day + dt.timedelta(days=6 - day.weekday()) if self.weekly else day
            last = min(last, self.last_day)
            after = last + dt.timedelta(days=1)
            buckets.append(Bucket(day, last, _local_midnight(day, self.tz), _local_midnight(after, self.tz)))
            day = after
        return buckets


@dataclass
class Figures:
    """Counts for one bucket of days, or for the whole period."""

    bucket: Bucket | None = None
    orders: int = 0
    cancelled: int = 0
    accepted_lines: int = 0
    rejected_lines: int = 0
    #: Orders accepted and then fully shipped, of which `late` after their ship-by date.
    shipped: int = 0
    late: int = 0

    @property
    def decided_lines(self) -> int:
        return self.accepted_lines + self.rejected_lines

    @property
    def fulfilment_rate(self) -> float | None:
        return self.accepted_lines / self.decided_lines if self.decided_lines else None

    @property
    def cancel_rate(self) -> float | None:
        return self.cancelled / self.orders if self.orders else None

    @property
    def on_time(self) -> int:
        return self.shipped - self.late

    @property
    def late_rate(self) -> float | None:
        return self.late / self.shipped if self.shipped else None

    def add(self, other: Figures) -> None:
        self.orders += other.orders
        self.cancelled += other.cancelled
        self.accepted_lines += other.accepted_lines
        self.rejected_lines += other.rejected_lines
        self.shipped += other.shipped
        self.late += other.late


@dataclass(frozen=True)
class ChannelScope:
    id: int
    name: str
    handling_days: int


@dataclass
class Metrics:
    period: Period
    #: The channels covered: the one chosen, or every channel.
    channels: list[ChannelScope]
    totals: Figures
    #: One per bucket of the period, in order.
    series: list[Figures]
    #: (reason, rejected lines), most frequent first.
    rejection_reasons: list[tuple[str, int]] = field(default_factory=list)
    #: Orders with an acceptance time (the median time to accept is over these).
    accepted_orders: int = 0
    median_accept_s: float | None = None
    median_ship_s: float | None = None
    #: 1 when the medians are exact; k when they come from every k-th order (see `EXACT_MEDIAN_LIMIT`).
    accept_sample_every: int = 1
    ship_sample_every: int = 1
    #: Accepted orders not shipped in full although their ship-by date has passed.
    overdue: int = 0


async def channel_scopes(channel_id: int | None = None) -> list[ChannelScope]:
    query = Channel.select(Channel.id, Channel.name, Channel.handling_days).order_by(Channel.name)
    if channel_id is not None:
        query = query.where(Channel.id == channel_id)
    return [ChannelScope(r["id"], r["name"], r["handling_days"]) for r in await query]


@db.with_reads_in_threads  # a year of figures reads many index ranges
async def compute_metrics(period: Period, channel_id: int | None = None) -> Metrics:
    """Every figure of the Metrics page for orders placed in `period` on one channel (or all)."""
    channels = await channel_scopes(channel_id)
    buckets = period.buckets()
    series = [Figures(bucket=bucket) for bucket in buckets]
    metrics = Metrics(period=period, channels=channels, totals=Figures(), series=series)
    if channels:
        queries = MetricsQueries(period, buckets, channels, now())
        orders, lines, reasons = await db.concurrently(
            db.fetch(*queries.orders_per_bucket()),
            db.fetch(*queries.lines_per_bucket()),
            db.fetch(*queries.rejection_reasons()),
        )
        for row in orders:
            figures = series[int(row["b"])]
            figures.orders += int(row["orders"])
            figures.cancelled += int(row["cancelled"])
            figures.shipped += int(row["shipped"])
            figures.late += int(row["late"])
            metrics.accepted_orders += int(row["accepted"])
            metrics.overdue += int(row["overdue"])
        for row in lines:
            figures = series[int(row["b"])]
            figures.accepted_lines += int(row["accepted"])
            figures.rejected_lines += int(row["rejected"])
        metrics.rejection_reasons = group_reasons(Counter({r["reason"]: int(r["n"]) for r in reasons}))
        (
            (metrics.median_accept_s, metrics.accept_sample_every),
            (metrics.median_ship_s, metrics.ship_sample_every),
        ) = await db.concurrently(
            _median(queries, "o.accepted_at", "o.placed_at", metrics.accepted_orders),
            _median(queries, "o.shipped_at", "o.accepted_at", sum(f.shipped for f in series)),
        )
    for figures in series:
        metrics.totals.add(figures)
    return metrics


def group_reasons(reasons: Counter[str]) -> list[tuple[str, int]]:
    """At most `MAX_REASONS` bars: every standard reason present, then the most frequent free texts,
    the rest summed as "Other reasons" (last). Most frequent first."""
    standard = {label for code, label in REJECTION_REASONS.items() if code != "other"}
    merged: Counter[str] = Counter()
    for reason, n in reasons.items():
        merged[reason.strip() or NO_REASON] += n
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    fixed = [item for item in ranked if item[0] in standard]
    free = [item for item in ranked if item[0] not in standard]
    room = max(MAX_REASONS - len(fixed), 1)
    if len(free) > room:
        room -= 1  # one bar goes to "Other reasons"
    shown = sorted(fixed + free[:room], key=lambda item: (-item[1], item[0]))
    rest = sum(n for _, n in free[room:])
    return [*shown, (OTHER_REASONS, rest)] if rest else shown


async def _median(queries: MetricsQueries, later: str, earlier: str, count: int) -> tuple[float | None, int]:
    """The median of `later - earlier` over the period's orders, and 1 or the k of the sample it came from.

    PostgreSQL computes it exactly itself; SQLite has no percentile function, so the durations (all,
    or an even sample when there are more than `EXACT_MEDIAN_LIMIT`) are read and sorted here."""
    if not queries.sqlite:
        rows = await db.fetch(*queries.median(later, earlier))
        return (float(rows[0]["median"]) if rows and rows[0]["median"] is not None else None), 1
    every = sample_every(count)
    return median_of(await db.fetch(*queries.durations(later, earlier, every))), every


def sample_every(count: int) -> int:
    """1 (every value) up to `EXACT_MEDIAN_LIMIT` values, else the k keeping about that many."""
    return 1 if count <= EXACT_MEDIAN_LIMIT else -(-count // EXACT_MEDIAN_LIMIT)


def median_of(rows: list[dict[str, Any]]) -> float | None:
    """The median of `MetricsQueries.durations` rows: the middle value, or the mean of the middle two."""
    return float(statistics.median(float(r["x"]) for r in rows)) if rows else None


class MetricsQueries:
    """The SQL of one computation: the period's orders on the chosen channels, bucket by bucket.

    Statements use `{}` placeholders (`models.db.fetch`); each method returns (sql, *args)."""

    def __init__(self, period: Period, buckets: list[Bucket], channels: list[ChannelScope], moment: dt.datetime):
        self.sqlite = db.is_sqlite()
        self.period = period
        self.buckets = buckets
        self.channels = channels
        self.moment = moment
        # Channel ids are integers from the database, written into the SQL as such.
        self.channel_list = ", ".join(str(int(c.id)) for c in channels)

    def duration(self, later: str, earlier: str) -> str:
        """Seconds from `earlier` to `later`, rounded to whole seconds (SQLite keeps timestamps as text)."""
        if self.sqlite:
            return f"ROUND((julianday({later}) - julianday({earlier})) * 86400)"
        return f"ROUND(EXTRACT(EPOCH FROM ({later} - {earlier})))"

    def handling_seconds(self) -> str:
        """The handling time of the order's channel, in seconds."""
        seconds = {int(c.id): int(c.handling_days) * 86400 for c in self.channels}
        if len(set(seconds.values())) == 1:
            return str(next(iter(seconds.values())))
        branches = " ".join(f"WHEN {cid} THEN {s}" for cid, s in seconds.items())
        return f"CASE o.channel {branches} END"

    def _range(self, start: dt.datetime, end: dt.datetime, args: list[Any]) -> str:
        args.extend((start, end))
        return f"o.channel IN ({self.channel_list}) AND o.placed_at >= {{}} AND o.placed_at < {{}}"

    def _per_bucket(self, select: str, joins: str = "") -> tuple[Any, ...]:
        """`select` for each bucket of the period, one row per bucket (`b` is its position).

        SQLite: a UNION ALL of one index range per bucket, so no row's day is computed and no sort
        groups the rows (SQLite groups by sorting). PostgreSQL: one range, each row put in its bucket
        by `width_bucket` over the buckets' start times, grouped by hashing; planning ninety ranges
        would cost it more than the whole scan. Day boundaries are exact either way."""
        args: list[Any] = []
        if self.sqlite:
            parts = [
                f"SELECT {i} AS b, {select} FROM orders o {joins} WHERE {self._range(b.start, b.end, args)}"
                for i, b in enumerate(self.buckets)
            ]
            return (" UNION ALL ".join(parts), *args)
        args.append([b.start for b in self.buckets])
        where = self._range(self.period.start, self.period.end, args)
        bucket = "width_bucket(o.placed_at, {}::timestamptz[]) - 1"
        return (f"SELECT {bucket} AS b, {select} FROM orders o {joins} WHERE {where} GROUP BY 1", *args)

    def orders_per_bucket(self) -> tuple[Any, ...]:
        handling = self.handling_seconds()
        shipped = "o.shipped_at IS NOT NULL AND o.accepted_at IS NOT NULL"
        waiting = ", ".join(f"'{s.value}'" for s in AWAITING_SHIPMENT)
        overdue_since = self.duration_before_now("o.accepted_at")
        select = (
            "COUNT(*) AS orders, "
            f"COUNT(*) FILTER (WHERE o.status = '{OrderStatus.CANCELLED.value}') AS cancelled, "
            "COUNT(o.accepted_at) AS accepted, "
            f"COUNT(*) FILTER (WHERE {shipped}) AS shipped, "
            f"COUNT(*) FILTER (WHERE {shipped} AND {self.duration('o.shipped_at', 'o.accepted_at')} > {handling}) "
            "AS late, "
            f"COUNT(*) FILTER (WHERE o.shipped_at IS NULL AND o.accepted_at IS NOT NULL AND o.status IN ({waiting}) "
            f"AND {overdue_since} > {handling}) AS overdue"
        )
        return self._per_bucket(select)

    def duration_before_now(self, column: str) -> str:
        """Seconds from `column` to the moment of the computation."""
        moment = self.moment.astimezone(dt.UTC)
        if self.sqlite:
            return f"ROUND((julianday('{moment:%Y-%m-%d %H:%M:%S}') - julianday({column})) * 86400)"
        return f"ROUND(EXTRACT(EPOCH FROM (TIMESTAMPTZ '{moment.isoformat()}' - {column})))"

    def lines_per_bucket(self) -> tuple[Any, ...]:
        accepted = f"l.status = '{LineStatus.ACCEPTED.value}'"
        cancelled_after_acceptance = f"l.status = '{LineStatus.CANCELLED.value}' AND o.accepted_at IS NOT NULL"
        counts = (
            f"COUNT(*) FILTER (WHERE {accepted} OR ({cancelled_after_acceptance})) AS accepted, "
            f"COUNT(*) FILTER (WHERE l.status = '{LineStatus.REJECTED.value}') AS rejected"
        )
        if self.sqlite:
            return self._per_bucket(counts, joins='JOIN order_line l ON l."order" = o.id')
        # Each order's lines through the index, as SQLite does; a plain join lets PostgreSQL's planner
        # hash every line in the database instead.
        lines = f'CROSS JOIN LATERAL (SELECT {counts} FROM order_line l WHERE l."order" = o.id) x'
        return self._per_bucket("SUM(x.accepted) AS accepted, SUM(x.rejected) AS rejected", joins=lines)

    def orders_count(self) -> tuple[Any, ...]:
        """A bare count of the period's orders: the rows every figure reads (the benchmark's baseline)."""
        args: list[Any] = []
        return (
            f"SELECT COUNT(*) AS n FROM orders o WHERE {self._range(self.period.start, self.period.end, args)}",
            *args,
        )

    def rejection_reasons(self) -> tuple[Any, ...]:
        args: list[Any] = []
        rejected = LineStatus.REJECTED.value
        sql = (
            "SELECT l.rejection_reason AS reason, COUNT(*) AS n "
            f"FROM orders o JOIN order_line l ON l.\"order\" = o.id AND l.status = '{rejected}' "
            f"WHERE {self._range(self.period.start, self.period.end, args)} GROUP BY l.rejection_reason"
        )
        return (sql, *args)

    def median(self, later: str, earlier: str) -> tuple[Any, ...]:
        """PostgreSQL: the exact median of `later - earlier` in seconds (mean of the middle two if even)."""
        args: list[Any] = []
        sql = (
            f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {self.duration(later, earlier)}) AS median "
            f"FROM orders o WHERE {self._range(self.period.start, self.period.end, args)} "
            f"AND {later} IS NOT NULL AND {earlier} IS NOT NULL"
        )
        return (sql, *args)

    def durations(self, later: str, earlier: str, every: int = 1) -> tuple[Any, ...]:
        """`later - earlier` in seconds for the period's orders that have both, or for every `every`-th
        of them by id (an even sample: ids follow the order of import, not durations)."""
        args: list[Any] = []
        sample = f" AND o.id % {int(every)} = 0" if every > 1 else ""
        sql = (
            f"SELECT {self.duration(later, earlier)} AS x FROM orders o "
            f"WHERE {self._range(self.period.start, self.period.end, args)} "
            f"AND {later} IS NOT NULL AND {earlier} IS NOT NULL{sample}"
        )
        return (sql, *args)
