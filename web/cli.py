"""The `waybill` command: demo, serve, migrate, reconcile, `rotate-key` (`web/cli_keys.py`) and `user …`
(`web/cli_users.py`)."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import click

from web.cli_database import bind_and_migrate as _bind_and_migrate
from web.settings import Settings

# The domain and the database are imported by the commands that use them: `waybill serve --workers N`
# keeps a supervising process that needs neither (about 15 MB less).


@click.group()
def main() -> None:
    """Waybill: a self-hosted order hub for multi-marketplace merchants."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--data-dir", default="waybill-demo", show_default=True, type=click.Path(file_okay=False))
def demo(host: str, port: int, data_dir: str) -> None:
    """Run the dashboard on SQLite with demo data, sandbox marketplaces and a flow of orders."""
    import uvicorn

    from jobs.channel_jobs import install_channel_jobs
    from jobs.demo.flow import demo_jobs, prepare_demo
    from jobs.demo.world import DEMO_PASSWORD, DEMO_USERNAME
    from jobs.notification_jobs import notification_jobs
    from jobs.scheduler import scheduler_lifespan
    from jobs.stock_jobs import install_stock_jobs
    from jobs.supplier_jobs import install_supplier_jobs
    from web.app import create_app

    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # The sandboxes keep their state in memory, so every demo starts from a fresh database.
    for old in folder.glob("waybill.sqlite3*"):
        old.unlink()
    settings = Settings.from_env()
    settings.demo = True
    settings.sandboxes = True
    settings.data_dir = data_dir
    settings.secret_key = settings.secret_key or _demo_secret_key(folder)
    settings.database_url = f"sqlite:///{folder.resolve() / 'waybill.sqlite3'}"
    _bind_and_migrate(settings.database_url)
    from connectors.sandbox.app import build_sandboxes

    sandboxes = build_sandboxes(seed=7)
    settings.extra["sandboxes"] = sandboxes
    # The demo never sends e-mail: its notifications are kept on the Notifications page.
    installers = [
        install_channel_jobs,
        _demo_supplier_jobs(install_supplier_jobs),
        _demo_stock_jobs(install_stock_jobs),
        demo_jobs(sandboxes),
        notification_jobs(settings.smtp(), settings.link_base(host, port)),
    ]
    hooks = [scheduler_lifespan(installers, settings.job_intervals)] if settings.scheduler_enabled else []
    app = create_app(settings, lifespan_hooks=hooks)
    local_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    asyncio.run(prepare_demo(app, f"http://{local_host}:{port}"))
    click.echo("")
    click.echo(f"  Waybill demo: http://{local_host}:{port}/")
    click.echo(f"  Log in as '{DEMO_USERNAME}' with password '{DEMO_PASSWORD}'.")
    click.echo(f"  Sandbox marketplaces: http://{local_host}:{port}/sandbox/{{mirakl,backmarket,mall}}")
    click.echo(f"  Data: {folder.resolve()}")
    click.echo("")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _demo_secret_key(folder: Path) -> str:
    """The demo's own random key, kept beside its database (readable by its owner only): sessions and
    credentials of one demo cannot be forged or read with a key anyone could look up."""
    import secrets

    path = folder / "secret.key"
    if path.exists() and len(key := path.read_text().strip()) >= 32:
        return key
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def _demo_stock_jobs(install):
    """Stock sync every few seconds, so a change in a supplier sandbox shows on the channels quickly."""

    def install_for_demo(scheduler) -> None:
        install(scheduler, every_s=10)

    return install_for_demo


