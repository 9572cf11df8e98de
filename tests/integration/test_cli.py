"""The `waybill` command as an operator runs it: migrate, user create, serve refusing unsafe starts, demo."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import httpx

from models.accounts.login import authenticate
from models.db.tables import User

WAYBILL = [sys.executable, "-c", "from web.cli import main; main()"]


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*WAYBILL, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


async def test_user_create_takes_the_password_from_the_environment_and_never_prints_it(database_url):
    result = run(
        ["user", "create", "--username", "alice", "--role", "admin", "--email", "alice@example.com"],
        {"WAYBILL_DATABASE_URL": database_url, "WAYBILL_USER_PASSWORD": "s3cret-enough"},
    )
    assert result.returncode == 0, result.stderr
    assert "Created admin 'alice'" in result.stdout
    assert "s3cret-enough" not in result.stdout + result.stderr
    user = await User.select().where(User.username == "alice").first()
    assert user["role"] == "admin" and user["email"] == "alice@example.com"
    assert await authenticate("alice", "s3cret-enough", "127.0.0.1") is not None


async def test_user_create_explains_a_refused_value(database_url):
    result = run(
        ["user", "create", "--username", "x", "--role", "operator"],
        {"WAYBILL_DATABASE_URL": database_url, "WAYBILL_USER_PASSWORD": "short"},
    )
    assert result.returncode == 1
    assert "password: Use at least 8 characters." in result.stderr
    assert "username:" in result.stderr


def test_serve_refuses_to_start_without_secret_key_and_database():
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYBILL_")}
    result = subprocess.run([*WAYBILL, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "WAYBILL_SECRET_KEY must be set" in result.stderr
    assert "WAYBILL_DATABASE_URL must be set" in result.stderr


async def test_migrate_is_repeatable(database_url):
    for _ in range(2):
        result = run(["migrate"], {"WAYBILL_DATABASE_URL": database_url})
        assert result.returncode == 0, result.stderr
        assert "Database is up to date." in result.stdout


def test_demo_fills_every_tab_before_it_answers(tmp_path):
    """Once the demo answers, every tab holds orders and the review tab shows real marketplace mistakes.
    How long the fill takes is a figure of `python -m bench.demo_fill`; the clock here only guards a hang."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    process = subprocess.Popen(
        [*WAYBILL, "demo", "--port", str(port), "--data-dir", str(tmp_path / "demo")],
        env={**os.environ, "WAYBILL_SCHEDULER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            while True:
                assert time.monotonic() - started < 120, "the demo did not start"
                assert process.poll() is None, process.stdout.read()
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            login = client.get("/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
            response = client.post("/login", data={"username": "demo", "password": "demo", "_csrf_token": token})
            assert response.status_code in (302, 303)
            page = client.get("/orders")
            tab_count = r'href="/orders\?tab=(\w+)[^"]*"[^>]*>\s*[^<]*<span class="count">([\d,]+)'
            counts = dict(re.findall(tab_count, page.text))
            assert set(counts) >= {
                "pending_review", "awaiting_acceptance", "awaiting_fulfillment", "processing",
                "shipped", "delivered", "closed", "all",
            }, page.text[:2000]  # fmt: skip
            empty = [tab for tab, n in counts.items() if int(n.replace(",", "")) == 0]
            assert not empty, f"empty tabs in the demo: {empty}"
            review = client.get("/orders?tab=pending_review").text
            assert re.search(r"Missing surname|Invalid postcode|Missing street", review)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "Log in as 'demo' with password 'demo'" in output
    key_file = tmp_path / "demo" / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600, "the demo's key is readable by its owner only"
    assert len(key_file.read_text().strip()) >= 32, "a random key of the demo's own, not a fixed fallback"
