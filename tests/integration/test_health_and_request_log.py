"""What the operations guide promises monitors and log collectors: /healthz, /readyz, JSON request lines."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time

import httpx

from models import db
from models.db.migrate import known_migration_ids
from tests.conftest import login, serve_in_test_loop
from web.app import create_app
from web.request_log import request_logging

WAYBILL = [sys.executable, "-c", "from web.cli import main; main()"]
#: `waybill serve` refuses a key of one repeated character.
SECRET_KEY = "request-log-test-secret-key-0123456789"


async def test_readyz_is_ready_on_a_migrated_database_without_login(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_keeps_an_instance_out_until_migrations_ran(client):
    newest = known_migration_ids()[-1]
    row = (await db.fetch("SELECT name, app_name, ran_on FROM migration WHERE name = {}", newest))[0]
    await db.fetch("DELETE FROM migration WHERE name = {}", newest)
    try:
        response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["pending_migrations"] == [newest]
        assert "run `waybill migrate`" in body["detail"]
        # Liveness is only about the process and its database: a restart would not help here.
        assert (await client.get("/healthz")).status_code == 200
    finally:  # the PostgreSQL test database is shared by the session
        await db.fetch(
            "INSERT INTO migration (name, app_name, ran_on) VALUES ({}, {}, {})",
            row["name"],
            row["app_name"],
            row["ran_on"],
        )
    assert (await client.get("/readyz")).status_code == 200


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_each_request_is_logged_as_one_json_object_with_its_user(settings, users):
    logger, collect = logging.getLogger("waybill.request"), Collect()
    app = create_app(settings)
    async with serve_in_test_loop(app):  # runs the app's lifespan
        transport = httpx.ASGITransport(app=request_logging(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            await login(client, "operator")
            level = logger.level
            logger.addHandler(collect)
            logger.setLevel(logging.INFO)
            try:
                response = await client.get("/orders", params={"q": "Dvořák"})
                assert response.status_code == 200
                await client.get("/no-such-page")
            finally:
                logger.removeHandler(collect)
                logger.setLevel(level)
    records = [json.loads(line) for line in collect.lines]
    assert [(r["method"], r["path"], r["status"], r["user"]) for r in records] == [
        ("GET", "/orders", 200, "operator"),
        ("GET", "/no-such-page", 404, "operator"),  # an unknown address is answered after log-in, too
    ]
    assert all(isinstance(r["duration_ms"], float) and r["duration_ms"] > 0 for r in records)
    assert not any("Dvořák" in line for line in collect.lines)  # searches name customers: no query strings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "waybill serve did not start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)


def test_waybill_serve_writes_request_lines_instead_of_an_access_log(database_url, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "WAYBILL_DATABASE_URL": database_url,
        "WAYBILL_SECRET_KEY": SECRET_KEY,
        "WAYBILL_SCHEDULER": "0",
    }
    process = subprocess.Popen(
        [*WAYBILL, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        _wait_until_ready(process, port)
        httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"x-forwarded-for": "203.0.113.7"})
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[1]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    health = [line for line in lines if line["path"] == "/healthz"]
    assert health and health[-1]["status"] == 200 and health[-1]["user"] is None
    assert health[-1]["forwarded_for"] == "203.0.113.7"
    assert '"GET /healthz HTTP/1.1" 200' not in output  # uvicorn's own access line is off


def _worker_processes(pid: int) -> set[int]:
    """The worker processes uvicorn spawned (not its multiprocessing helper processes)."""
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        children = {int(child) for child in listing.read().split()}
    workers = set()
    for child in children:
        with contextlib.suppress(FileNotFoundError), open(f"/proc/{child}/cmdline", "rb") as cmdline:
            if b"spawn_main" in cmdline.read():
                workers.add(child)
    return workers


def test_waybill_serve_with_workers_answers_from_that_many_processes(database_url):
    port = _free_port()
    env = {
        **os.environ,
        "WAYBILL_DATABASE_URL": database_url,
        "WAYBILL_SECRET_KEY": SECRET_KEY,
        "WAYBILL_SCHEDULER": "1",
    }
    process = subprocess.Popen(
        [*WAYBILL, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_until_ready(process, port)
        deadline = time.monotonic() + 60
        while len(workers := _worker_processes(process.pid)) < 2:  # the second may still be starting
            assert time.monotonic() < deadline, f"only {len(workers)} worker process(es) started"
            time.sleep(0.2)
        statuses = [httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code for _ in range(30)]
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[1]
    assert statuses == [200] * 30
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    answered_by = {line["pid"] for line in lines if line["path"] == "/readyz"}
    assert answered_by and answered_by <= workers, (answered_by, workers)
    assert len(workers) == 2


async def test_a_served_worker_compiles_every_template_and_freezes_its_start_up_objects(settings):
    import gc

    from web.production import settle_after_start_up

    app = create_app(settings, lifespan_hooks=[settle_after_start_up])
    engine = app.template_engine.engine
    try:
        async with serve_in_test_loop(app):
            assert gc.get_freeze_count() > 10_000
            assert len(engine.cache) == len(engine.list_templates(extensions=["html"]))
    finally:
        gc.unfreeze()
