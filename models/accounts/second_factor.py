"""Two-step verification: a TOTP second factor (RFC 6238, the codes of any authenticator app) with
one-time recovery codes.

The secret is stored encrypted with the instance's secret key, like channel credentials
(`credentials`); recovery codes only as SHA-256 digests (each holds about 79 random bits, so a digest
gives nothing away). A code is accepted one 30-second step either side of the server's clock, and never
twice: the last accepted step is kept per user and only a later one passes, in one conditional UPDATE,
so two requests carrying the same code cannot both get in.

After a right password the log-in waits in a *challenge*: a row bound to the user, found by the digest
of a random token in the cookie, that lasts `CHALLENGE_LIFETIME` and ends when a code is accepted. No
session exists before that. Each code checked is a log-in attempt under the limit of
`models.accounts.login`, and the right password before it does not reset that count.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pyotp

from models import db
from models.accounts import credentials
from models.accounts.access import UnknownUser, audit
from models.accounts.login import (
    FAILED,
    SUCCEEDED,
    LoginThrottled,
    check_own_password,
    has_second_factor,
    reserve_attempt,
    settle_attempt,
)
from models.accounts.passwords import HashingBusy
from models.accounts.sessions import end_user_sessions
from models.accounts.users import CurrentUser, get_user, token_digest
from models.core.actors import Actor
from models.core.clock import from_row, now
from models.core.errors import DomainError, FieldErrors
from models.db.tables import LoginChallenge, RecoveryCode, User, UserTotp

ISSUER = "Waybill"
STEP_SECONDS = 30
#: Steps accepted either side of the current one, for clocks that drift and codes typed slowly.
WINDOW_STEPS = 1
RECOVERY_CODE_COUNT = 10
#: Letters and digits nobody misreads (no 0/o, 1/l/i): 16 of them hold about 79 bits.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 16
CHALLENGE_LIFETIME = dt.timedelta(minutes=5)
TOO_LATE = (
    f"The log-in waited more than {int(CHALLENGE_LIFETIME.total_seconds() // 60)} minutes for its code. "
    "Enter your password again."
)

WRONG_CODE = "Wrong code. Enter the 6-digit code your app shows now, or one of your recovery codes."
REUSED_CODE = "This code was already used. Wait for the next code in your app (a new one comes every 30 seconds)."
UNREADABLE = (
    "Your two-step verification cannot be checked: this instance's secret key does not read its secret. "
    "Log in with a recovery code, or ask an admin to reset your two-step verification "
    "(Settings → Users, or `waybill user reset-totp`)."
)


class WrongCode(DomainError):
    """The code is not the user's current one, was used before, or is no unused recovery code."""


class ChallengeOver(DomainError):
    """No log-in waits for a code under this token: it took too long, ended, or never existed."""


@dataclass(frozen=True)
class Enrolment:
    """A secret waiting for its first code, and the `otpauth://` address an app reads from the QR code."""

    secret: str
    uri: str

    @property
    def grouped(self) -> str:
        """The secret in blocks of four, for typing it in by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


@dataclass(frozen=True)
class SecondFactor:
    """A user's two-step verification as My account shows it."""

    enabled: bool
    since: dt.datetime | None = None
    recovery_codes_left: int = 0
    enrolment: Enrolment | None = None


@dataclass(frozen=True)
class Challenge:
    id: int
    user_id: int
    username: str
    next_path: str
    expired: bool


def _uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=username, issuer_name=ISSUER)


def _secret_of(row: dict[str, Any]) -> str:
    try:
        return credentials.decrypt(row["secret"])["totp"]
    except (credentials.CredentialsUnreadable, KeyError):
        raise DomainError(UNREADABLE) from None


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (within the window around now) whose code `code` is, or None."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now().timestamp()) // STEP_SECONDS
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _totp_code(typed: str) -> str | None:
    """`typed` as a 6-digit code (spaces allowed, as apps show them), or None when it is something else."""
    code = re.sub(r"\s", "", typed)
    return code if re.fullmatch(r"\d{6}", code) else None


def _normal_recovery_code(typed: str) -> str:
    return re.sub(r"[\s-]", "", typed).lower()


