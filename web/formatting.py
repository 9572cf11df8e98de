"""Jinja filters: money with currency, dates in the merchant's time zone, status labels."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, get_currency_precision, get_currency_symbol
from jinja2 import pass_context
from markupsafe import Markup, escape

from connectors.registry import channel_connector_class
from models.core.links import web_link
from models.orders.acceptance import decisions_for_kind
from models.orders.lifecycle import STATUS_LABELS, OrderStatus

LOCALE = "en"


# A currency shown by its letter code gets a (non-breaking) space: "CZK 39.90", not "CZK39.90".
CODE_PATTERN = "¤\u00a0#,##0.00"


def money(minor: int | None, currency: str = "EUR") -> str:
    """Minor units with their currency, e.g. 3990 EUR → "€39.90", 3990 CZK → "CZK 39.90"."""
    if minor is None:
        return "—"
    return _money_formatter(currency or "EUR")(minor)


def _babel_money(currency: str) -> Callable[[int], str]:
    precision = get_currency_precision(currency)
    symbol = get_currency_symbol(currency, locale=LOCALE)
    pattern = CODE_PATTERN if symbol[-1:].isalpha() else None

    def format_minor(minor: int) -> str:
        amount = Decimal(minor) / (Decimal(10) ** precision)
        return format_currency(amount, currency, format=pattern, locale=LOCALE)

    return format_minor


#: Amounts a fast formatter must render exactly as Babel does before it is used.
_MONEY_PROBES = (0, 1, 5, 10, 99, 100, 101, 999, 1000, 1234, 99_999, 100_000, 123_456_789, 10**15 + 7)


@functools.cache
def _money_formatter(currency: str) -> Callable[[int], str]:
    """Babel's rendering for `currency`, compiled to a prefix and Python's own digit grouping.

    Babel re-reads locale data and re-parses the pattern on every call (~0.2 ms), which made money the
    largest cost of an orders page. The compiled form is only used if it renders a set of probe
    amounts, positive and negative, exactly as Babel does; otherwise Babel is used as is.
    """
    babel_format = _babel_money(currency)
    precision = get_currency_precision(currency)
    zero = babel_format(0)
    digits = f"{0:,.{precision}f}"
    if not zero.endswith(digits):
        return babel_format
    prefix = zero[: -len(digits)]
    scale = Decimal(10) ** precision

    def fast_format(minor: int) -> str:
        text = prefix + f"{abs(Decimal(minor)) / scale:,.{precision}f}"
        return "-" + text if minor < 0 else text

    probes = [*_MONEY_PROBES, *(-p for p in _MONEY_PROBES if p)]
    if all(fast_format(p) == babel_format(p) for p in probes):
        return fast_format
    return babel_format


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


@pass_context
def localtime(context: Any, value: Any, fmt: str = "%d %b %Y, %H:%M") -> str:
    moment = _as_datetime(value)
    if moment is None:
        return "—"
    tz: ZoneInfo = context.get("tz") or ZoneInfo("UTC")
    return moment.astimezone(tz).strftime(fmt)


@pass_context
def localdate(context: Any, value: Any) -> str:
    return localtime(context, value, "%d %b %Y")


@pass_context
def iso_local(context: Any, value: Any) -> str:
    moment = _as_datetime(value)
    if moment is None:
        return ""
    tz: ZoneInfo = context.get("tz") or ZoneInfo("UTC")
    return moment.astimezone(tz).isoformat(timespec="minutes")


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'} ago"


@pass_context
def ago(context: Any, value: Any, moment_now: dt.datetime | None = None) -> str:
    """How long ago, e.g. "just now", "5 minutes ago", "3 days ago"; past a week, the date in the
    merchant's time zone ("on 12 Mar 2026")."""
    moment = _as_datetime(value)
    if moment is None:
        return "never"
    seconds = ((moment_now or dt.datetime.now(dt.UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return _count(minutes, "minute")
    if minutes < 24 * 60:
        return _count(minutes // 60, "hour")
    if minutes < 7 * 24 * 60:
        return _count(minutes // (24 * 60), "day")
    return "on " + localdate(context, moment)


def status_label(status: str) -> str:
    try:
        return STATUS_LABELS[OrderStatus(status)]
    except ValueError:
        return status.replace("_", " ").capitalize()


def humanize(code: str) -> str:
    return code.replace("_", " ").capitalize()


def channel_state(state: str, kind: str) -> str:
    """A channel's own order state in words where the channel uses codes (Back Market's 3, 9…)."""
    try:
        return channel_connector_class(kind).pairing.describe(state)
    except (KeyError, AttributeError):
        return state


URL_PATTERN = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str, own_origins: Iterable[str] = ()) -> Markup:
    """Plain text (an e-mail body) as HTML, everything escaped; only addresses of this instance's own pages
    (`own_origins`, e.g. "https://waybill.example") become links. A body quotes marketplace text (a customer
    name, an order id), so any other address stays text: no one can plant a link on the page."""
    text = text or ""
    origins = tuple(origin.rstrip("/") + "/" for origin in own_origins if origin)
    out, position = [], 0
    for match in URL_PATTERN.finditer(text):
        url = match.group(0).rstrip(".,;:)")
        if not origins or not url.startswith(origins):
            continue
        out.append(escape(text[position : match.start()]))
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        position = match.start() + len(url)
    out.append(escape(text[position:]))
    return Markup("").join(out)


FILTERS = {
    "channel_state": channel_state,
    "money": money,
    "localtime": localtime,
    "localdate": localdate,
    "iso_local": iso_local,
    "ago": ago,
    "status_label": status_label,
    "humanize": humanize,
    "linkify": linkify,
    "web_link": web_link,
    "channel_decisions": decisions_for_kind,
}
