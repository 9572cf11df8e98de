"""Password rules and hashing. Argon2 is slow on purpose, so checks run in threads and only a few at a
time: a burst of log-ins waits its turn (or is told to retry) instead of taking every core."""

from __future__ import annotations

import asyncio
import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from models.core.errors import DomainError

MIN_PASSWORD_LENGTH = 8
#: Argon2 checks running at once in this process (each takes a core and 64 MiB for ~0.1 s).
HASHES_IN_FLIGHT = 2
#: Checks allowed to wait for a turn; beyond that a log-in is refused at once as busy.
HASHES_WAITING = 32

_COMMON = """
    password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword 12345678 123456789
    1234567890 0123456789 87654321 11111111 00000000 12341234 11223344 12121212 abcd1234 abc12345 abcdefgh
    qwertyui qwertyuiop qwerty123 qwerty12 1q2w3e4r 1qaz2wsx zaq12wsx asdfghjk asdfasdf iloveyou letmein1
    welcome1 welcome123 sunshine princess football baseball dragon123 monkey123 superman trustno1 whatever
    changeme changeme1 administrator admin123 admin1234 adminadmin rootroot secret123 default1 shopping
    waybill1 waybill123 starwars computer internet master123 michael1 jennifer
"""
#: Refused outright: the passwords tried first in every credential-stuffing list.
COMMON_PASSWORDS = frozenset(_COMMON.split())

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")
_turns: dict[asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, list[int]]] = {}


class HashingBusy(DomainError):
    """Too many password checks already wait in this process; nothing was checked."""


def password_problem(password: str, username: str = "", min_length: int = MIN_PASSWORD_LENGTH) -> str | None:
    """Why `password` may not be used, or None."""
    if len(password) < min_length:
        return f"Use at least {min_length} characters."
    if not password.strip() or len(set(password)) == 1:
        return "Use more than one character, and not only spaces."
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or (username and lowered == username.lower()):
        return "This password is among the first that attackers try. Choose another one."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check(password_hash: str, password: str) -> bool:
    """One Argon2 check (raises when it does not match); runs in a worker thread."""
    return _hasher.verify(password_hash, password)


def _turn() -> tuple[asyncio.Semaphore, list[int]]:
    """This event loop's semaphore and waiting count (tests run several loops, one after another)."""
    loop = asyncio.get_running_loop()
    if loop not in _turns:
        for old in [known for known in _turns if known.is_closed()]:
            del _turns[old]
        _turns[loop] = (asyncio.Semaphore(HASHES_IN_FLIGHT), [0])
    return _turns[loop]


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; without a hash, the same work is spent so that a missing user cannot be
    told apart by timing. Raises `HashingBusy` when too many checks already wait."""
    semaphore, waiting = _turn()
    if waiting[0] >= HASHES_WAITING:
        raise HashingBusy("Many log-ins are being checked at this moment. Try again in a few seconds.")
    waiting[0] += 1
    try:
        async with semaphore:
            if password_hash is None:
                with contextlib.suppress(VerificationError):
                    await asyncio.to_thread(_check, _DUMMY_HASH, password)
                return False
            try:
                return await asyncio.to_thread(_check, password_hash, password)
            except (VerificationError, InvalidHashError):
                return False
    finally:
        waiting[0] -= 1