def _new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    return codes


async def _totp_row(user_id: int) -> dict[str, Any] | None:
    return await UserTotp.select().where(UserTotp.user == user_id).first()


async def is_enabled(user_id: int) -> bool:
    """Whether the user's log-in asks for a code after the password."""
    return await has_second_factor(user_id)


async def overview(user_id: int, username: str) -> SecondFactor:
    """What My account shows: on since when and how many recovery codes are left, or a set-up in progress."""
    row = await _totp_row(user_id)
    if row is None:
        return SecondFactor(enabled=False)
    if row["confirmed_at"] is None:
        if not credentials.readable(row["secret"]):  # a set-up begun under another secret key: begin again
            return SecondFactor(enabled=False)
        secret = _secret_of(row)
        return SecondFactor(enabled=False, enrolment=Enrolment(secret, _uri(secret, username)))
    left = await RecoveryCode.count().where((RecoveryCode.user == user_id) & RecoveryCode.used_at.is_null())
    return SecondFactor(enabled=True, since=row["confirmed_at"], recovery_codes_left=left)


# Enrolment and turning it off ------------------------------------------------------------------------------

_ENROL_SQL = (
    'INSERT INTO user_totp ("user", secret, created_at, confirmed_at, last_step) VALUES ({}, {}, {}, NULL, 0) '
    'ON CONFLICT ("user") DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at '
    "WHERE user_totp.confirmed_at IS NULL RETURNING id"
)


async def start_enrolment(user: CurrentUser) -> Enrolment:
    """A new secret for `user`, waiting for its first code (it replaces one that never got its code).

    Nothing changes for the log-in until `confirm_enrolment`; refused while two-step verification is on."""
    secret = pyotp.random_base32()
    rows = await db.fetch(_ENROL_SQL, user.id, credentials.encrypt({"totp": secret}), now())
    if not rows:
        raise DomainError("Two-step verification is already on. Turn it off first to move it to another device.")
    return Enrolment(secret, _uri(secret, user.username))


async def confirm_enrolment(
    user: CurrentUser, typed: str, actor: Actor, keep_session: int | None = None
) -> tuple[list[str], int]:
    """Turn two-step verification on once the app shows the right code: returns the recovery codes (to be
    shown once; only their digests are kept) and how many other sessions ended. A wrong code changes nothing."""
    row = await _totp_row(user.id)
    if row is None or row["confirmed_at"] is not None:
        raise DomainError("There is no set-up waiting for a code. Start again with “Set up two-step verification”.")
    code = _totp_code(typed)
    step = _matching_step(_secret_of(row), code) if code else None
    if step is None:
        raise FieldErrors(
            {
                "code": "That is not the code your app shows for this secret. Check that the app added "
                "“Waybill” just now and that your phone's clock is right, then enter the code it shows."
            }
        )
    codes = _new_recovery_codes()
    async with db.transaction():
        confirmed = await (
            UserTotp.update({UserTotp.confirmed_at: now(), UserTotp.last_step: step})
            .where((UserTotp.id == row["id"]) & UserTotp.confirmed_at.is_null() & (UserTotp.secret == row["secret"]))
            .returning(UserTotp.id)
        )
        if not confirmed:
            raise DomainError("The set-up changed in another window meanwhile; nothing was turned on. Start again.")
        await RecoveryCode.delete().where(RecoveryCode.user == user.id)
        await RecoveryCode.insert(
            *(RecoveryCode(user=user.id, code_hash=token_digest(_normal_recovery_code(c))) for c in codes)
        )
        ended = await end_user_sessions(user.id, "second_factor_on", keep=keep_session)
        await audit(
            "account_totp_enabled",
            f"Two-step verification turned on for {user.username} ({ended} other session(s) ended).",
            actor,
            user.username,
            sessions_ended=ended,
        )
    return codes, ended


async def _remove(user_id: int) -> None:
    await UserTotp.delete().where(UserTotp.user == user_id)
    await RecoveryCode.delete().where(RecoveryCode.user == user_id)


