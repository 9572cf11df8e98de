"""Fault injection for sandbox APIs: errors, rate limits, latency, timeouts, malformed bodies.

Errors and 429s are answered *before* the request is applied. Latency, timeouts and malformed
bodies happen *after* it was applied, so a client that gives up cannot know whether its change
landed — exactly the ambiguity real marketplaces create, and what idempotent delivery must survive.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Faults:
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after_s: float = 1.0
    latency_ms: int = 0
    timeout_rate: float = 0.0
    timeout_s: float = 15.0
    malformed_rate: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def __deepcopy__(self, memo: dict[int, Any]) -> Faults:
        # Litestar deep-copies a Router (and its middleware kwargs) when it is registered; the
        # middleware must keep the very settings `_control/faults` changes, so never copy them.
        return self

    def update(self, values: dict[str, Any]) -> list[str]:
        """Apply settings from a control request; return messages for values that were refused."""
        problems = []
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                problems.append(f"unknown setting “{key}”")
                continue
            try:
                if key.endswith("_rate"):
                    number = float(value)
                    if not 0 <= number <= 1:
                        raise ValueError
                    setattr(self, key, number)
                elif key == "seed":
                    self.seed = None if value is None else int(value)
                    self.rng = random.Random(self.seed)
                elif key == "latency_ms":
                    setattr(self, key, max(0, int(value)))
                else:
                    setattr(self, key, max(0.0, float(value)))
            except (TypeError, ValueError):
                problems.append(f"{key} must be a number" + (" from 0 to 1" if key.endswith("_rate") else ""))
        return problems

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultMiddleware:
    """ASGI middleware for one sandbox router; `_control` paths are never faulted."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/_control" in scope["path"]:
            await self.app(scope, receive, send)
            return
        faults = self.faults
        rng = faults.rng
        if rng.random() < faults.rate_limit_rate:
            await _send_json(send, 429, {"message": "Too many requests"}, {"retry-after": f"{faults.retry_after_s:g}"})
            return
        if rng.random() < faults.error_rate:
            await _send_json(send, 500, {"message": "Internal server error (injected fault)"})
            return
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        delay = faults.latency_ms / 1000
        if rng.random() < faults.timeout_rate:
            delay += faults.timeout_s
        if delay:
            await asyncio.sleep(delay)
        if rng.random() < faults.malformed_rate:
            messages = _malformed(messages)
        for message in messages:
            await send(message)


def _malformed(messages: list[Message]) -> list[Message]:
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    broken = body[: max(1, len(body) // 2)] + b"<html>Bad gateway"
    out: list[Message] = []
    for message in messages:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(broken)).encode()))
            out.append({**message, "headers": headers})
    out.append({"type": "http.response.body", "body": broken, "more_body": False})
    return out


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
