"""Serve a sandbox marketplace over real HTTP on loopback, for contract and engine tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from litestar import Litestar

from connectors.sandbox.common import Sandbox


@pytest.fixture
def serve_sandbox() -> Iterator[Callable[[Sandbox], str]]:
    """`serve_sandbox(sandbox)` serves that sandbox on a free loopback port and returns its base URL
    (`http://127.0.0.1:<port>/sandbox/<name>`). Servers stop when the test ends."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(sandbox: Sandbox) -> str:
        app = Litestar(route_handlers=[sandbox.router()], openapi_config=None)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {sandbox.name} sandbox did not start")
            time.sleep(0.01)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}/sandbox/{sandbox.name}"

    yield serve
    for server, _ in servers:
        server.should_exit = True
    for _, thread in servers:
        thread.join(timeout=5)
