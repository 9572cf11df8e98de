"""Log-in with a limit that holds under concurrency.

An attempt is reserved before its password is hashed: in one write transaction that first locks the
username's and the address's gate rows, the recent failures are counted and, when under the limit, a
*pending* attempt is written. Concurrent attempts for the same username or address therefore count one
after the other, on SQLite and PostgreSQL and across instances, so a burst of 200 gets at most
`MAX_FAILURES_PER_USERNAME` checks. Attempts stay as the record: a success closes the count of the
failures before it but does not delete them.

For a user with two-step verification (`models.accounts.second_factor`) a right password is not yet a
success: it is recorded as *password_only*, which neither counts nor closes the count, and each code
checked afterwards is an attempt of its own under the same limit. A right password therefore buys no
fresh round of code guesses.
"""

from __future__ import annotations

import datetime as dt

from models import db
from models.accounts.passwords import HashingBusy, verify_password
from models.accounts.users import CurrentUser, as_current, find_user
from models.core.clock import from_row, now
from models.core.errors import DomainError
from models.db.tables import LoginAttempt, UserTotp

MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_IP = 20
FAILURE_WINDOW = dt.timedelta(minutes=15)

PENDING, FAILED, SUCCEEDED, REFUSED, BUSY = "pending", "failed", "succeeded", "refused", "busy"
#: The password was right but the log-in still waits for its second factor.
PASSWORD_ONLY = "password_only"
#: Outcomes that count against the limit: a pending attempt counts until it is known to have succeeded.
COUNTED = (PENDING, FAILED)


class LoginThrottled(DomainError):
    """Log-in refused without checking the password; `retry_after` says when it is checked again."""

    def __init__(self, message: str, retry_after: dt.timedelta) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _minutes(delta: dt.timedelta) -> str:
    minutes = max(1, -(-int(delta.total_seconds()) // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


_GATE_SQL = (
    "INSERT INTO login_gate (gate, touched_at) VALUES ({}, {}) "
    "ON CONFLICT (gate) DO UPDATE SET touched_at = excluded.touched_at"
)
_RECENT_SQL = (
    "SELECT at FROM login_attempt WHERE {column} = {{}} AND at > {{}} AND outcome IN ({{}}, {{}}) "
    "ORDER BY at DESC LIMIT {{}}"
)
_LAST_SUCCESS_SQL = "SELECT MAX(at) AS at FROM login_attempt WHERE username = {} AND outcome = {}"


async def _pause(column: str, value: str, since: dt.datetime, limit: int, stamp: dt.datetime) -> dt.timedelta | None:
    """How long log-in stays paused for `value`, or None while under `limit` failures since `since`."""
    rows = await db.fetch(_RECENT_SQL.format(column=column), value, since, *COUNTED, limit)
    if len(rows) < limit:
        return None
    # Log-in opens again once the oldest of the last `limit` failures leaves the window.
    return from_row(rows[-1]["at"]) + FAILURE_WINDOW - stamp


async def reserve_attempt(username: str, ip: str) -> int:
    """Write a pending attempt for `username` from `ip` and return its id, or raise `LoginThrottled` (the
    refusal is recorded too, as *refused*, and does not count)."""
    name, address, stamp = username.lower()[:80], ip[:64], now()
    since = stamp - FAILURE_WINDOW
    async with db.transaction():
        # Locking both gates first makes the count and the insert below one step per username and address.
        await db.fetch(_GATE_SQL, f"user:{name}"[:160], stamp)
        await db.fetch(_GATE_SQL, f"ip:{address}"[:160], stamp)
        last = await db.fetch(_LAST_SUCCESS_SQL, name, SUCCEEDED)
        if last and last[0]["at"] is not None:
            since = max(since, from_row(last[0]["at"]))
        paused = await _pause("username", name, since, MAX_FAILURES_PER_USERNAME, stamp)
        whom = "for this username"
        if paused is None:
            paused = await _pause("ip", address, stamp - FAILURE_WINDOW, MAX_FAILURES_PER_IP, stamp)
            whom = "from your network address"
        outcome = PENDING if paused is None else REFUSED
        rows = await LoginAttempt.insert(LoginAttempt(username=name, ip=address, at=stamp, outcome=outcome)).returning(
            LoginAttempt.id
        )
    if paused is not None:
        raise LoginThrottled(
            f"Too many failed log-in attempts {whom}. Log-in is paused: try again in {_minutes(paused)}. "
            "If you have forgotten your password, ask an admin.",
            paused,
        )
    return rows[0]["id"]


async def settle_attempt(attempt_id: int, outcome: str) -> None:
    """Record how a reserved attempt ended (until then it counts as a failure)."""
    await LoginAttempt.update({LoginAttempt.outcome: outcome}).where(LoginAttempt.id == attempt_id)


async def has_second_factor(user_id: int) -> bool:
    """Whether the user's log-in needs a code after the password (an enrolment not yet confirmed does not)."""
    return await UserTotp.exists().where((UserTotp.user == user_id) & UserTotp.confirmed_at.is_not_null())


async def authenticate(username: str, password: str, ip: str) -> CurrentUser | None:
    """The user whose password this is, or None; raises `LoginThrottled` while paused and `HashingBusy`
    when too many checks wait in this process (that attempt is not counted). For a user with two-step
    verification this is not yet a log-in: `second_factor.start_challenge` asks for the code."""
    attempt = await reserve_attempt(username, ip)
    row = await find_user(username)
    try:
        valid = await verify_password(row["password_hash"] if row and row["active"] else None, password)
    except HashingBusy:
        await settle_attempt(attempt, BUSY)
        raise
    except BaseException:
        await settle_attempt(attempt, FAILED)
        raise
    if not valid or not row:
        await settle_attempt(attempt, FAILED)
        return None
    await settle_attempt(attempt, PASSWORD_ONLY if await has_second_factor(row["id"]) else SUCCEEDED)
    return as_current(row)


async def check_own_password(user: CurrentUser, password: str, ip: str) -> bool:
    """A signed-in user's current password, checked under the same limit as a log-in."""
    return await authenticate(user.username, password, ip) is not None
