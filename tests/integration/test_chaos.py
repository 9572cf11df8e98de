"""A small run of bench/chaos.py: three instances killed while orders flow, then reconciled clean.

PostgreSQL only: the run is about several instances sharing one production database.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import databases

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not databases.is_postgres(), reason="several instances need PostgreSQL")


def test_three_instances_killed_twice_lose_duplicate_and_mismatch_nothing(tmp_path):
    url = databases.postgres_url(f"waybill_chaos_test_{os.getpid()}")
    figures = tmp_path / "chaos.json"
    command = [sys.executable, "-m", "bench.chaos", "--database", url, "--orders", "60", "--kills", "2"]
    command += ["--kill-every", "5", "--timeout", "240", "--settle", "60", "--json", str(figures)]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=420, check=False)
    finally:
        asyncio.run(databases.drop_postgres_database(url.rsplit("/", 1)[1]))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    outcome = json.loads(figures.read_text())
    assert outcome["kills"] == 2 and outcome["restarts"] == 2
    assert (outcome["imported"], outcome["shipped"]) == (60, 60)
    assert (outcome["lost"], outcome["duplicated"], outcome["mismatched"]) == (0, 0, 0)
    assert (outcome["channel_twice"], outcome["supplier_twice"], outcome["unknown_at_suppliers"]) == (0, 0, 0)
    assert outcome["outbox_not_done"] == 0
