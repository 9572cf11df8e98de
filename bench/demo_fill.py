"""Demo start-up benchmark: processor time `waybill demo` spends until every order tab holds orders.

    uv run python -m bench.demo_fill              # 3 runs of each
    uv run python -m bench.demo_fill --runs 5

The target is 30 s of processor time (user + system, all threads) for the demo's own work, so a newcomer's
first `make demo` is ready in well under a minute. Processor time is counted because other work on a busy
machine does not inflate it. The baseline, measured in the same run, is `waybill serve` on an empty SQLite
file until it answers `/healthz`: interpreter, imports, migrations and app start, without the demo's data.
It prints figures and asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

WAYBILL = [sys.executable, "-c", "from web.cli import main; main()"]
TARGET_SECONDS = 30.0
TABS = ("pending_review", "awaiting_acceptance", "awaiting_fulfillment", "processing", "shipped", "delivered", "closed")
TAB_COUNT = re.compile(r'href="/orders\?tab=(\w+)[^"]*"[^>]*>\s*[^<]*<span class="count">([\d,]+)')


def processor_seconds(pid: int) -> float:
    """User and system time of a running process, all its threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(client: httpx.Client, process: subprocess.Popen, deadline: float) -> None:
    while True:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start in time")
        if process.poll() is not None:
            raise SystemExit(process.stdout.read() if process.stdout else "the server stopped")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)


def tabs_filled(client: httpx.Client) -> bool:
    login = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text)
    if token is None:
        return False
    client.post("/login", data={"username": "demo", "password": "demo", "_csrf_token": token.group(1)})
    counts = dict(TAB_COUNT.findall(client.get("/orders").text))
    return all(int(counts.get(tab, "0").replace(",", "")) > 0 for tab in TABS)


def measure(args: list[str], env: dict[str, str], *, demo: bool) -> float:
    port = free_port()
    process = subprocess.Popen(
        [*WAYBILL, *args, "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_healthy(client, process, time.monotonic() + 180)
            if demo and not tabs_filled(client):
                raise SystemExit("the demo answered with an empty tab")
            return processor_seconds(process.pid)
    finally:
        process.terminate()
        process.communicate(timeout=30)


def one_round(folder: Path, index: int) -> tuple[float, float]:
    data = folder / f"demo-{index}"
    demo = measure(["demo", "--data-dir", str(data)], {"WAYBILL_SCHEDULER": "1"}, demo=True)
    bare_env = {
        "WAYBILL_DATABASE_URL": f"sqlite:///{folder / f'bare-{index}.sqlite3'}",
        "WAYBILL_SECRET_KEY": os.urandom(24).hex(),
        "WAYBILL_SCHEDULER": "0",
    }
    subprocess.run([*WAYBILL, "migrate"], env={**os.environ, **bare_env}, check=True, capture_output=True)
    bare = measure(["serve"], bare_env, demo=False)
    return demo, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    demos: list[float] = []
    bares: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for index in range(options.runs):
            demo, bare = one_round(Path(folder), index)
            demos.append(demo)
            bares.append(bare)
            print(f"run {index + 1}: demo {demo:.1f} s, bare serve {bare:.1f} s of processor time", flush=True)
    demo, bare = statistics.median(demos), statistics.median(bares)
    verdict = "within" if demo <= TARGET_SECONDS else "OVER"
    print(f"median demo fill: {demo:.1f} s of processor time ({verdict} the {TARGET_SECONDS:.0f} s target)")
    print(f"median bare serve start: {bare:.1f} s; demo / bare = {demo / bare:.1f}x")
    print(f"the demo's own work: {demo - bare:.1f} s")


if __name__ == "__main__":
    main()
