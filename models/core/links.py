"""Web links that came from elsewhere (a supplier's tracking URL, a carrier page built from a number).

Only plain http(s) addresses are kept: a `javascript:` or `data:` link from a remote would run in the
merchant's browser when clicked, and would be forwarded to the marketplace and its customers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_LINK_LENGTH = 500


def web_link(url: object) -> str:
    """`url` when it is an absolute http(s) address with a host and nothing hidden in it, else ""."""
    if not isinstance(url, str):
        return ""
    text = url.strip()
    if not text or len(text) > MAX_LINK_LENGTH or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return text