async def disable(user: CurrentUser, password: str, typed: str, ip: str, actor: Actor) -> None:
    """Turn the user's two-step verification off: it takes their password and a code (or a recovery code),
    each checked under the log-in limit. Raises `FieldErrors` naming what was wrong; nothing changes then."""
    if not await is_enabled(user.id):
        raise DomainError("Two-step verification is not on.")
    try:
        right = await check_own_password(user, password, ip)
    except (LoginThrottled, HashingBusy) as exc:
        raise FieldErrors({"current_password": exc.message}) from None
    if not right:
        raise FieldErrors({"current_password": "This is not your current password."})
    try:
        await _check_code(user.id, user.username, typed, ip)
    except (LoginThrottled, WrongCode) as exc:
        raise FieldErrors({"code": exc.message}) from None
    async with db.transaction():
        await _remove(user.id)
        await audit(
            "account_totp_disabled", f"Two-step verification turned off by {user.username}.", actor, user.username
        )


async def reset(user_id: int, actor: Actor, acting_user_id: int | None = None) -> str:
    """Take a user's second factor away (they lost their device): they log in with their password alone and
    may set it up again. Their sessions end, as after a password reset. An admin's own goes through
    `disable`, which asks for the password and a code."""
    target = await User.select(User.id, User.username).where(User.id == user_id).first()
    if target is None:
        raise UnknownUser(f"User {user_id} does not exist.")
    if user_id == acting_user_id:
        raise DomainError(
            "To turn off your own two-step verification, use My account: it takes your password and a code. "
            "Without your phone or recovery codes, ask another admin."
        )
    name = target["username"]
    if not await is_enabled(user_id):
        await _remove(user_id)  # a set-up that never got its code
        return f"{name} has no two-step verification to reset."
    async with db.transaction():
        await _remove(user_id)
        ended = await end_user_sessions(user_id, "second_factor_reset")
        await audit(
            "account_totp_reset",
            f"Two-step verification of {name} reset ({ended} session(s) ended).",
            actor,
            name,
            sessions_ended=ended,
        )
    return (
        f"Two-step verification of {name} reset: they are logged out everywhere, log in with their password alone "
        "and can set it up again on My account."
    )


# Checking a code --------------------------------------------------------------------------------------------


async def _accept_step(user_id: int, step: int) -> bool:
    """Record `step` as used; False when it or a later one was accepted before (a replayed code)."""
    rows = await (
        UserTotp.update({UserTotp.last_step: step})
        .where((UserTotp.user == user_id) & UserTotp.confirmed_at.is_not_null() & (UserTotp.last_step < step))
        .returning(UserTotp.id)
    )
    return bool(rows)


async def _use_recovery_code(user_id: int, typed: str) -> int | None:
    """Spend one unused recovery code; returns how many are left, or None when `typed` is none of them."""
    normal = _normal_recovery_code(typed)
    if len(normal) != RECOVERY_CODE_LENGTH:
        return None
    used = await (
        RecoveryCode.update({RecoveryCode.used_at: now()})
        .where(
            (RecoveryCode.user == user_id)
            & (RecoveryCode.code_hash == token_digest(normal))
            & RecoveryCode.used_at.is_null()
        )
        .returning(RecoveryCode.id)
    )
    if not used:
        return None
    return await RecoveryCode.count().where((RecoveryCode.user == user_id) & RecoveryCode.used_at.is_null())


async def _check_code(user_id: int, username: str, typed: str, ip: str) -> str:
    """Check one code as a log-in attempt of `username` (raises `LoginThrottled` while paused, `WrongCode`):
    returns "totp" or "recovery"."""
    code = _totp_code(typed)
    row = await _totp_row(user_id)
    if row is None or row["confirmed_at"] is None:
        raise WrongCode("Two-step verification is no longer on for this user. Log in again.")
    secret = _secret_of(row) if code else ""  # an unreadable secret leaves the recovery codes usable
    attempt = await reserve_attempt(username, ip)
    try:
        if code:
            step = _matching_step(secret, code)
            if step is None:
                raise WrongCode(WRONG_CODE)
            if not await _accept_step(user_id, step):
                raise WrongCode(REUSED_CODE)
            await _with_current_key(row)
            how = "totp"
        else:
            left = await _use_recovery_code(user_id, typed)
            if left is None:
                raise WrongCode(WRONG_CODE)
            await audit(
                "account_recovery_code_used",
                f"{username} used a recovery code ({left} left).",
                Actor.user(username),
                username,
                recovery_codes_left=left,
            )
            how = "recovery"
    except BaseException:
        await settle_attempt(attempt, FAILED)
        raise
    await settle_attempt(attempt, SUCCEEDED)
    return how


