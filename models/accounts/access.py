"""Taking access away and giving it back: roles, deactivation, password resets and changes, API tokens.

Every change is audited (an event without an order, `account_*`), and every change that narrows what a
person may do ends their sessions at once, so it holds on the next request everywhere.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from models import db
from models.accounts.passwords import hash_password, password_problem
from models.accounts.sessions import SessionPolicy, end_user_sessions
from models.accounts.users import CurrentUser, Role, create_user
from models.core.actors import Actor
from models.core.audit import event_row
from models.core.clock import now
from models.core.errors import DomainError, FieldErrors
from models.core.quoting import quoted
from models.db.tables import ApiToken, Event, User

#: Audit event kinds of account changes (they carry no order).
ACCOUNT_EVENTS = (
    "account_created",
    "account_role_changed",
    "account_deactivated",
    "account_reactivated",
    "account_password_reset",
    "account_password_changed",
    "account_tokens_revoked",
    "account_logged_out_everywhere",
    "account_totp_enabled",
    "account_totp_disabled",
    "account_totp_reset",
    "account_recovery_code_used",
)


class UnknownUser(DomainError):
    """No such user."""


async def audit(kind: str, message: str, actor: Actor, username: str, **details: Any) -> None:
    await Event.insert(event_row(None, kind, message, actor, details={"user": username, **details})).run()


async def _change_and_log_out(
    target: dict[str, Any],
    values: dict[Any, Any],
    reason: str,
    kind: str,
    message: str | Callable[[int], str],
    actor: Actor,
    keep_session: int | None = None,
    **details: Any,
) -> int:
    """One audited account change that narrows access: the user's row, the end of their sessions (all but
    `keep_session`) and the event, in one transaction. `message` may be worded from the number of sessions
    ended. Returns that number."""
    async with db.transaction():
        if values:
            await User.update(values).where(User.id == target["id"])
        ended = await end_user_sessions(target["id"], reason, keep=keep_session)
        text = message(ended) if callable(message) else message
        await audit(kind, text, actor, target["username"], sessions_ended=ended, **details)
    return ended


async def account_history(limit: int = 30) -> list[dict[str, Any]]:
    return await (
        Event.select(Event.at, Event.actor_kind, Event.actor_name, Event.message)
        .where(Event.kind.is_in(list(ACCOUNT_EVENTS)))
        .order_by(Event.id, ascending=False)
        .limit(limit)
    )


async def add_user(username: str, password: str, role: str, email: str, actor: Actor) -> CurrentUser:
    created = await create_user(username, password, role, email)
    await audit("account_created", f"{created.username} added as {created.role.value}.", actor, created.username)
    return created


async def _user(user_id: int) -> dict[str, Any]:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise UnknownUser(f"User {user_id} does not exist.")
    return row


async def user_by_name(username: str) -> dict[str, Any]:
    row = await User.select().where(User.username == username.strip()).first()
    if row is None:
        raise UnknownUser(f"There is no user {quoted(username.strip())}.")
    return row


async def _other_active_admins(user_id: int) -> int:
    return await User.count().where((User.role == Role.ADMIN.value) & User.active.eq(True) & (User.id != user_id))


async def _keep_an_admin(target: dict[str, Any], what: str) -> None:
    """Refuse a change that would leave nobody able to administer Waybill."""
    if target["role"] == Role.ADMIN.value and target["active"] and not await _other_active_admins(target["id"]):
        raise DomainError(f"{target['username']} is the only active admin: make another user admin before {what}.")


async def change_role(user_id: int, role: str, actor: Actor) -> str:
    """Give `user_id` another role; their sessions end so that the new role holds from their next log-in."""
    if role not in Role.__members__.values():
        raise FieldErrors({"role": "Choose admin, operator or viewer."})
    target = await _user(user_id)
    if target["role"] == role:
        return f"{target['username']} already is {role}."
    if role != Role.ADMIN.value:
        await _keep_an_admin(target, "taking admin away")
    await _change_and_log_out(
        target,
        {User.role: role},
        "role_changed",
        "account_role_changed",
        f"Role of {target['username']} changed from {target['role']} to {role}.",
        actor,
        before=target["role"],
        after=role,
    )
    return f"{target['username']} is now {role}; they log in again to continue."


async def set_active(user_id: int, active: bool, actor: Actor, acting_user_id: int | None = None) -> str:
    """Deactivate (log-in, sessions and API tokens stop at once) or reactivate a user."""
    target = await _user(user_id)
    name = target["username"]
    if target["active"] == active:
        return f"{name} already is {'active' if active else 'deactivated'}."
    if not active:
        if user_id == acting_user_id:
            raise DomainError("You cannot deactivate yourself; ask another admin.")
        await _keep_an_admin(target, "deactivating them")
    async with db.transaction():
        await User.update({User.active: active}).where(User.id == user_id)
        if active:
            await audit("account_reactivated", f"{name} reactivated.", actor, name)
            return f"{name} is active again and can log in."
        ended = await end_user_sessions(user_id, "deactivated")
        revoked = await _revoke_all(user_id)
        await audit(
            "account_deactivated",
            f"{name} deactivated: {ended} session(s) ended, {revoked} API token(s) revoked.",
            actor,
            name,
            sessions_ended=ended,
            tokens_revoked=revoked,
        )
    return f"{name} is deactivated: logged out everywhere, API tokens revoked, log-in refused."


async def reset_password(user_id: int, actor: Actor) -> str:
    """A new random password for `user_id`, returned to be handed over once; their sessions end."""
    target = await _user(user_id)
    password = secrets.token_urlsafe(12)
    await _change_and_log_out(
        target,
        {User.password_hash: hash_password(password)},
        "password_reset",
        "account_password_reset",
        f"Password of {target['username']} reset.",
        actor,
    )
    return password


async def set_password(user_id: int, password: str, actor: Actor, keep_session: int | None = None) -> int:
    """Set a password chosen by its user (or typed at the command line); other sessions end. Returns how many."""
    target = await _user(user_id)
    if problem := password_problem(password, target["username"]):
        raise FieldErrors({"new_password": problem})
    return await _change_and_log_out(
        target,
        {User.password_hash: hash_password(password)},
        "password_changed",
        "account_password_changed",
        f"Password of {target['username']} changed.",
        actor,
        keep_session,
    )


async def _revoke_all(user_id: int) -> int:
    rows = await (
        ApiToken.update({ApiToken.revoked_at: now()})
        .where((ApiToken.user == user_id) & ApiToken.revoked_at.is_null())
        .returning(ApiToken.id)
    )
    return len(rows)


async def revoke_tokens(user_id: int, actor: Actor) -> str:
    target = await _user(user_id)
    async with db.transaction():
        revoked = await _revoke_all(user_id)
        if revoked:
            await audit(
                "account_tokens_revoked",
                f"{revoked} API token(s) of {target['username']} revoked.",
                actor,
                target["username"],
                tokens_revoked=revoked,
            )
    return f"{revoked} API token(s) of {target['username']} revoked." if revoked else "No live API tokens to revoke."


async def log_out_everywhere(user_id: int, actor: Actor) -> int:
    target = await _user(user_id)
    return await _change_and_log_out(
        target,
        {},
        "logout_everywhere",
        "account_logged_out_everywhere",
        lambda ended: f"{target['username']} logged out everywhere ({ended} session(s)).",
        actor,
    )


async def users_overview(policy: SessionPolicy) -> list[dict[str, Any]]:
    """Every user with their live API tokens and sessions, for Settings → Users."""
    stamp = now()
    rows = await db.fetch(
        "SELECT u.id, u.username, u.email, u.role, u.active, u.notify_new_orders, "
        '(SELECT COUNT(*) FROM api_token t WHERE t."user" = u.id AND t.revoked_at IS NULL) AS live_tokens, '
        '(SELECT COUNT(*) FROM user_session s WHERE s."user" = u.id AND s.ended_at IS NULL '
        "AND s.last_seen_at > {}) AS live_sessions, "
        '(SELECT COUNT(*) FROM user_totp f WHERE f."user" = u.id AND f.confirmed_at IS NOT NULL) AS two_step '
        "FROM app_user u ORDER BY lower(u.username), u.id",
        stamp - policy.idle,
    )
    return rows
