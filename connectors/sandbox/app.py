"""Serve the marketplace sandboxes: inside `waybill demo`, or standalone for tests and trials."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar

from connectors.sandbox.common import Sandbox


def build_sandboxes(seed: int | None = None) -> dict[str, Sandbox]:
    from connectors.sandbox.backmarket import BackMarketSandbox
    from connectors.sandbox.bigbuy import BigBuySandbox
    from connectors.sandbox.mall import MallSandbox
    from connectors.sandbox.mirakl import MiraklSandbox
    from connectors.sandbox.shipbob import ShipBobSandbox

    sandboxes: list[Sandbox] = [
        MiraklSandbox(seed),
        BackMarketSandbox(seed),
        MallSandbox(seed),
        BigBuySandbox(seed),
        ShipBobSandbox(seed),
    ]
    return {sandbox.name: sandbox for sandbox in sandboxes}


def create_sandbox_app(sandboxes: dict[str, Sandbox] | None = None, order_interval_s: float | None = None) -> Litestar:
    """A standalone app serving every sandbox under /sandbox/<system>.

    With `order_interval_s`, each sandbox creates a new order at that interval.
    """
    sandboxes = sandboxes or build_sandboxes()

    @contextlib.asynccontextmanager
    async def order_stream(app: Litestar) -> AsyncIterator[None]:
        async def produce() -> None:
            while True:
                await asyncio.sleep(order_interval_s or 0)
                for sandbox in sandboxes.values():
                    sandbox.generate_orders(1)

        task = asyncio.create_task(produce()) if order_interval_s else None
        try:
            yield
        finally:
            if task:
                task.cancel()

    app = Litestar(
        route_handlers=[s.router() for s in sandboxes.values()], openapi_config=None, lifespan=[order_stream]
    )
    app.state.sandboxes = sandboxes
    return app
