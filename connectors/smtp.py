"""Outgoing e-mail over SMTP (aiosmtplib): the mail server is one more system Waybill talks to.

Port 465 speaks TLS from the first byte; any other port upgrades with STARTTLS when `starttls` is
on (the default, for port 587), or stays plain for a relay on a trusted network.
"""

from __future__ import annotations

import email.errors
import email.utils
import re
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    username: str = ""
    password: str = ""
    sender: str = "waybill@localhost"
    starttls: bool = True
    timeout_s: float = 20.0

    def describe(self) -> str:
        security = "TLS" if self.port == IMPLICIT_TLS_PORT else ("STARTTLS" if self.starttls else "no TLS")
        return f"{self.host}:{self.port} ({security}), from {self.sender}"


class MailError(Exception):
    """The mail server could not be reached or refused the message; `message` says which, in its words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MailUnbuildable(MailError):
    """The message itself cannot be written as an e-mail (e.g. a line break in an address): sending it again
    would fail the same way, so it is set aside with this reason instead of blocking the queue."""


#: Characters no header may hold; in a subject they become spaces.
_HEADER_BREAKS = re.compile("[\x00-\x1f\x7f\u2028\u2029]+")


def build_message(config: SmtpConfig, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    """The e-mail, or `MailUnbuildable` with the reason when a header cannot be written."""
    message = EmailMessage()
    try:
        message["From"] = config.sender
        message["To"] = to
        message["Subject"] = _HEADER_BREAKS.sub(" ", subject).strip()
        message["Date"] = email.utils.formatdate(localtime=False)
        # Stable per notification: a resend after a crash can be recognised as the same message.
        message["Message-ID"] = message_id
        message.set_content(body)
        message.as_bytes()  # what the mail server would be sent: fails here, not inside the sender
    except (ValueError, TypeError, email.errors.MessageError) as exc:
        raise MailUnbuildable(f"This message cannot be written as an e-mail ({exc}).") from exc
    return message


async def send_mail(config: SmtpConfig, to: str, subject: str, body: str, message_id: str) -> None:
    """Hand one plain-text message to the mail server; raises `MailError` if it is not accepted."""
    implicit_tls = config.port == IMPLICIT_TLS_PORT
    message = build_message(config, to, subject, body, message_id)
    try:
        await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username or None,
            password=config.password or None,
            use_tls=implicit_tls,
            start_tls=config.starttls and not implicit_tls,
            timeout=config.timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        raise MailError(f"The mail server refused the recipient ({refused}). Check the user's e-mail address.") from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"The mail server refused the log-in ({exc.code} {exc.message}). "
            "Check WAYBILL_SMTP_USER and WAYBILL_SMTP_PASSWORD."
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise MailError(f"The mail server answered {exc.code} {exc.message}") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise MailError(
            f"Could not reach the mail server {config.host}:{config.port} ({exc}). "
            "Check that it is up, and WAYBILL_SMTP_HOST, WAYBILL_SMTP_PORT and WAYBILL_SMTP_STARTTLS."
        ) from exc