def _demo_supplier_jobs(install):
    """The supplier jobs, following supplier progress every few seconds so the demo moves along."""

    def install_for_demo(scheduler) -> None:
        install(scheduler, tracking_every_s=8)

    return install_for_demo


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
@click.option("--orders-every", default=0.0, show_default=True, help="Seconds between new orders (0: none).")
def sandbox(host: str, port: int, orders_every: float) -> None:
    """Serve only the sandbox marketplaces (for trials and multi-instance tests)."""
    import uvicorn

    from connectors.sandbox.app import create_sandbox_app

    uvicorn.run(create_sandbox_app(order_interval_s=orders_every or None), host=host, port=port, log_level="warning")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes, each a full instance (about one CPU core each).",
)
def serve(host: str, port: int, workers: int) -> None:
    """Run Waybill in production (needs WAYBILL_SECRET_KEY and WAYBILL_DATABASE_URL)."""
    import uvicorn

    from web.cli_keys import refuse_unreadable_credentials
    from web.settings import LISTEN_HOST_ENV, LISTEN_PORT_ENV

    settings = Settings.from_env()
    problems = settings.production_problems()
    if problems:
        for problem in problems:
            click.echo(f"Cannot start: {problem}", err=True)
        raise SystemExit(2)
    refuse_unreadable_credentials(settings, settings.database_url)
    os.environ[LISTEN_HOST_ENV], os.environ[LISTEN_PORT_ENV] = host, str(port)
    uvicorn.run(
        "web.production:production_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        access_log=False,
    )


@main.command("migrate")
def migrate_command() -> None:
    """Apply database migrations (WAYBILL_DATABASE_URL, or the default SQLite file)."""
    from models import db

    url = Settings.from_env().database_url or db.database_url_from_env()
    _bind_and_migrate(url)
    click.echo("Database is up to date.")


@main.command("reconcile")
@click.option(
    "--channel", "channels", multiple=True, help="A channel's name or id (repeatable); default: every active one."
)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only orders placed from this day on.")
@click.option("--resync", is_flag=True, help="Resync every order found out of line, then report again.")
@click.option("--limit", default=50, show_default=True, help="Findings listed at most.")
def reconcile_command(channels: tuple[str, ...], since, resync: bool, limit: int) -> None:
    """Compare every order with its channel and suppliers: lost, duplicated and mismatched orders.

    Exits with status 1 when anything was found or a channel could not be read.
    """
    from connectors import registry
    from jobs.http import close_http_client
    from jobs.reconciliation import resync_order, run_reconciliation
    from models import db
    from models.accounts import credentials
    from models.accounts.key_rotation import check_credentials
    from models.core.app_settings import merchant_timezone
    from models.db.tables import Channel
    from web.channels.reconcile_text import report_lines

    settings = Settings.from_env()
    if not settings.secret_key:
        click.echo(
            "Cannot reconcile: WAYBILL_SECRET_KEY must be set (it decrypts the channels' credentials).", err=True
        )
        raise SystemExit(2)
    credentials.configure(settings.secret_key, settings.secret_key_previous)
    registry.install()
    url = settings.database_url or db.database_url_from_env()

    async def run() -> int:
        db.bind(db.engine_for(url))
        await db.start_pool(max_size=4)
        try:
            check = await check_credentials()
            if not check.readable:
                click.echo(f"Cannot reconcile: {check.refusal()}", err=True)
                return 2
            ids = None
            if channels:
                rows = await Channel.select(Channel.id, Channel.name)
                by_name = {row["name"]: row["id"] for row in rows} | {str(row["id"]): row["id"] for row in rows}
                unknown = [c for c in channels if c not in by_name]
                if unknown:
                    click.echo(f"No channel named {', '.join(unknown)}.", err=True)
                    return 2
                ids = [by_name[c] for c in channels]
            start = None
            if since is not None:
                start = since.replace(tzinfo=await merchant_timezone())
            report = await run_reconciliation(ids, start)
            if resync and report.findings:
                for finding in [f for f in report.findings if f.resync]:
                    result = await resync_order(finding.channel_id, finding.channel_order_id)
                    click.echo(f"Resync {finding.channel_name} {finding.channel_order_id}: {result.message}")
                report = await run_reconciliation(ids, start)
            for line in report_lines(report, limit):
                click.echo(line)
            return 0 if report.clean else 1
        finally:
            await close_http_client()
            await db.close_pool()

    raise SystemExit(asyncio.run(run()))


def _register_commands() -> None:
    from web.cli_keys import rotate_key
    from web.cli_users import user

    main.add_command(user)
    main.add_command(rotate_key)


_register_commands()
