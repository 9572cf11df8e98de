"""The secret key on the command line: `waybill serve` refusing a key that cannot read the stored
credentials, and `waybill rotate-key` encrypting them again with a new key."""

from __future__ import annotations

import click

from web.cli_database import on_database
from web.settings import Settings


def _configure(settings: Settings) -> None:
    from models.accounts import credentials

    credentials.configure(settings.secret_key, settings.secret_key_previous)


def refuse_unreadable_credentials(settings: Settings, url: str) -> None:
    """Exit with status 2 when a stored credential decrypts with none of the configured keys.

    Started anyway, the instance would see every channel without credentials and could save over them."""
    from models.accounts.key_rotation import check_credentials

    _configure(settings)
    try:
        check = on_database(url, check_credentials)
    except Exception as exc:  # e.g. PostgreSQL not reachable: the instance could not work either
        click.echo(f"Cannot start: the database could not be read ({type(exc).__name__}: {exc}).", err=True)
        raise SystemExit(2) from None
    if not check.readable:
        click.echo(f"Cannot start: {check.refusal()}", err=True)
        raise SystemExit(2)
    if check.on_previous_key:
        click.echo(
            f"Stored credentials still encrypted with a key from WAYBILL_SECRET_KEY_PREVIOUS: {check.on_previous_key}. "
            "Run `waybill rotate-key`.",
            err=True,
        )


@click.command("rotate-key")
@click.option(
    "--drop-unreadable",
    is_flag=True,
    help="Empty the credentials that no key decrypts (their key is lost); enter them again afterwards.",
)
def rotate_key(drop_unreadable: bool) -> None:
    """Encrypt the stored credentials again with WAYBILL_SECRET_KEY, reading them with it or a key of
    WAYBILL_SECRET_KEY_PREVIOUS. All or nothing: exits 1 and changes nothing if a value reads with no key."""
    from models import db
    from models.accounts.key_rotation import rotate_credentials
    from models.core.errors import DomainError

    settings = Settings.from_env()
    problems = settings.secret_key_problems()
    if problems:
        for problem in problems:
            click.echo(f"Cannot rotate: {problem}", err=True)
        raise SystemExit(2)
    _configure(settings)
    url = settings.database_url or db.database_url_from_env()
    try:
        result = on_database(url, lambda: rotate_credentials(drop_unreadable=drop_unreadable))
    except DomainError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(1) from None
    channels = f"{result.channels} channel{'' if result.channels == 1 else 's'}"
    suppliers = f"{result.suppliers} supplier{'' if result.suppliers == 1 else 's'}"
    click.echo(f"Re-encrypted the credentials of {channels} and {suppliers} with WAYBILL_SECRET_KEY.")
    if result.second_factors:
        click.echo(f"Re-encrypted {result.second_factors} two-step verification secret(s).")
    if result.dropped:
        click.echo(
            f"Emptied the unreadable credentials of {', '.join(result.dropped)}: enter them again on their pages."
        )
    if settings.secret_key_previous:
        click.echo("Once every instance runs with this WAYBILL_SECRET_KEY, WAYBILL_SECRET_KEY_PREVIOUS can go.")
