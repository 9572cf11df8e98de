"""schemathesis against the OpenAPI schema the app serves: no 5xx, and every answer as the schema declares.

The real app runs under uvicorn on this test's database, with orders in several states to act on, and is
driven over HTTP with an operator's API token. The run is bounded so it fits the suite; set
`WAYBILL_FUZZ_EXAMPLES` (cases per operation, default 12) for a longer one, e.g. `make api-fuzz`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from models.accounts.users import create_api_token
from models.core.actors import Actor
from models.db.tables import Carrier, OrderLine, User
from models.fulfilment.shipping import add_shipment
from models.orders.acceptance import accept_order
from tests.conftest import TEST_PASSWORD, csrf_from, import_one, make_order
from tests.e2e.conftest import ROOT, _free_port, _wait_healthy

EXAMPLES = int(os.environ.get("WAYBILL_FUZZ_EXAMPLES", "12"))
SECRET = "fuzz-" + "k" * 40


async def seed(channel: dict) -> None:
    """Orders to act on: waiting for acceptance, in review, accepted, and accepted with a parcel."""
    await Carrier.insert(Carrier(name="Fuzz Post", code="FUZZ"))
    carrier = await Carrier.select().first()
    for n in range(1, 7):
        order_id = await import_one(channel, make_order(f"FUZZ-{n}", last_name="" if n == 2 else "Novák"))
        if n >= 4:
            await accept_order(order_id, Actor.user("operator"))
        if n >= 5:
            lines = await OrderLine.select().where(OrderLine.order == order_id)
            await add_shipment(
                order_id, {lines[0]["id"]: 1}, Actor.user("operator"), carrier_id=carrier["id"], tracking_number="FZ1"
            )


def served_schema(base: str) -> dict:
    """The schema as a signed-in person reads it at /schema/openapi.json."""
    with httpx.Client(base_url=base, follow_redirects=True) as http:
        form = http.get("/login")
        http.post(
            "/login",
            data={
                "username": "viewer",
                "password": TEST_PASSWORD,
                "next": "/orders",
                "_csrf_token": csrf_from(form.text),
            },
        )
        response = http.get("/schema/openapi.json")
        response.raise_for_status()
        return response.json()


def run_schemathesis(schema_path: Path, base: str, token: str, report: Path) -> subprocess.CompletedProcess:
    config = ROOT / "tests" / "schemathesis.toml"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(schema_path)]
    command += ["--url", base]
    command += ["--header", f"Authorization: Bearer {token}", "--checks", "all"]
    command += ["--max-examples", str(EXAMPLES), "--seed", "20261124", "--workers", "1", "--no-color"]
    command += ["--generation-database", "none", "--report", "junit", "--report-junit-path", str(report)]
    # (its cache goes to the working directory: the test's own, not the project)
    return subprocess.run(command, cwd=report.parent, capture_output=True, text=True, timeout=1800, check=False)


async def test_the_api_answers_as_its_served_schema_says(database_url, users, channel, tmp_path):
    await seed(channel)
    operator = await User.select(User.id).where(User.username == "operator").first()
    token = await create_api_token(operator["id"], "schemathesis")
    port = _free_port()
    env = {
        **os.environ,
        "WAYBILL_DATABASE_URL": database_url,
        "WAYBILL_SCHEDULER": "0",
        "WAYBILL_SECRET_KEY": SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "server.log"
    command = [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server, log_path)
        schema = served_schema(base)
        assert schema["paths"], "the served schema lists the API"
        schema_path = tmp_path / "openapi.json"
        schema_path.write_text(httpx.Response(200, json=schema).text)
        done = run_schemathesis(schema_path, base, token, tmp_path / "junit.xml")
    finally:
        server.terminate()
        server.wait(timeout=10)
    server_log = log_path.read_text(errors="replace")
    assert done.returncode == 0, f"{done.stdout[-20000:]}\n{done.stderr[-5000:]}\nserver log:\n{server_log[-5000:]}"
    assert "Traceback" not in server_log, server_log[-5000:]
