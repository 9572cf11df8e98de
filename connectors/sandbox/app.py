"""Serve the marketplace sandboxes: inside `waybill demo`, or standalone for tests and trials."""

from __future__ import annotations

from litestar import Litestar

from connectors.sandbox.common import Sandbox


def build_sandboxes(seed: int | None = None) -> dict[str, Sandbox]:
    from connectors.sandbox.backmarket import BackMarketSandbox
    from connectors.sandbox.mall import MallSandbox
    from connectors.sandbox.mirakl import MiraklSandbox

    sandboxes: list[Sandbox] = [MiraklSandbox(seed), BackMarketSandbox(seed), MallSandbox(seed)]
    return {sandbox.name: sandbox for sandbox in sandboxes}


def create_sandbox_app(sandboxes: dict[str, Sandbox] | None = None) -> Litestar:
    """A standalone app serving every sandbox under /sandbox/<system>."""
    sandboxes = sandboxes or build_sandboxes()
    app = Litestar(route_handlers=[s.router() for s in sandboxes.values()], openapi_config=None)
    app.state.sandboxes = sandboxes
    return app
