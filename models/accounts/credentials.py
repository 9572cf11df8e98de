"""Channel and supplier credentials, encrypted at rest with a key derived from the secret key.

The dashboard never shows them back in clear: forms show only which fields are set.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken

_fernet: Fernet | None = None
PREFIX = "enc1:"


def configure(secret_key: str) -> None:
    """Derive the encryption key; called once at start-up with the app's secret key."""
    global _fernet
    digest = hashlib.sha256(f"waybill-credentials:{secret_key}".encode()).digest()
    _fernet = Fernet(base64.urlsafe_b64encode(digest))


def _cipher() -> Fernet:
    if _fernet is None:
        raise RuntimeError("credentials.configure(secret_key) was not called")
    return _fernet


def encrypt(values: dict[str, str]) -> str:
    clean = {k: v for k, v in values.items() if v}
    if not clean:
        return ""
    return PREFIX + _cipher().encrypt(json.dumps(clean).encode()).decode()


def decrypt(stored: str) -> dict[str, str]:
    """The stored credentials; unreadable ones (wrong key) come back empty, never as an error page."""
    if not stored:
        return {}
    if not stored.startswith(PREFIX):
        return {}
    try:
        return json.loads(_cipher().decrypt(stored[len(PREFIX) :].encode()))
    except (InvalidToken, ValueError):
        return {}