# The log-in's second step -----------------------------------------------------------------------------------


async def start_challenge(user_id: int, next_path: str, ip: str) -> str:
    """After a right password: a log-in waiting for its code. Returns the token for the cookie (only its
    digest is stored)."""
    token = secrets.token_urlsafe(32)
    await LoginChallenge.insert(
        LoginChallenge(
            user=user_id,
            token_hash=token_digest(token),
            created_at=now(),
            next_path=next_path if len(next_path) <= 1000 else "/orders",
            ip=ip[:64],
        )
    )
    return token


_CHALLENGE_SQL = (
    "SELECT c.id, c.created_at, c.next_path, u.id AS user_id, u.username FROM login_challenge c "
    'JOIN app_user u ON u.id = c."user" WHERE c.token_hash = {} AND c.ended_at IS NULL AND u.active = {}'
)


async def find_challenge(token: str) -> Challenge | None:
    """The log-in waiting under `token` (perhaps `expired`), or None when there is none."""
    if not token:
        return None
    rows = await db.fetch(_CHALLENGE_SQL, token_digest(token), True)
    if not rows:
        return None
    row = rows[0]
    expired = now() - from_row(row["created_at"]) > CHALLENGE_LIFETIME
    return Challenge(row["id"], row["user_id"], row["username"], row["next_path"], expired)


async def answer_challenge(token: str, typed: str, ip: str) -> tuple[CurrentUser, str]:
    """The user and where they were going, once the code of the waiting log-in is right; then the challenge
    is over and a session may start. Raises `ChallengeOver`, `WrongCode` or `LoginThrottled`."""
    challenge = await find_challenge(token)
    if challenge is None:
        raise ChallengeOver("This log-in is over. Enter your username and password.")
    if challenge.expired:
        await LoginChallenge.update({LoginChallenge.ended_at: now()}).where(LoginChallenge.id == challenge.id)
        raise ChallengeOver(TOO_LATE)
    await _check_code(challenge.user_id, challenge.username, typed, ip)
    ended = await (
        LoginChallenge.update({LoginChallenge.ended_at: now()})
        .where((LoginChallenge.id == challenge.id) & LoginChallenge.ended_at.is_null())
        .returning(LoginChallenge.id)
    )
    user = await get_user(challenge.user_id)
    if not ended or user is None:
        raise ChallengeOver("This log-in is over. Enter your username and password.")
    # The log-in is done: other log-ins of this user left waiting (e.g. a password typed twice) end with it.
    await LoginChallenge.update({LoginChallenge.ended_at: now()}).where(
        (LoginChallenge.user == challenge.user_id) & LoginChallenge.ended_at.is_null()
    )
    return user, challenge.next_path


# Secret key rotation ----------------------------------------------------------------------------------------


async def reencrypt_secrets() -> int:
    """Write every readable TOTP secret again with the current key, in the caller's transaction (`waybill
    rotate-key`); returns how many. An unreadable one is left: its user logs in with a recovery code."""
    if not await UserTotp.table_exists():
        return 0
    rows = await UserTotp.select(UserTotp.id, UserTotp.secret)
    return sum([await _with_current_key(row) for row in rows if credentials.readable(row["secret"])])


async def _with_current_key(row: dict[str, Any]) -> bool:
    """Write a secret read with a previous key again with the current one; whether it had to be."""
    if credentials.uses_current_key(row["secret"]):
        return False
    await UserTotp.update({UserTotp.secret: credentials.reencrypt(row["secret"])}).where(UserTotp.id == row["id"])
    return True
