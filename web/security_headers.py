"""Headers every answer carries: what the browser may load and run, framing, sniffing, referrers, caching.

Pages load only Waybill's own scripts and styles (no inline code), so an injected `<script>` or `onclick`
would not run even if escaping ever failed. Nothing but static files may be kept in a cache: order pages,
exports and API answers hold customers' names and addresses.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
#: The API explorer at /schema is Swagger UI, served from its CDN with an inline start-up script.
SCHEMA_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://cdn.jsdelivr.net; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


_STATIC = {**COMMON, "content-security-policy": PAGE_POLICY}
_PAGE = {**_STATIC, "cache-control": "no-store"}
_SCHEMA = {**_PAGE, "content-security-policy": SCHEMA_POLICY}


def headers_for(path: str) -> dict[str, str]:
    """The security headers of an answer at `path` (built once, not per answer)."""
    if path.startswith("/static/"):
        return _STATIC
    return _SCHEMA if path.startswith("/schema") else _PAGE


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: runs for every answer, error pages, redirects and unknown paths included."""
    if message["type"] != "http.response.start":
        return
    message.setdefault("headers", [])
    headers = MutableScopeHeaders.from_message(message)
    for name, value in headers_for(scope.get("path", "")).items():
        headers[name] = value
