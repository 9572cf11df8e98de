"""The log-in limit holds under a burst: attempts are reserved before their password is hashed, so a
burst of wrong passwords sent at once gets at most five checks per username, on SQLite and PostgreSQL,
and the attempts stay on record."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import httpx
import pytest

from models.accounts import passwords
from models.accounts.login import MAX_FAILURES_PER_USERNAME, authenticate
from models.accounts.passwords import HashingBusy, verify_password
from models.db.tables import LoginAttempt
from tests.conftest import TEST_PASSWORD
from tests.integration.support import served_app

BURST = 60


async def login_form(http: httpx.AsyncClient) -> str:
    page = await http.get("/login")
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def test_a_burst_of_wrong_passwords_gets_at_most_five_checks_and_the_right_one_waits(settings, users):
    async with served_app(settings) as base, httpx.AsyncClient(base_url=base, timeout=120) as first:
        token = await login_form(first)
        clients = [httpx.AsyncClient(base_url=base, timeout=120, cookies=first.cookies) for _ in range(BURST + 1)]

        async def attempt(n: int) -> httpx.Response:
            password = TEST_PASSWORD if n == BURST else f"wrong-guess-{n}"
            data = {"username": "operator", "password": password, "_csrf_token": token, "next": "/orders"}
            return await clients[n].post("/login", data=data)

        answers = await asyncio.gather(*(attempt(n) for n in range(BURST + 1)))
        for client in clients:
            await client.aclose()
    codes = [answer.status_code for answer in answers]
    checked = [code for code in codes if code in (401, 302)]
    assert len(checked) <= MAX_FAILURES_PER_USERNAME, f"{len(checked)} passwords were checked: {sorted(codes)}"
    assert codes.count(429) >= BURST + 1 - MAX_FAILURES_PER_USERNAME
    assert all(answer.headers.get("retry-after") for answer in answers if answer.status_code == 429)

    outcomes = [row["outcome"] for row in await LoginAttempt.select(LoginAttempt.outcome)]
    assert len(outcomes) == BURST + 1, "every attempt is on record, checked or not"
    assert outcomes.count("failed") + outcomes.count("succeeded") == len(checked)
    assert outcomes.count("refused") == BURST + 1 - len(checked)


async def test_a_success_keeps_the_failures_before_it_on_record(users):
    for _ in range(3):
        assert await authenticate("operator", "not-the-password", "10.0.0.1") is None
    assert await authenticate("Operator", TEST_PASSWORD, "10.0.0.1") is not None, "usernames ignore case"
    rows = await LoginAttempt.select(LoginAttempt.outcome, LoginAttempt.username).order_by(LoginAttempt.id)
    assert [r["outcome"] for r in rows] == ["failed", "failed", "failed", "succeeded"]
    assert {r["username"] for r in rows} == {"operator"}
    # The success closes the count: five more failures are checked before the pause.
    for _ in range(MAX_FAILURES_PER_USERNAME):
        assert await authenticate("operator", "still-wrong", "10.0.0.1") is None


async def test_password_checks_run_a_few_at_a_time_and_a_flood_is_told_to_retry(monkeypatch):
    in_flight, most = 0, 0
    lock = threading.Lock()
    real = passwords._check

    def counting_verify(hashed: str, password: str) -> bool:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            time.sleep(0.02)
            return real(hashed, password)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(passwords, "_check", counting_verify)
    hashed = passwords.hash_password("a-password-here")
    total = passwords.HASHES_IN_FLIGHT + passwords.HASHES_WAITING + 10
    results = await asyncio.gather(
        *(verify_password(hashed, "a-password-here") for _ in range(total)), return_exceptions=True
    )
    assert most <= passwords.HASHES_IN_FLIGHT
    busy = [r for r in results if isinstance(r, HashingBusy)]
    assert len(busy) >= 10 and all(r is True for r in results if not isinstance(r, HashingBusy))
    assert "Try again in a few seconds" in busy[0].message


@pytest.mark.parametrize(
    "password",
    ["        ", "aaaaaaaaaaaa", "password123", "Qwertyuiop", "newuser1"],
)
async def test_weak_passwords_are_refused(users, password):
    from models.accounts.users import create_user
    from models.core.errors import FieldErrors

    with pytest.raises(FieldErrors) as refused:
        await create_user("newuser1", password, "operator")
    assert "password" in refused.value.errors


async def test_usernames_are_unique_without_regard_to_case(users):
    from models.accounts.users import create_user
    from models.core.errors import FieldErrors

    with pytest.raises(FieldErrors) as refused:
        await create_user("OPERATOR", "a-fine-long-password", "operator")
    assert "taken" in refused.value.errors["username"]
