"""Served-app benchmark: 32 users with Locust against a real `waybill serve` process.

    uv run python -m bench.http_load                         # SQLite, 1,000,000 orders (filled once, then reused)
    uv run python -m bench.http_load --orders 20000          # a smaller run
    uv run python -m bench.http_load --database postgres://user:pass@host/waybill_bench

The filled database (bench/load.py) is copied first, so every run starts from the same orders and the
cached fill is never changed. `waybill serve` runs on the copy as in production (uvicorn, the
scheduler on, a fresh secret key), and a bare Litestar app (bench/bare_app.py) is served the same
way as the baseline. Locust (bench/locustfile.py) then runs each scenario with the same users,
paced (people who wait 0.5–1.5 s between clicks) and flat out (no wait). The server's memory is the
resident set of its process tree, sampled every 0.2 s. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from bench.dashboard import TABS
from bench.load import BENCH_PASSWORD, BENCH_USERNAME, log, prepare_postgres, prepare_sqlite, sqlite_path
from models import db

DEFAULT_ORDERS = 1_000_000
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / ".data"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0
MEMORY_TARGET_MB = 300.0
PACED = (0.5, 1.5)
#: Orders set aside per action: more than one run can use, so an action never runs dry.
POOL_SIZE = 20_000


@dataclass
class Result:
    scenario: str
    pace: str
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    max: float
    target: float | None = None


@dataclass
class Scenario:
    name: str
    pace: str
    results: list[Result] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    #: CPU seconds the server's process tree used during the scenario.
    cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.results)

    failures: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the database under test ------------------------------------------------------------------


async def working_copy(args: argparse.Namespace) -> tuple[str, callable]:
    """A copy of the filled database for this run, and how to drop it afterwards."""
    if args.database:
        import asyncpg

        url = await prepare_postgres(args.database, args.orders, refill=args.refill)
        source = url.rsplit("/", 1)[1].split("?")[0]
        copy = f"{source}_run"
        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        log(f"Copying the database {source} to {copy}")
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
            await conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
        finally:
            await conn.close()

        async def drop() -> None:
            conn = await asyncpg.connect(admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
            finally:
                await conn.close()

        return url.rsplit("/", 1)[0] + "/" + copy, drop
    await prepare_sqlite(Path(args.data_dir), args.orders, refill=args.refill)
    source = sqlite_path(Path(args.data_dir), args.orders)
    copy = source.with_name(source.stem + "-run.sqlite3")
    log(f"Copying {source.name} to {copy.name}")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, copy)

    async def remove() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)

    return f"sqlite:///{copy}", remove


async def make_plan(url: str, path: Path) -> dict:
    """The orders each action works on (each used once), an API token and the pages to open."""
    from connectors.registry import channel_kinds
    from models.accounts.users import create_api_token
    from models.db.tables import Carrier, User

    db.bind(db.engine_for(url))
    await db.start_pool(max_size=2)
    try:
        user = await User.select(User.id).where(User.username == BENCH_USERNAME).first()
        token = await create_api_token(user["id"], "load benchmark")
        carrier = await Carrier.select(Carrier.id).where(Carrier.code == "DHL").first()
        connected = ", ".join(f"'{kind}'" for kind in channel_kinds())

        async def ids(sql: str) -> list[int]:
            return [r["id"] for r in await db.fetch(sql + f" ORDER BY id DESC LIMIT {POOL_SIZE}")]

        orders = {
            # Channels with a connector (a channel of another kind is never created in the dashboard).
            "accept": await ids(
                "SELECT id FROM orders WHERE status = 'awaiting_acceptance' AND channel IN "
                f"(SELECT id FROM channel WHERE kind IN ({connected}))"
            ),
            "tracking": await ids("SELECT id FROM orders WHERE status IN ('awaiting_fulfillment', 'processing')"),
            "resubmit": await ids("SELECT id FROM orders WHERE status = 'pending_review'"),
        }
        pages = [r["id"] for r in await db.fetch("SELECT id FROM orders ORDER BY id DESC LIMIT 2000")][::31]
    finally:
        await db.close_pool()
    plan = {
        "username": BENCH_USERNAME,
        "password": BENCH_PASSWORD,
        "token": token,
        "carrier_id": carrier["id"],
        "orders": orders,
        "order_pages": pages,
        "tabs": TABS,
    }
    path.write_text(json.dumps(plan))
    return plan


# -- servers and sampling ---------------------------------------------------------------------


def start_server(command: list[str], env: dict[str, str], log_path: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    path = "/healthz" if "serve" in command else "/ping"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The server exited (code {process.returncode}); see {log_path}.")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise SystemExit(f"The server did not answer within 120 s; see {log_path}.")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class RssSampler:
    """Peak memory of a process and its children, sampled in a thread: the sum of their resident sets
    (RSS), and of their proportional sets (PSS), which count a page shared by several processes (the
    interpreter, libraries) once across them rather than once per process."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the process and its children."""
        total = 0.0
        for p in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    def _sample(self) -> None:
        rss = pss = 0
        for p in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a child that just exited
                full = p.memory_full_info()
                rss += full.rss
                pss += full.pss
        self.peak = max(self.peak, rss)
        self.peak_pss = max(self.peak_pss, pss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def log_in(base_url: str, plan_path: Path) -> None:
    """Log in through the form once; the plan gets the session and CSRF cookies for every user."""
    with httpx.Client(base_url=base_url) as client:
        page = client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        if not token:
            raise SystemExit("The log-in page has no CSRF token; cannot log in.")
        response = client.post(
            "/login",
            data={"username": BENCH_USERNAME, "password": BENCH_PASSWORD, "_csrf_token": token.group(1)},
        )
        if response.status_code not in (302, 303) or "waybill_session" not in client.cookies:
            raise SystemExit(f"Log-in as {BENCH_USERNAME!r} failed (HTTP {response.status_code}).")
        plan = json.loads(plan_path.read_text())
        plan["cookies"] = dict(client.cookies)
        plan["cookie_domain"] = "127.0.0.1"
        plan_path.write_text(json.dumps(plan))


# -- Locust -----------------------------------------------------------------------------------


def run_locust(scenario: Scenario, host: str, plan_path: Path, args: argparse.Namespace, out: Path) -> None:
    think = PACED if scenario.pace == "paced" else (0, 0)
    prefix = out / f"{scenario.name}-{scenario.pace}"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s",
        "-H", host, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10",
    ]  # fmt: skip
    env = {
        **os.environ,
        "BENCH_SCENARIO": scenario.name,
        "BENCH_PLAN": str(plan_path),
        "BENCH_THINK_MIN": str(think[0]),
        "BENCH_THINK_MAX": str(think[1]),
        "BENCH_SHARE": str(args.paces.index(scenario.pace)),
        "BENCH_SHARES": str(len(args.paces)),
    }
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"Locust failed:\n{done.stdout}\n{done.stderr}")
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] in ("Aggregated", "log in (setup)"):
                continue
            target = None if scenario.name == "bare" else TARGET_MS
            scenario.results.append(
                Result(
                    scenario.name,
                    scenario.pace,
                    row["Name"],
                    int(row["Request Count"]),
                    int(row["Failure Count"]),
                    float(row["Requests/s"]),
                    float(row["50%"]),
                    float(row["95%"]),
                    float(row["99%"]),
                    float(row["Max Response Time"]),
                    target,
                )
            )
    with open(f"{prefix}_failures.csv", newline="") as f:
        for row in csv.DictReader(f):
            scenario.failures.append(f"{row['Name']}: {row['Error']} ({row['Occurrences']}×)")


