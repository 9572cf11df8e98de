"""Reading an uploaded catalog file (delimiter, header, line numbers), and "refreshed N minutes ago"."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment

from models.core.errors import FieldErrors
from models.stock.catalog_uploads import parse_csv
from web.formatting import FILTERS


def test_rows_keep_the_line_they_start_on_and_blank_rows_are_skipped():
    parsed = parse_csv(
        b'\xef\xbb\xbfchannel_sku,Supplier_SKU,cost\r\nA,BB-A,1.00\r\n\r\n,,\r\n"B","two\r\nlines",2.00\r\nC,BB-C,3.00'
    )
    assert parsed.columns == ["channel_sku", "supplier_sku", "cost"] and parsed.delimiter == ","
    assert parsed.rows == [(2, ["A", "BB-A", "1.00"]), (5, ["B", "two\r\nlines", "2.00"]), (7, ["C", "BB-C", "3.00"])]


@pytest.mark.parametrize(
    ("header", "delimiter"), [("channel_sku;supplier_sku", ";"), ("channel_sku\tsupplier_sku", "\t")]
)
def test_the_delimiter_is_read_from_the_header(header, delimiter):
    parsed = parse_csv(f"{header}\nA{delimiter}B\n".encode())
    assert parsed.delimiter == delimiter and parsed.rows == [(2, ["A", "B"])]


def test_a_header_without_the_needed_columns_says_which_are_missing():
    with pytest.raises(FieldErrors) as refused:
        parse_csv(b"sku,supplier\nA,B\n")
    assert "missing: channel_sku, supplier_sku" in refused.value.errors["file"]


def render_ago(value, moment_now, tz="Europe/Prague"):
    env = Environment()
    env.filters.update(FILTERS)
    template = env.from_string("{{ value | ago(moment_now) }}")
    return template.render(value=value, moment_now=moment_now, tz=ZoneInfo(tz))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (61 * 60 - 1, "1 hour ago"),
        (14 * 60, "14 minutes ago"),
        (5 * 3600 + 10, "5 hours ago"),
        (36 * 3600, "1 day ago"),
        (6 * 86400, "6 days ago"),
    ],
)
def test_ago_says_how_long_ago(seconds, text):
    moment_now = dt.datetime(2026, 3, 12, 12, 0, tzinfo=dt.UTC)
    assert render_ago(moment_now - dt.timedelta(seconds=seconds), moment_now) == text


def test_ago_past_a_week_gives_the_date_in_the_merchants_time_zone():
    moment_now = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
    late_evening = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)  # already 2 March in Prague
    assert render_ago(late_evening, moment_now) == "on 02 Mar 2026"
    assert render_ago(None, moment_now) == "never"
