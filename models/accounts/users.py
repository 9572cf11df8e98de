"""Users, roles and API tokens (log-in: `models.accounts.login`; sessions: `models.accounts.sessions`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from models import db
from models.accounts.passwords import hash_password, password_problem
from models.core.clock import now
from models.core.errors import FieldErrors
from models.core.quoting import quoted
from models.db.tables import ApiToken, User

TOKEN_PREFIX = "wb_"


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"

    @property
    def can_change_orders(self) -> bool:
        return self in (Role.ADMIN, Role.OPERATOR)

    @property
    def can_administer(self) -> bool:
        return self == Role.ADMIN


#: Roles told when an order waits for acceptance: those that can accept it.
NOTIFIED_ROLES: frozenset[str] = frozenset(role.value for role in Role if role.can_change_orders)


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    role: Role
    email: str = ""
    #: The log-in session the request came with (`models.accounts.sessions`); None for an API token.
    session_id: int | None = None
    #: Whether the user has two-step verification on (known for session users, read with the session).
    two_step: bool = False

    @property
    def can_change_orders(self) -> bool:
        return self.role.can_change_orders

    @property
    def is_admin(self) -> bool:
        return self.role.can_administer


def as_current(row: dict[str, Any]) -> CurrentUser:
    return CurrentUser(id=row["id"], username=row["username"], role=Role(row["role"]), email=row["email"])


async def create_user(
    username: str, password: str, role: str = "operator", email: str = "", *, check_password: bool = True
) -> CurrentUser:
    errors: dict[str, str] = {}
    username = username.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,80}", username):
        errors["username"] = "Use 2–80 letters, digits, dots, dashes, @ or underscores."
    elif await username_taken(username):
        errors["username"] = f"The username {quoted(username)} is taken (usernames do not differ by case alone)."
    if role not in Role.__members__.values():
        errors["role"] = "Choose admin, operator or viewer."
    # Only the demo's published log-in (demo/demo) skips the rules.
    if check_password and (problem := password_problem(password, username)):
        errors["password"] = problem
    email = email.strip()
    if email and (problem := email_problem(email)):
        errors["email"] = problem
    if errors:
        raise FieldErrors(errors)
    rows = await User.insert(
        User(
            username=username,
            email=email,
            role=role,
            password_hash=hash_password(password),
            active=True,
            notify_new_orders=role in NOTIFIED_ROLES,
            created_at=now(),
        )
    ).returning(User.id)
    return CurrentUser(rows[0]["id"], username, Role(role), email)


EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def email_problem(email: str) -> str | None:
    """Why `email` cannot receive mail, or None."""
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        return f"{quoted(email[:60])} is not an e-mail address. Write it like name@example.com."
    return None


async def set_notification_preferences(user_id: int, email: str, notify_new_orders: bool) -> None:
    """A user's own e-mail address and whether they are e-mailed when an order waits for acceptance.

    Only roles that can accept orders are told; for others the preference stays off."""
    email = email.strip()
    if email and (problem := email_problem(email)):
        raise FieldErrors({"email": problem})
    row = await User.select(User.role).where(User.id == user_id).first()
    if row is None:
        raise FieldErrors({"email": "This user no longer exists."})
    notify = notify_new_orders and row["role"] in NOTIFIED_ROLES
    await User.update({User.email: email, User.notify_new_orders: notify}).where(User.id == user_id)


async def notification_preferences(user_id: int) -> dict[str, Any]:
    row = await User.select(User.email, User.role, User.notify_new_orders).where(User.id == user_id).first()
    return row or {"email": "", "role": Role.VIEWER.value, "notify_new_orders": False}


#: Every request authenticates, so these two lookups are written once as plain SQL (no query building).
_ACTIVE_USER_SQL = "SELECT id, username, role, email FROM app_user WHERE id = {} AND active = {}"
_FIND_USER_SQL = (
    "SELECT * FROM app_user WHERE lower(username) = {} ORDER BY CASE WHEN username = {} THEN 0 ELSE 1 END, id LIMIT 1"
)
_TOKEN_USER_SQL = (
    "SELECT t.id AS token_id, t.last_used_at, u.id, u.username, u.role, u.email FROM api_token t "
    'JOIN app_user u ON u.id = t."user" WHERE t.token_hash = {} AND t.revoked_at IS NULL AND u.active = {}'
)


async def get_user(user_id: int) -> CurrentUser | None:
    rows = await db.fetch(_ACTIVE_USER_SQL, user_id, True)
    return as_current(rows[0]) if rows else None


async def find_user(username: str) -> dict[str, Any] | None:
    """The user of a typed username, without regard to case (an exact match first, for databases that
    still hold two names differing only in case)."""
    name = username.strip()
    rows = await db.fetch(_FIND_USER_SQL, name.lower(), name)
    return rows[0] if rows else None


async def username_taken(username: str) -> bool:
    return bool(await db.fetch("SELECT id FROM app_user WHERE lower(username) = {}", username.strip().lower()))


def token_digest(token: str) -> str:
    """What is stored of a secret token (API token, session, log-in challenge, recovery code): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_token(user_id: int, name: str) -> str:
    """Create a token and return it; only its digest is stored, so it is shown once."""
    name = name.strip()
    if not name:
        raise FieldErrors({"name": "Give the token a name, e.g. the tool that will use it."})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await ApiToken.insert(
        ApiToken(user=user_id, name=name[:100], prefix=token[:10], token_hash=token_digest(token), created_at=now())
    )
    return token


async def user_for_token(token: str) -> CurrentUser | None:
    """The active user a live token belongs to; notes when the token was last used (once a minute at most)."""
    rows = await db.fetch(_TOKEN_USER_SQL, token_digest(token), True)
    if not rows:
        return None
    row = rows[0]
    stamp = now()
    last_used = row["last_used_at"]
    if isinstance(last_used, str):  # SQLite hands raw SQL timestamps back as text
        last_used = dt.datetime.fromisoformat(last_used)
    if last_used is None or stamp - last_used > dt.timedelta(minutes=1):
        await ApiToken.update({ApiToken.last_used_at: stamp}).where(ApiToken.id == row["token_id"])
    return as_current(row)


async def list_api_tokens(user_id: int) -> list[dict[str, Any]]:
    return await ApiToken.select().where(ApiToken.user == user_id).order_by(ApiToken.id, ascending=False)


async def revoke_api_token(user_id: int, token_id: int) -> bool:
    """Revoke one of `user_id`'s live tokens; False when it is not theirs or already revoked."""
    rows = await (
        ApiToken.update({ApiToken.revoked_at: now()})
        .where((ApiToken.id == token_id) & (ApiToken.user == user_id) & ApiToken.revoked_at.is_null())
        .returning(ApiToken.id)
    )
    return bool(rows)
