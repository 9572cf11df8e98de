"""What every marketplace sandbox shares: state, a lock, faults and the `_control` interface.

A sandbox is an emulator of one marketplace API. It keeps its own state in memory, enforces the
real API's rules, and is driven by tests and the demo through documented `_control` routes:

- `POST /sandbox/<system>/_control/orders`: one order in that system's own JSON format appears.
- `POST /sandbox/<system>/_control/faults`: set error/latency/malformed/rate-limit behaviour.
- `GET  /sandbox/<system>/_control/orders/<id>`: the marketplace's view of one order.
- `POST|GET /sandbox/<system>/_control/offers`: the offers a marketplace holds (see `offers`).

The routes take no CSRF token (connectors and tests call them), so a browser request that another site
started is refused: a page elsewhere cannot inject orders or faults into a running demo.
"""

from __future__ import annotations

import abc
import asyncio
import json
import random
from typing import Any, ClassVar
from urllib.parse import urlsplit

from litestar import Request, Response, Router, get, post
from litestar.middleware import DefineMiddleware

from connectors.sandbox.faults import FaultMiddleware, Faults

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def refuse_cross_site(request: Request) -> Response | None:
    """`before_request` hook: a changing call that a browser sends from another site gets a 403."""
    if request.method in SAFE_METHODS:
        return None
    fetch_site = request.headers.get("sec-fetch-site", "")
    origin = request.headers.get("origin")
    foreign = fetch_site in ("cross-site", "same-site")
    if origin is not None and not foreign:
        foreign = origin == "null" or urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()
    if foreign:
        return Response({"message": "The sandbox refuses requests started by another site."}, status_code=403)
    return None


class Sandbox(abc.ABC):
    """One emulated marketplace. Subclasses add the API routes and the `_control` routes."""

    name: ClassVar[str]

    def __init__(self, seed: int | None = None) -> None:
        self.faults = Faults()
        self.lock = asyncio.Lock()
        self.rng = random.Random(seed)
        #: Every applied mutating call: (operation, order id, details). Lets tests prove exactly-once.
        self.operations: list[tuple[str, str, dict[str, Any]]] = []

    @abc.abstractmethod
    def route_handlers(self) -> list[Any]:
        """API and `_control` handlers, relative to the sandbox mount point."""

    @abc.abstractmethod
    def generate_orders(self, count: int) -> list[str]:
        """Create `count` realistic new orders (some invalid); return their ids."""

    def record(self, operation: str, order_id: str, **details: Any) -> None:
        self.operations.append((operation, order_id, details))

    def operation_count(self, operation: str, order_id: str) -> int:
        return sum(1 for op, oid, _ in self.operations if op == operation and oid == order_id)

    def offer_handlers(self) -> list[Any]:
        """The stock API and `_control/offers` routes of a marketplace holding offers (none by default)."""
        return []

    def fault_handlers(self) -> list[Any]:
        """`POST _control/faults` (settings; refused values are listed, valid ones applied) and
        `GET _control/faults`, the same on every sandbox."""
        faults = self.faults

        def refusal(message: str, refused: list[str]) -> Response:
            body = {"code": 400, "message": message, "refused": refused, "faults": faults.as_dict()}
            return Response(content=body, status_code=400)

        @post("/_control/faults")
        async def control_set_faults(request: Request) -> Response:
            try:
                body = json.loads(await request.body() or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return refusal(f"The body is not valid JSON: {exc}.", [])
            if not isinstance(body, dict):
                return refusal("The body must be a JSON object of fault settings.", [])
            problems = faults.update(body)
            if problems:
                return refusal("Refused: " + "; ".join(problems) + ".", problems)
            return Response(content=faults.as_dict(), status_code=200)

        @get("/_control/faults", sync_to_thread=False)
        def control_get_faults() -> Response:
            return Response(content=faults.as_dict())

        return [control_set_faults, control_get_faults]

    def router(self) -> Router:
        return Router(
            path=f"/sandbox/{self.name}",
            route_handlers=[*self.route_handlers(), *self.offer_handlers(), *self.fault_handlers()],
            middleware=[DefineMiddleware(FaultMiddleware, faults=self.faults)],
            before_request=refuse_cross_site,
            include_in_schema=False,
        )
