"""One structured log line per HTTP request: a JSON object on the `waybill.request` logger.

Log collectors parse the line as it is (no regular expressions over an access-log format), and it
names who made the request, which uvicorn's access log cannot know. Query strings are left out:
they can hold customer names searched for.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from models.core.clock import now

log = logging.getLogger("waybill.request")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def request_record(scope: Scope, status: int, duration_ms: float) -> dict[str, Any]:
    """What is logged about one request."""
    user = scope.get("user")
    client = scope.get("client") or ("", 0)
    headers = dict(scope.get("headers") or [])
    return {
        "ts": now().isoformat(timespec="milliseconds"),
        "method": scope.get("method", ""),
        "path": scope.get("path", ""),
        "status": status,
        "duration_ms": round(duration_ms, 2),
        "user": getattr(user, "username", None),
        "client": client[0],
        "forwarded_for": headers.get(b"x-forwarded-for", b"").decode("latin-1") or None,
        "htmx": b"hx-request" in headers,
        "pid": os.getpid(),  # which worker of `waybill serve --workers N` answered
    }


def request_logging(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: time each HTTP request and log it when its response has been sent."""

    async def middleware(scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before it answers

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_and_note)
        finally:
            if log.isEnabledFor(logging.INFO):
                record = request_record(scope, status, (time.perf_counter() - started) * 1000)
                log.info(orjson.dumps(record).decode())

    return middleware


def log_requests_as_json_lines(stream=sys.stderr) -> None:
    """Print request records as bare JSON lines (no prefix), apart from the other log messages."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
