"""The notification job: write the messages that are due, then hand queued ones to the mail server.

Runs every few seconds in every instance; the rows it works on are claimed in the database, so
instances never write or send the same message twice at once. Without a mail server the messages
are kept on the Notifications page.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from connectors.smtp import MailError, MailUnbuildable, SmtpConfig, send_mail
from jobs.instance import INSTANCE_ID
from jobs.scheduler import JobInstaller
from models.notifications.mail_queue import claim_mail, keep_queued, mail_failed, mark_kept, mark_sent, postpone_mail
from models.notifications.new_orders import GATHER, NO_ADDRESS, NO_MAIL_SERVER, SPACING, gather_due

log = logging.getLogger(__name__)

NOTIFY_EVERY_S = 15
#: Messages handed to the mail server per run; a run ends early at the first failure.
SEND_BATCH = 20


@dataclass
class DeliveryRun:
    written: list[int] = field(default_factory=list)
    sent: int = 0
    failed: int = 0


async def deliver_notifications(
    mail: SmtpConfig | None,
    base_url: str,
    *,
    gather: dt.timedelta = GATHER,
    spacing: dt.timedelta = SPACING,
    owner: str = INSTANCE_ID,
) -> DeliveryRun:
    run = DeliveryRun(written=(await gather_due(base_url, mail is not None, gather, spacing)).messages)
    if mail is None:
        await keep_queued(NO_MAIL_SERVER)
        return run
    sent, failed = await send_queued_mail(mail, owner)
    run.sent, run.failed = sent, failed
    return run


async def send_queued_mail(mail: SmtpConfig, owner: str = INSTANCE_ID) -> tuple[int, int]:
    """Send what is due; returns (sent, failed). After a failure the rest waits: the server is
    probably down, and each message keeps its own retry time."""
    sent = failed = 0
    retry_at = None
    for message in await claim_mail(owner, SEND_BATCH):
        address = (message["email"] or "").strip()
        if not address:
            await mark_kept(message, owner, NO_ADDRESS)
            continue
        if retry_at is not None:
            await postpone_mail(message, owner, retry_at)
            continue
        try:
            await send_mail(
                mail, address, message["subject"], message["body"], f"<waybill-notification-{message['id']}@waybill>"
            )
        except MailUnbuildable as exc:
            # Trying again would fail the same way: set it aside with the reason, and go on with the others.
            await mark_kept(message, owner, exc.message)
            log.warning("e-mail %s cannot be built: %s", message["id"], exc.message)
            continue
        except MailError as exc:
            failed += 1
            retry_at = await mail_failed(message, owner, exc.message)
            log.warning("e-mail %s not sent (next try %s): %s", message["id"], retry_at.isoformat(), exc.message)
            continue
        await mark_sent(message, owner, address)
        sent += 1
    return sent, failed


def notification_jobs(mail: SmtpConfig | None, base_url: str) -> JobInstaller:
    """Installer of the notification job for `waybill serve` and the demo."""

    async def notify() -> None:
        run = await deliver_notifications(mail, base_url)
        if run.written or run.sent or run.failed:
            log.info("notifications: %d written, %d e-mailed, %d failed", len(run.written), run.sent, run.failed)

    def install(scheduler: AsyncIOScheduler) -> None:
        scheduler.add_job(notify, "interval", seconds=NOTIFY_EVERY_S, id="notifications")

    return install
