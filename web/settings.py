"""Runtime settings, read from environment variables (all listed in the README)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from connectors.smtp import SmtpConfig
from models.accounts.sessions import SessionPolicy

#: The address `waybill serve` listens on, handed to its worker processes for links in e-mails.
LISTEN_HOST_ENV = "WAYBILL_LISTEN_HOST"
LISTEN_PORT_ENV = "WAYBILL_LISTEN_PORT"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def parse_job_intervals(text: str) -> dict[str, float]:
    """`outbox-dispatch=1,supplier-tracking=5` → {"outbox-dispatch": 1.0, "supplier-tracking": 5.0}."""
    intervals: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, _, seconds = item.partition("=")
        try:
            value = float(seconds)
        except ValueError:
            raise ValueError(f"WAYBILL_JOB_INTERVALS: “{item.strip()}” is not job=seconds.") from None
        if value <= 0:
            raise ValueError(f"WAYBILL_JOB_INTERVALS: the interval of {name.strip()} must be above 0.")
        intervals[name.strip()] = value
    return intervals


def parse_previous_keys(text: str) -> list[str]:
    """`old-key` or `older-key,old-key` → the keys, blanks around and between them dropped."""
    return [key.strip() for key in text.split(",") if key.strip()]


def _hours(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}: “{raw}” is not a number of hours.") from None
    if not 0 < value <= 24 * 90:
        raise ValueError(f"{name}: use a number of hours above 0 and at most 2160 (90 days).")
    return value


@dataclass
class Settings:
    database_url: str = ""
    secret_key: str = ""
    #: Keys the credentials may still be encrypted with (`WAYBILL_SECRET_KEY_PREVIOUS`): read, never written.
    secret_key_previous: list[str] = field(default_factory=list)
    scheduler_enabled: bool = True
    secure_cookies: bool = False
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "waybill@localhost"
    smtp_starttls: bool = True
    #: Where people open Waybill (e.g. https://orders.example.com): the base of links in e-mails.
    public_url: str = ""
    demo: bool = False
    #: Serve the marketplace sandboxes under /sandbox/… (the demo does; production only if asked).
    sandboxes: bool = False
    data_dir: str = ""
    #: Job id → seconds, overriding the scheduler's intervals (`WAYBILL_JOB_INTERVALS`).
    job_intervals: dict[str, float] = field(default_factory=dict)
    #: Seconds between stock syncs (supplier stock read, offers planned and queued).
    stock_sync_s: int = 300
    #: A log-in session ends after this many hours without a request, and in any case this long after log-in.
    session_idle_hours: float = 12
    session_lifetime_hours: float = 24
    #: Admins must set up two-step verification before any page opens (`WAYBILL_REQUIRE_ADMIN_TOTP`).
    require_admin_totp: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        public_url = os.environ.get("WAYBILL_PUBLIC_URL", "").strip()
        return cls(
            database_url=os.environ.get("WAYBILL_DATABASE_URL", ""),
            secret_key=os.environ.get("WAYBILL_SECRET_KEY", ""),
            secret_key_previous=parse_previous_keys(os.environ.get("WAYBILL_SECRET_KEY_PREVIOUS", "")),
            scheduler_enabled=_flag("WAYBILL_SCHEDULER", True),
            # Served over HTTPS (the public URL says so): cookies never travel in clear unless told otherwise.
            secure_cookies=_flag("WAYBILL_SECURE_COOKIES", public_url.lower().startswith("https://")),
            smtp_host=os.environ.get("WAYBILL_SMTP_HOST", ""),
            smtp_port=int(os.environ.get("WAYBILL_SMTP_PORT", "587") or 587),
            smtp_user=os.environ.get("WAYBILL_SMTP_USER", ""),
            smtp_password=os.environ.get("WAYBILL_SMTP_PASSWORD", ""),
            smtp_from=os.environ.get("WAYBILL_SMTP_FROM", "waybill@localhost"),
            smtp_starttls=_flag("WAYBILL_SMTP_STARTTLS", True),
            public_url=public_url,
            sandboxes=_flag("WAYBILL_SANDBOXES", False),
            job_intervals=parse_job_intervals(os.environ.get("WAYBILL_JOB_INTERVALS", "")),
            session_idle_hours=_hours("WAYBILL_SESSION_IDLE_HOURS", 12),
            session_lifetime_hours=_hours("WAYBILL_SESSION_LIFETIME_HOURS", 24),
            require_admin_totp=_flag("WAYBILL_REQUIRE_ADMIN_TOTP", False),
            stock_sync_s=max(30, int(os.environ.get("WAYBILL_STOCK_SYNC_SECONDS", "300") or 300)),
        )

    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle=dt.timedelta(hours=self.session_idle_hours), lifetime=dt.timedelta(hours=self.session_lifetime_hours)
        )

    def smtp(self) -> SmtpConfig | None:
        """The mail server for notifications, or None: messages are then kept on the Notifications page."""
        if not self.smtp_host or self.demo:
            return None
        return SmtpConfig(
            host=self.smtp_host,
            port=self.smtp_port,
            username=self.smtp_user,
            password=self.smtp_password,
            sender=self.smtp_from,
            starttls=self.smtp_starttls,
        )

    def link_base(self, host: str = "127.0.0.1", port: int = 8000) -> str:
        """The base of links in e-mails: `WAYBILL_PUBLIC_URL`, else the address this instance listens on."""
        if self.public_url:
            return self.public_url.rstrip("/")
        local = "localhost" if host in ("0.0.0.0", "::", "") else host
        return f"http://{local}:{port}"

    def production_problems(self) -> list[str]:
        """What stops `waybill serve` from starting safely."""
        problems = self.secret_key_problems()
        if not self.database_url:
            problems.append("WAYBILL_DATABASE_URL must be set (a SQLite path or a postgres:// URL).")
        return problems

    def secret_key_problems(self) -> list[str]:
        """Why WAYBILL_SECRET_KEY cannot protect sessions and credentials (empty when it can)."""
        if len(self.secret_key) < 32:
            return ["WAYBILL_SECRET_KEY must be set to a random string of at least 32 characters."]
        if len({char for char in self.secret_key if not char.isspace()}) <= 1:
            return [
                "WAYBILL_SECRET_KEY is only whitespace or one repeated character: set it to a random string "
                "of at least 32 characters (python3 -c 'import secrets; print(secrets.token_urlsafe(48))')."
            ]
        return []
