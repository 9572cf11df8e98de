"""Channel and supplier credentials, encrypted at rest with a key derived from the secret key.

The dashboard never shows them back in clear: forms show only which fields are set. Values are written
with the current secret key and read with it or any previous one (`WAYBILL_SECRET_KEY_PREVIOUS`), so a
key can be rotated (`waybill rotate-key`) without a moment in which stored credentials cannot be read.
A value that no configured key decrypts raises `CredentialsUnreadable`: read as "nothing stored", it
would be shown as "no API key" and saved over with empty credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from models.core.errors import DomainError

__all__ = [
    "PREFIX",
    "CredentialsUnreadable",
    "configure",
    "decrypt",
    "encrypt",
    "readable",
    "reencrypt",
    "uses_current_key",
]

PREFIX = "enc1:"
_current: Fernet | None = None
_any_key: MultiFernet | None = None


class CredentialsUnreadable(DomainError):
    """Stored credentials that none of the configured secret keys decrypts (another or a rotated key)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "The stored credentials cannot be decrypted with this instance's secret key, so nothing was saved "
            "and they are kept as they are. Start Waybill with the WAYBILL_SECRET_KEY they were saved with (or "
            "give that key as WAYBILL_SECRET_KEY_PREVIOUS and run `waybill rotate-key`)."
        )


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(f"waybill-credentials:{secret_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def configure(secret_key: str, previous: Sequence[str] = ()) -> None:
    """Derive the encryption keys at start-up: new values use `secret_key`, reading also tries `previous`."""
    global _current, _any_key
    _current = _fernet(secret_key)
    _any_key = MultiFernet([_current, *(_fernet(key) for key in previous if key and key != secret_key)])


def _ciphers() -> tuple[Fernet, MultiFernet]:
    if _current is None or _any_key is None:
        raise RuntimeError("credentials.configure(secret_key) was not called")
    return _current, _any_key


def encrypt(values: dict[str, str]) -> str:
    """The stored form of `values` (empty values left out), encrypted with the current key."""
    clean = {k: v for k, v in values.items() if v}
    if not clean:
        return ""
    return PREFIX + _ciphers()[0].encrypt(json.dumps(clean).encode()).decode()


def _token(stored: str) -> bytes:
    if not stored.startswith(PREFIX):
        raise InvalidToken  # not something Waybill wrote
    return stored[len(PREFIX) :].encode()


def decrypt(stored: str) -> dict[str, str]:
    """The stored credentials ({} when none are stored); raises `CredentialsUnreadable` for a value no key reads."""
    if not stored:
        return {}
    try:
        values = json.loads(_ciphers()[1].decrypt(_token(stored)))
    except (InvalidToken, ValueError):
        raise CredentialsUnreadable() from None
    if not isinstance(values, dict):
        raise CredentialsUnreadable()
    return values


def readable(stored: str) -> bool:
    """Whether `stored` is empty or decrypts with one of the configured keys."""
    try:
        decrypt(stored)
    except CredentialsUnreadable:
        return False
    return True


def uses_current_key(stored: str) -> bool:
    """Whether `stored` is empty or decrypts with the current key (no rotation needed)."""
    if not stored:
        return True
    try:
        _ciphers()[0].decrypt(_token(stored))
    except InvalidToken:
        return False
    return True


def reencrypt(stored: str) -> str:
    """`stored` encrypted again with the current key; raises `CredentialsUnreadable` if no key reads it."""
    return encrypt(decrypt(stored))