# -- the report -------------------------------------------------------------------------------

COLUMNS = ("scenario", "what", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "result")


def _verdict(result: Result, paced: bool) -> str:
    if result.target is None:
        return "baseline"
    if not paced:
        return "(capacity)"
    ok = result.p95 <= result.target and result.failures == 0
    return "ok" if ok else "MISSED"


def _cells(r: Result) -> list[str]:
    return [
        f"{r.scenario}, {r.pace}",
        r.name,
        f"{r.requests:,}",
        f"{r.failures:,}",
        f"{r.rps:,.1f}",
        f"{r.p50:g}",
        f"{r.p95:g}",
        f"{r.p99:g}",
        f"{r.max:,.0f}",
        _verdict(r, r.pace == "paced"),
    ]


def _rows(scenarios: list[Scenario]) -> list[list[str]]:
    rows = []
    for s in scenarios:
        rows += [_cells(r) for r in s.results]
        total = sum(r.requests for r in s.results)
        rows.append([f"{s.name}, {s.pace}", "all requests", f"{total:,}", f"{sum(r.failures for r in s.results):,}",
                     f"{sum(r.rps for r in s.results):,.1f}", "", "", "", "", ""])  # fmt: skip
    return rows


def cpu_lines(scenarios: list[Scenario], duration: int) -> list[str]:
    """CPU per request: what a request costs the server, whatever else the machine was doing."""
    return [
        f"{s.name}, {s.pace}: {s.cpu_s:.1f} s in {duration} s ({s.cpu_s / duration:.0%} of a core), "
        f"{1000 * s.cpu_s / max(s.requests, 1):.1f} ms per request"
        for s in scenarios
    ]


def print_report(scenarios: list[Scenario], memory: list[tuple[str, float, float]], duration: int) -> None:
    table = [list(COLUMNS), *_rows(scenarios)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    for n, line in enumerate(table):
        cells = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(line[2:-1], widths[2:-1], strict=True)]
        print("  ".join([*cells, line[-1]]))
        if n == 0:
            print("-" * (sum(widths) + 2 * len(widths)))
    print("\nServer CPU (process tree, user + system) per scenario:")
    for line in cpu_lines(scenarios, duration):
        print(f"  {line}")
    print("\nServer peak memory of the process tree (RSS: summed resident sets; PSS: shared pages counted once):")
    for name, rss, pss in memory:
        print(f"  {name}: RSS {rss:,.0f} MB, PSS {pss:,.0f} MB")
    failures = [f"  {s.name}, {s.pace}: {f}" for s in scenarios for f in s.failures]
    if failures:
        print("\nErrors:\n" + "\n".join(failures))


