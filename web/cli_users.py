"""`waybill user …`: create users and take access away from the command line, audited like Settings → Users.

The commands act as `command line` in the audit trail; a password comes from WAYBILL_USER_PASSWORD or a
hidden prompt, never from an argument (it would stay in the shell history).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from models.core.actors import Actor
from web.cli_database import bind_and_migrate, on_database
from web.settings import Settings

T = TypeVar("T")
CLI_ACTOR = Actor("system", "command line")
ROLES = click.Choice(["admin", "operator", "viewer"])


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` on the configured database (migrated first); a refusal prints its reason and exits 1."""
    from models import db
    from models.core.errors import DomainError, FieldErrors

    url = Settings.from_env().database_url or db.database_url_from_env()
    bind_and_migrate(url)
    try:
        return on_database(url, work)
    except FieldErrors as exc:
        for field, message in exc.errors.items():
            click.echo(f"{field}: {message}", err=True)
    except DomainError as exc:
        click.echo(exc.message, err=True)
    raise SystemExit(1)


def _password() -> str:
    return os.environ.get("WAYBILL_USER_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )


def _on_user(username: str, change: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run `change(user_id, *args, CLI_ACTOR)` for the user called `username` (see `_run`)."""
    from models.accounts.access import user_by_name

    async def work() -> T:
        return await change((await user_by_name(username))["id"], *args, CLI_ACTOR)

    return _run(work)


@click.group()
def user() -> None:
    """Manage users and their access."""


@user.command("create")
@click.option("--username", prompt=True)
@click.option("--role", type=ROLES, default="operator", show_default=True)
@click.option("--email", default="", help="Where new-order e-mails go.")
def user_create(username: str, role: str, email: str) -> None:
    """Create a user. The password comes from WAYBILL_USER_PASSWORD or a hidden prompt."""
    from models.accounts.access import add_user

    password = _password()
    created = _run(lambda: add_user(username, password, role, email, CLI_ACTOR))
    click.echo(f"Created {created.role.value} '{created.username}'.")


@user.command("list")
def user_list() -> None:
    """Every user with role, state, live sessions and API tokens."""
    from models.accounts.access import users_overview

    rows: list[dict[str, Any]] = _run(lambda: users_overview(Settings.from_env().session_policy()))
    for row in rows:
        state = "active" if row["active"] else "deactivated"
        click.echo(
            f"{row['username']:<24} {row['role']:<9} {state:<12} "
            f"sessions {row['live_sessions']:<3} tokens {row['live_tokens']:<3} "
            f"{'two-step' if row['two_step'] else '':<9}{row['email']}"
        )


@user.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLES)
def user_set_role(username: str, role: str) -> None:
    """Give USERNAME another role (they are logged out everywhere)."""
    from models.accounts.access import change_role

    click.echo(_on_user(username, change_role, role))


@user.command("deactivate")
@click.argument("username")
def user_deactivate(username: str) -> None:
    """Refuse USERNAME's log-in, end their sessions and revoke their API tokens."""
    from models.accounts.access import set_active

    click.echo(_on_user(username, set_active, False))


@user.command("activate")
@click.argument("username")
def user_activate(username: str) -> None:
    """Let a deactivated USERNAME log in again (their old API tokens stay revoked)."""
    from models.accounts.access import set_active

    click.echo(_on_user(username, set_active, True))


@user.command("set-password")
@click.argument("username")
def user_set_password(username: str) -> None:
    """Set USERNAME's password (from WAYBILL_USER_PASSWORD or a hidden prompt); their sessions end."""
    from models.accounts.access import set_password

    ended = _on_user(username, set_password, _password())
    click.echo(f"Password of '{username}' changed; {ended} session(s) ended.")


@user.command("revoke-tokens")
@click.argument("username")
def user_revoke_tokens(username: str) -> None:
    """Revoke every API token of USERNAME."""
    from models.accounts.access import revoke_tokens

    click.echo(_on_user(username, revoke_tokens))


@user.command("logout")
@click.argument("username")
def user_logout(username: str) -> None:
    """End every session of USERNAME (log out everywhere)."""
    from models.accounts.access import log_out_everywhere

    ended = _on_user(username, log_out_everywhere)
    click.echo(f"'{username}' logged out everywhere ({ended} session(s) ended).")


@user.command("reset-totp")
@click.argument("username")
def user_reset_totp(username: str) -> None:
    """Take away USERNAME's two-step verification (a lost phone): their password alone logs them in until they
    set it up again; their sessions end."""
    from models.accounts.second_factor import reset

    click.echo(_on_user(username, reset))
