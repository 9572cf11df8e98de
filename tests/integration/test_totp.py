"""Two-step verification (issue 18, finding 11): any user adds a TOTP second factor on My account, confirmed
by a first code and backed by one-time recovery codes; the log-in then asks for a code before any session
exists; codes are not accepted twice, wrong ones count against the log-in limit, and the waiting step
expires. With WAYBILL_REQUIRE_ADMIN_TOTP an admin without it is sent to set it up. Admins and the command
line reset it for someone who lost their phone.

The clock is frozen (`models.core.clock.frozen_at`) so that the codes pyotp computes fall in known 30-second
steps; the app is served in the test's own loop and reads the same clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pyotp
import pytest

from models.accounts.login import MAX_FAILURES_PER_USERNAME
from models.accounts.second_factor import is_enabled
from models.accounts.users import create_api_token
from models.core.clock import frozen_at
from models.db.tables import ALL_TABLES, Event, LoginAttempt, LoginChallenge, RecoveryCode, User, UserSession, UserTotp
from tests.conftest import TEST_PASSWORD, csrf_from, login, serve_in_test_loop
from web.app import create_app
from web.settings import Settings

#: A moment 10 s into a 30-second step, so that a few seconds of test never cross a step by accident.
START = dt.datetime(2027, 3, 1, 9, 0, 10, tzinfo=dt.UTC)


class Clock:
    """The app's clock, frozen and moved by hand."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.stack = stack
        self.moment = START

    def set(self, moment: dt.datetime) -> None:
        self.stack.enter_context(frozen_at(moment))
        self.moment = moment

    def advance(self, seconds: float) -> None:
        self.set(self.moment + dt.timedelta(seconds=seconds))


@pytest.fixture
def clock() -> Iterator[Clock]:
    with contextlib.ExitStack() as stack:
        frozen = Clock(stack)
        frozen.set(START)
        yield frozen


def code(totp: pyotp.TOTP, clock: Clock, steps: int = 0) -> str:
    """The code the app shows at the frozen moment, `steps` 30-second steps later."""
    return totp.at(clock.moment + dt.timedelta(seconds=30 * steps))


def wrong_codes(totp: pyotp.TOTP, clock: Clock, count: int = 1) -> list[str]:
    """Six-digit codes that are none of the codes accepted now (the window is one step either side)."""
    valid = {code(totp, clock, steps) for steps in (-1, 0, 1)}
    return [guess for guess in (f"{n:06d}" for n in range(count + 3)) if guess not in valid][:count]


def browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser on the same app: its own cookies."""
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url, follow_redirects=True)


async def post(client: httpx.AsyncClient, path: str, page: str = "/account", **data: str) -> httpx.Response:
    token = csrf_from((await client.get(page)).text)
    return await client.post(path, data={"_csrf_token": token, **data})


async def opens(client: httpx.AsyncClient, path: str = "/orders") -> bool:
    answer = await client.get(path)
    return answer.status_code == 200 and str(answer.url).endswith(path)


async def password_step(client: httpx.AsyncClient, username: str, next_path: str = "/orders") -> httpx.Response:
    form = await client.get("/login")
    return await client.post(
        "/login",
        data={"username": username, "password": TEST_PASSWORD, "next": next_path, "_csrf_token": csrf_from(form.text)},
    )


async def code_step(client: httpx.AsyncClient, typed: str) -> httpx.Response:
    form = await client.get("/login/code")
    return await client.post("/login/code", data={"code": typed, "_csrf_token": csrf_from(form.text)})


async def enrol(client: httpx.AsyncClient, clock: Clock) -> tuple[pyotp.TOTP, list[str]]:
    """My account → Set up two-step verification, the key read from the page, its current code confirmed."""
    page = await post(client, "/account/two-step/setup")
    assert page.status_code == 200, page.text
    secret = re.search(r'id="totp-secret">([^<]+)<', page.text).group(1).replace(" ", "")
    assert 'src="data:image/svg+xml' in page.text, "the QR code is an SVG data: image"
    totp = pyotp.TOTP(secret)
    done = await post(client, "/account/two-step/confirm", "/account/two-step", code=code(totp, clock))
    assert done.status_code == 200 and "Two-step verification is on." in done.text, done.text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
    return totp, codes


async def user_id(username: str) -> int:
    return (await User.select(User.id).where(User.username == username).first())["id"]


async def live_sessions(username: str) -> int:
    return await UserSession.count().where(
        (UserSession.user == await user_id(username)) & UserSession.ended_at.is_null()
    )


async def database_text() -> str:
    parts = []
    for table in ALL_TABLES:
        parts.extend(repr(row) for row in await table.select())
    return "\n".join(parts)


# Enrolment -----------------------------------------------------------------------------------------------


async def test_a_wrong_first_code_turns_nothing_on_and_the_right_one_shows_recovery_codes_once(client, users, clock):
    await login(client, "operator")
    async with browser(client) as elsewhere:
        await login(elsewhere, "operator")
        page = await post(client, "/account/two-step/setup")
        secret = re.search(r'id="totp-secret">([^<]+)<', page.text).group(1).replace(" ", "")
        totp = pyotp.TOTP(secret)

        wrong = await post(client, "/account/two-step/confirm", "/account/two-step", code=wrong_codes(totp, clock)[0])
        assert wrong.status_code == 400
        assert "That is not the code your app shows for this secret." in wrong.text
        assert not await is_enabled(await user_id("operator"))
        assert not await Event.exists().where(Event.kind == "account_totp_enabled")
        too_old = await post(client, "/account/two-step/confirm", "/account/two-step", code=code(totp, clock, -2))
        assert too_old.status_code == 400, "a code from a minute ago is outside the window"

        done = await post(client, "/account/two-step/confirm", "/account/two-step", code=code(totp, clock))
        assert done.status_code == 200 and "Two-step verification is on. 1 other session(s) ended." in done.text
        codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
        assert len(codes) == 10 and len(set(codes)) == 10
        assert await opens(client) and not await opens(elsewhere), "other sessions end, this one stays"

    again = await client.get("/account/two-step")
    assert "10 of 10 recovery codes left" in again.text
    assert not any(c in again.text for c in codes), "recovery codes are shown once"
    stored = await database_text()
    assert secret not in stored and not any(c in stored or c.replace("-", "") in stored for c in codes)
    assert await RecoveryCode.count() == 10
    event = await Event.select().where(Event.kind == "account_totp_enabled").first()
    assert event["actor_name"] == "operator" and "turned on for operator" in event["message"]


# Log-in ----------------------------------------------------------------------------------------------------


async def test_the_log_in_asks_for_the_code_before_any_session_and_keeps_next(client, users, clock):
    await login(client, "operator")
    totp, _ = await enrol(client, clock)
    await post(client, "/logout", "/orders")
    clock.advance(30)

    answer = await password_step(client, "operator", next_path="/settings")
    assert str(answer.url).endswith("/login/code")
    assert "Two-step verification for <strong>operator</strong>" in answer.text
    assert await live_sessions("operator") == 0, "no session before the code"
    assert not await opens(client, "/settings"), "the password alone opens nothing"
    attempts = [r["outcome"] for r in await LoginAttempt.select(LoginAttempt.outcome).order_by(LoginAttempt.id)]
    assert attempts[-1] == "password_only"

    await password_step(client, "operator", next_path="/settings")
    wrong = await code_step(client, wrong_codes(totp, clock)[0])
    assert wrong.status_code == 401 and "Wrong code." in wrong.text
    csrf_before = client.cookies.get("waybill_csrf")
    now_code = code(totp, clock)
    right = await code_step(client, f"{now_code[:3]} {now_code[3:]}")  # as apps show it
    assert right.status_code == 200 and str(right.url).endswith("/settings"), "the next target survives"
    assert await live_sessions("operator") == 1
    assert client.cookies.get("waybill_csrf") != csrf_before, "a new CSRF token with the session"
    assert await LoginChallenge.count().where(LoginChallenge.ended_at.is_null()) == 0


async def test_a_used_code_is_refused_and_the_next_one_works(client, users, clock):
    await login(client, "operator")
    totp, _ = await enrol(client, clock)
    client.cookies.clear()

    await password_step(client, "operator")
    replay = await code_step(client, code(totp, clock))  # the code that confirmed the set-up
    assert replay.status_code == 401 and "This code was already used." in replay.text

    clock.advance(30)
    first = await code_step(client, code(totp, clock))
    assert first.status_code == 200 and await opens(client)
    await post(client, "/logout", "/orders")

    async with browser(client) as thief:
        await password_step(thief, "operator")
        again = await code_step(thief, code(totp, clock))
        assert again.status_code == 401 and "already used" in again.text
        earlier = await code_step(thief, code(totp, clock, -1))
        assert earlier.status_code == 401, "a code older than the last accepted one is spent too"
        assert not await opens(thief)
        clock.advance(30)
        assert (await code_step(thief, code(totp, clock))).status_code == 200


async def test_two_requests_with_the_same_code_do_not_both_log_in(client, users, clock):
    await login(client, "operator")
    totp, _ = await enrol(client, clock)
    clock.advance(30)
    browsers = [browser(client) for _ in range(6)]
    try:
        for other in browsers:
            await password_step(other, "operator")
        answers = await asyncio.gather(*(code_step(other, code(totp, clock)) for other in browsers))
    finally:
        for other in browsers:
            await other.aclose()
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1 and set(statuses) <= {200, 401, 429}, statuses
    assert await live_sessions("operator") == 2  # the enrolling browser and the one winner


async def test_a_recovery_code_logs_in_once(client, users, clock):
    await login(client, "operator")
    _, codes = await enrol(client, clock)
    client.cookies.clear()

    await password_step(client, "operator")
    used = await code_step(client, codes[3].upper().replace("-", " "))
    assert used.status_code == 200 and await opens(client), "recovery codes ignore case, spaces and dashes"
    event = await Event.select().where(Event.kind == "account_recovery_code_used").first()
    assert event["message"] == "operator used a recovery code (9 left)."
    client.cookies.clear()

    await password_step(client, "operator")
    again = await code_step(client, codes[3])
    assert again.status_code == 401 and not await opens(client)
    assert (await code_step(client, codes[4])).status_code == 200


async def test_a_burst_of_wrong_codes_gets_five_checks_and_a_right_password_buys_no_more(client, users, clock):
    await login(client, "operator")
    totp, _ = await enrol(client, clock)
    clock.advance(30)
    right = code(totp, clock)
    guesses = wrong_codes(totp, clock, 40)
    attacker = browser(client)
    await password_step(attacker, "operator")
    copies = [
        httpx.AsyncClient(transport=client._transport, base_url=client.base_url, cookies=dict(attacker.cookies))
        for _ in guesses
    ]
    try:
        token = csrf_from((await copies[0].get("/login/code")).text)
        answers = await asyncio.gather(
            *(
                other.post("/login/code", data={"code": guess, "_csrf_token": token})
                for other, guess in zip(copies, guesses, strict=True)
            )
        )
    finally:
        for other in copies:
            await other.aclose()
    codes = [a.status_code for a in answers]
    assert codes.count(401) <= MAX_FAILURES_PER_USERNAME, sorted(codes)
    assert codes.count(429) >= len(guesses) - MAX_FAILURES_PER_USERNAME
    assert all(a.headers.get("retry-after") for a in answers if a.status_code == 429)
    paused = await code_step(attacker, right)
    assert paused.status_code == 429 and "Too many failed log-in attempts for this username" in paused.text

    # The right password again starts a new waiting log-in, not a new count.
    await attacker.aclose()
    clock.advance(16 * 60)  # the pause is over
    async with browser(client) as later:
        for guess in guesses[:4]:
            await password_step(later, "operator")
            assert (await code_step(later, guess)).status_code == 401
        await password_step(later, "operator")
        assert (await code_step(later, guesses[4])).status_code == 401
        await password_step(later, "operator")
        throttled = await code_step(later, code(totp, clock))
        assert throttled.status_code == 429, "five wrong codes pause the log-in, whatever the passwords between"


async def test_the_waiting_step_expires_after_five_minutes(client, users, clock):
    await login(client, "operator")
    totp, _ = await enrol(client, clock)
    client.cookies.clear()
    clock.advance(30)
    form = await password_step(client, "operator", next_path="/metrics")
    clock.advance(5 * 60 + 1)
    late = await client.post("/login/code", data={"code": code(totp, clock), "_csrf_token": csrf_from(form.text)})
    assert late.status_code == 401
    assert "The log-in waited more than 5 minutes for its code. Enter your password again." in late.text
    assert 'name="next" value="/metrics"' in late.text and 'name="password"' in late.text
    assert await live_sessions("operator") == 1  # only the enrolling browser's
    assert (await client.get("/login/code")).url.path == "/login", "the waiting log-in is gone"


async def test_a_challenge_is_bound_to_its_own_user(client, users, clock):
    """The waiting log-in is found by a random token in the encrypted cookie and names its user: the code of
    another user, or a forged cookie, opens nothing."""
    async with browser(client) as admin:
        await login(admin, "admin")
        admin_totp, _ = await enrol(admin, clock)
    await login(client, "operator")
    await enrol(client, clock)
    client.cookies.clear()
    clock.advance(30)
    await password_step(client, "operator")
    assert (await code_step(client, code(admin_totp, clock))).status_code == 401
    async with browser(client) as forged:
        forged.cookies.set("waybill_session", "forged")
        assert (await forged.get("/login/code")).url.path == "/login"


# Turning it off, resets ---------------------------------------------------------------------------------------


async def test_turning_it_off_takes_the_password_and_a_code(client, users, clock):
    await login(client, "operator")
    totp, codes = await enrol(client, clock)
    clock.advance(30)
    wrong_password = await post(
        client, "/account/two-step/disable", "/account/two-step", current_password="nope-nope", code=code(totp, clock)
    )
    assert wrong_password.status_code == 400 and "This is not your current password." in wrong_password.text
    wrong_code = await post(
        client,
        "/account/two-step/disable",
        "/account/two-step",
        current_password=TEST_PASSWORD,
        code=wrong_codes(totp, clock)[0],
    )
    assert wrong_code.status_code == 400 and "Wrong code." in wrong_code.text
    assert await is_enabled(await user_id("operator"))
    off = await post(
        client, "/account/two-step/disable", "/account/two-step", current_password=TEST_PASSWORD, code=codes[0]
    )
    assert off.status_code == 200 and "Two-step verification is off" in off.text
    assert await UserTotp.count() == 0 and await RecoveryCode.count() == 0
    assert await Event.exists().where(Event.kind == "account_totp_disabled")
    client.cookies.clear()
    await login(client, "operator")
    assert await opens(client), "the password alone logs in again"


async def test_an_admin_resets_the_second_factor_of_a_user_who_lost_their_phone(client, users, clock):
    async with browser(client) as operator:
        await login(operator, "operator")
        await enrol(operator, clock)
        await login(client, "admin")
        settings_page = await client.get("/settings")
        operator_id = await user_id("operator")
        assert f'action="/settings/users/{operator_id}/reset-two-step"' in settings_page.text
        assert "two-step on" in settings_page.text

        reset = await post(client, f"/settings/users/{operator_id}/reset-two-step", "/settings")
        assert reset.status_code == 200 and "Two-step verification of operator reset" in reset.text
        assert not await opens(operator), "their sessions end"
        event = await Event.select().where(Event.kind == "account_totp_reset").first()
        assert event["actor_name"] == "admin" and "operator" in event["message"]
        assert "Two-step verification of operator reset (1 session(s) ended)." in reset.text

        operator.cookies.clear()
        await login(operator, "operator")
        assert await opens(operator), "the password alone logs them in until they set it up again"
    assert await UserTotp.count() == 0 and await RecoveryCode.count() == 0

    await enrol(client, clock)
    own = await post(client, f"/settings/users/{await user_id('admin')}/reset-two-step", "/settings")
    assert own.status_code == 409 and "use My account: it takes your password and a code" in own.text
    assert await is_enabled(await user_id("admin")), "an admin's own goes through My account"


async def test_waybill_user_reset_totp_on_the_command_line(client, users, clock, database_url):
    await login(client, "operator")
    await enrol(client, clock)
    result = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "user", "reset-totp", "operator"],
        env={**os.environ, "WAYBILL_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Two-step verification of operator reset" in result.stdout
    assert not await is_enabled(await user_id("operator"))
    event = await Event.select().where(Event.kind == "account_totp_reset").first()
    assert event["actor_name"] == "command line"

    again = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "user", "reset-totp", "nobody"],
        env={**os.environ, "WAYBILL_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1 and "There is no user “nobody”." in again.stderr


# Required for admins ----------------------------------------------------------------------------------------


@pytest.fixture
async def strict(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with WAYBILL_REQUIRE_ADMIN_TOTP=1."""
    strict_settings = Settings(
        database_url=database_url, secret_key="t" * 40, scheduler_enabled=False, require_admin_totp=True
    )
    async with serve_in_test_loop(create_app(strict_settings)) as http:
        yield http