def markdown(scenarios: list[Scenario], memory: list[tuple[str, float, float]], duration: int) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|---|" + "---:|" * (len(COLUMNS) - 3) + "---|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(scenarios)]
    lines += ["", *[f"- CPU {line}" for line in cpu_lines(scenarios, duration)]]
    lines += ["", "| server | peak RSS MB | peak PSS MB |", "|---|---:|---:|"]
    lines += [f"| {name} | {rss:,.0f} | {pss:,.0f} |" for name, rss, pss in memory]
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------


async def prepare(args: argparse.Namespace, work: Path) -> tuple[str, callable, dict]:
    url, drop = await working_copy(args)
    plan = await make_plan(url, work / "plan.json")
    sizes = ", ".join(f"{name} {len(ids):,}" for name, ids in plan["orders"].items())
    log(f"Orders set aside per action: {sizes}")
    return url, drop, plan


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="waybill-http-load-"))
    url, drop, _plan = asyncio.run(prepare(args, work))
    plan_path = work / "plan.json"
    scenarios: list[Scenario] = []
    memory: list[tuple[str, float, float]] = []
    waybill_bin = str(Path(sys.executable).parent / "waybill")
    try:
        port = free_port()
        bare = start_server(
            [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), "--log-level", "warning"],
            {},
            work / "bare.log",
            port,
        )
        try:
            with RssSampler(bare.pid) as sampler:
                for pace in args.paces:
                    scenario = Scenario("bare", pace)
                    log(f"Scenario bare Litestar, {pace}: {args.users} users for {args.duration} s")
                    cpu = sampler.cpu()
                    run_locust(scenario, f"http://127.0.0.1:{port}", plan_path, args, work)
                    scenario.cpu_s = sampler.cpu() - cpu
                    scenarios.append(scenario)
            memory.append(("bare Litestar (baseline)", sampler.peak / 2**20, sampler.peak_pss / 2**20))
        finally:
            stop_server(bare)

        port = free_port()
        env = {
            "WAYBILL_DATABASE_URL": url,
            "WAYBILL_SECRET_KEY": secrets.token_urlsafe(48),
            "WAYBILL_SCHEDULER": "1" if args.scheduler else "0",
        }
        server = start_server(
            [waybill_bin, "serve", "--port", str(port), "--workers", str(args.workers)], env, work / "waybill.log", port
        )
        try:
            log_in(f"http://127.0.0.1:{port}", plan_path)
            with RssSampler(server.pid) as sampler:
                for name in ("actions", "pages"):
                    for pace in args.paces:
                        scenario = Scenario(name, pace)
                        log(f"Scenario {name}, {pace}: {args.users} users for {args.duration} s")
                        with RssSampler(server.pid) as one:
                            cpu = one.cpu()
                            run_locust(scenario, f"http://127.0.0.1:{port}", plan_path, args, work)
                            scenario.cpu_s = one.cpu() - cpu
                        scenario.peak_rss_mb = one.peak / 2**20
                        scenarios.append(scenario)
                        during = f"waybill serve during {name}, {pace}"
                        memory.append((during, scenario.peak_rss_mb, one.peak_pss / 2**20))
            memory.append(("waybill serve, whole run", sampler.peak / 2**20, sampler.peak_pss / 2**20))
        finally:
            stop_server(server)
    finally:
        if not args.keep:
            asyncio.run(drop())
    kind = "PostgreSQL" if args.database else "SQLite"
    print(f"\n{kind}, {args.orders:,} orders, {args.users} users, {args.duration} s per scenario, "
          f"waybill serve --workers {args.workers}, "
          f"load average {os.getloadavg()[0]:.1f}; logs and Locust CSVs in {work}\n")  # fmt: skip
    print_report(scenarios, memory, args.duration)
    if args.markdown:
        Path(args.markdown).write_text(markdown(scenarios, memory, args.duration) + "\n")
    missed = [r for s in scenarios for r in s.results if _verdict(r, r.pace == "paced") == "MISSED"]
    over = memory and memory[-1][2] > MEMORY_TARGET_MB  # what the server takes from the machine
    return 1 if args.strict and (missed or over) else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="orders in the database (default 1,000,000)")
    parser.add_argument("--database", default="", help="a postgres:// URL (default: a SQLite file in --data-dir)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="where filled SQLite files are cached")
    parser.add_argument("--users", type=int, default=32, help="concurrent Locust users (default 32)")
    parser.add_argument("--duration", type=int, default=30, help="seconds per scenario (default 30)")
    parser.add_argument(
        "--paces", nargs="+", default=["paced", "flat-out"], choices=["paced", "flat-out"], help="which paces to run"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes of `waybill serve` (default: one per CPU core)",
    )
    parser.add_argument("--no-scheduler", dest="scheduler", action="store_false", help="WAYBILL_SCHEDULER=0")
    parser.add_argument("--refill", action="store_true", help="rebuild the filled database even if one exists")
    parser.add_argument("--keep", action="store_true", help="keep the working copy of the database")
    parser.add_argument("--markdown", default="", help="also write the tables as Markdown to this file")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
