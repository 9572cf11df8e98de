"""Log-in sessions kept on the server, so that they can end.

The session cookie carries only a random id; its SHA-256 digest is stored with the user, when the
session started and when it was last seen. A session ends on logout, on *log out everywhere*, when
its user's password or role changes or the user is deactivated, after `idle` without a request, and
in any case `lifetime` after log-in: a copied cookie then opens nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, replace
from typing import Any

from models import db
from models.accounts.users import CurrentUser, as_current, token_digest
from models.core.clock import from_row, now
from models.db.tables import LoginChallenge, UserSession

#: A session's last-seen time is written at most this often (every request reads it).
TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class SessionPolicy:
    #: Ends after this long without a request.
    idle: dt.timedelta = dt.timedelta(hours=12)
    #: Ends this long after log-in, however busy.
    lifetime: dt.timedelta = dt.timedelta(hours=24)


async def start_session(user_id: int, ip: str = "", user_agent: str = "") -> str:
    """A new session for `user_id`; returns the token for the cookie (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    stamp = now()
    await UserSession.insert(
        UserSession(
            user=user_id,
            token_hash=token_digest(token),
            created_at=stamp,
            last_seen_at=stamp,
            ip=ip[:64],
            user_agent=user_agent[:200],
        )
    )
    return token


_SESSION_USER_SQL = (
    "SELECT s.id AS session_id, s.created_at, s.last_seen_at, u.id, u.username, u.role, u.email, "
    '(SELECT COUNT(*) FROM user_totp t WHERE t."user" = u.id AND t.confirmed_at IS NOT NULL) AS two_step '
    'FROM user_session s JOIN app_user u ON u.id = s."user" '
    "WHERE s.token_hash = {} AND s.ended_at IS NULL AND u.active = {}"
)


async def session_user(token: str, policy: SessionPolicy) -> CurrentUser | None:
    """The active user of a live session, or None; a session past its idle time or lifetime ends here."""
    if not token:
        return None
    rows = await db.fetch(_SESSION_USER_SQL, token_digest(token), True)
    if not rows:
        return None
    row = rows[0]
    stamp = now()
    last_seen = from_row(row["last_seen_at"])
    if stamp - from_row(row["created_at"]) > policy.lifetime or stamp - last_seen > policy.idle:
        await _end(UserSession.id == row["session_id"], "expired")
        return None
    if stamp - last_seen > TOUCH_EVERY:
        await UserSession.update({UserSession.last_seen_at: stamp}).where(UserSession.id == row["session_id"])
    return replace(as_current(row), session_id=row["session_id"], two_step=bool(row["two_step"]))


async def _end(where: Any, reason: str) -> int:
    rows = await (
        UserSession.update({UserSession.ended_at: now(), UserSession.ended_reason: reason})
        .where(where & UserSession.ended_at.is_null())
        .returning(UserSession.id)
    )
    return len(rows)


async def end_session(session_id: int, reason: str = "logout") -> None:
    await _end(UserSession.id == session_id, reason)


async def end_user_sessions(user_id: int, reason: str, keep: int | None = None) -> int:
    """End every live session of `user_id` (but `keep`, the one asking), and any log-in of theirs still waiting
    for its second factor; returns how many sessions ended."""
    where = UserSession.user == user_id
    if keep is not None:
        where &= UserSession.id != keep
    await LoginChallenge.update({LoginChallenge.ended_at: now()}).where(
        (LoginChallenge.user == user_id) & LoginChallenge.ended_at.is_null()
    )
    return await _end(where, reason)


async def end_own_session(user_id: int, session_id: int) -> bool:
    """End one of `user_id`'s sessions; False when it is not theirs or already ended."""
    return bool(await _end((UserSession.id == session_id) & (UserSession.user == user_id), "logout"))


async def live_sessions(user_id: int, policy: SessionPolicy) -> list[dict[str, Any]]:
    """The user's sessions that still open pages, newest first."""
    stamp = now()
    rows = await (
        UserSession.select(
            UserSession.id, UserSession.created_at, UserSession.last_seen_at, UserSession.ip, UserSession.user_agent
        )
        .where(
            (UserSession.user == user_id)
            & UserSession.ended_at.is_null()
            & (UserSession.created_at > stamp - policy.lifetime)
            & (UserSession.last_seen_at > stamp - policy.idle)
        )
        .order_by(UserSession.last_seen_at, ascending=False)
    )
    return rows
