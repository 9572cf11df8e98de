"""Links from elsewhere and carriers' tracking formats: what is kept, refused and how long a check may take."""

from __future__ import annotations

import pytest

from models.core.links import web_link
from models.fulfilment.carriers import matches_format, pattern_problem, tracking_url
from web.formatting import linkify


@pytest.mark.parametrize(
    "url",
    ["https://track.example/1Z999", "http://ppl.example/track?n=1&x=%20", "HTTPS://UPS.example/a"],
)
def test_web_addresses_are_kept(url):
    assert web_link(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "/orders/1",
        "https://",
        "https://a.example/x\r\nSet-Cookie: a=b",
        "https://a.example/\x00",
        "https://a.example/" + "x" * 600,
        "http://[::1",
        None,
        12,
    ],
)
def test_anything_but_a_web_address_becomes_no_link(url):
    assert web_link(url) == ""


def test_a_tracking_number_cannot_change_the_carrier_address():
    assert tracking_url("https://ppl.example/{tracking}", "A/../x?#1") == "https://ppl.example/A%2F..%2Fx%3F%231"
    assert (
        tracking_url("https://ppl.example/?n={tracking}", "1 2&admin=1") == "https://ppl.example/?n=1%202%26admin%3D1"
    )


@pytest.mark.parametrize("pattern", [r"(a|aa)+$", r"(0|00)+$", r"(A|AA)+X"])
def test_a_format_with_exponential_backtracking_is_refused_when_saved(pattern):
    problem = pattern_problem(pattern)
    assert problem is not None and "takes too long" in problem


@pytest.mark.parametrize("pattern", [r"1Z[0-9A-Z]{16}", r"\d{10}", r"[0-9A-Z]{11,15}", r"(JD|JJD)\d{10,18}", r"(a+)+$"])
def test_ordinary_formats_are_accepted(pattern):
    assert pattern_problem(pattern) is None


def test_a_stored_format_that_explodes_is_cut_short_and_accepts_the_number():
    """Saved before formats were checked: it may not stall the server, and never blocks a parcel."""
    assert matches_format(r"(a|aa)+$", "a" * 100 + "!") is True
    assert matches_format(r"\d{10}", "1234567890") is True
    assert matches_format(r"\d{10}", "123") is False


def test_only_links_to_this_instance_are_made_clickable_in_a_message():
    body = "Order javascript:x by https://evil.example/orders/1\nOpen https://waybill.example/orders/7."
    html = str(linkify(body, ["https://waybill.example"]))
    assert '<a href="https://waybill.example/orders/7">' in html
    assert 'href="https://evil.example' not in html and "https://evil.example/orders/1" in html
    assert "<a" not in str(linkify(body))