async def test_an_admin_without_it_is_sent_to_set_it_up_when_the_instance_requires_it(strict, users, clock):
    assert Settings.from_env().require_admin_totp is False
    await login(strict, "admin")
    landed = await strict.get("/orders")
    assert landed.url.path == "/account/two-step"
    assert "This Waybill requires two-step verification for admins" in landed.text
    for path in ("/settings", "/account", "/channels/new", "/no-such-page"):
        assert (await strict.get(path, follow_redirects=False)).headers["location"] == "/account/two-step", path
    token = csrf_from(landed.text)
    change = await strict.post(
        "/settings/timezone", data={"timezone": "Europe/Paris", "_csrf_token": token}, follow_redirects=False
    )
    assert change.status_code == 303 and change.headers["location"] == "/account/two-step"
    htmx = await strict.get("/orders/badge", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers.get("hx-redirect") == "/account/two-step"
    assert (await strict.get("/static/waybill.css")).status_code == 200

    # API tokens of such an admin keep working (documented in the README).
    api = {"Authorization": f"Bearer {await create_api_token(await user_id('admin'), 'script')}"}
    assert (await strict.get("/api/v1/orders", headers=api)).status_code == 200

    # Other roles are not asked.
    async with browser(strict) as operator:
        await login(operator, "operator")
        assert await opens(operator)

    await enrol(strict, clock)
    assert await opens(strict) and await opens(strict, "/settings")

    # Log-out stays open to an admin still to set it up.
    async with browser(strict) as other_admin:
        from models.accounts.users import create_user

        await create_user("second-admin", TEST_PASSWORD, "admin")
        await login(other_admin, "second-admin")
        bye = await other_admin.post(
            "/logout", data={"_csrf_token": csrf_from((await other_admin.get("/account/two-step")).text)}
        )
        assert bye.url.path == "/login" and not await opens(other_admin)


# The secret key -----------------------------------------------------------------------------------------------


def app_with_key(database_url: str, key: str, previous: list[str] | None = None):
    return create_app(
        Settings(database_url=database_url, secret_key=key, secret_key_previous=previous or [], scheduler_enabled=False)
    )


async def test_a_secret_follows_a_new_secret_key_and_one_no_key_reads_leaves_recovery_codes(database_url, users, clock):
    from models.accounts import credentials

    old, new, unrelated = "o" * 20 + "ld-key-0123456789", "n" * 20 + "ew-key-0123456789", "u" * 40
    async with serve_in_test_loop(app_with_key(database_url, old)) as http:
        await login(http, "operator")
        totp, codes = await enrol(http, clock)
    clock.advance(30)
    async with serve_in_test_loop(app_with_key(database_url, new, [old])) as http:
        await password_step(http, "operator")
        assert (await code_step(http, code(totp, clock))).status_code == 200 and await opens(http)
        stored = (await UserTotp.select(UserTotp.secret).first())["secret"]
        assert credentials.uses_current_key(stored), "written again with the current key once used"
    clock.advance(30)
    async with serve_in_test_loop(app_with_key(database_url, unrelated)) as http:
        await password_step(http, "operator")
        refused = await code_step(http, code(totp, clock))
        assert refused.status_code == 401
        shown = html.unescape(refused.text)
        assert "this instance's secret key does not read its secret" in shown and "ask an admin to reset" in shown
        assert (await code_step(http, codes[0])).status_code == 200 and await opens(http)
