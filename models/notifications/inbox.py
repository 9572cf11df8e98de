"""The Notifications page's side: every message written for a user, newest first, read or unread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.core.clock import now
from models.core.errors import NotFound
from models.db.tables import NotificationMessage

PAGE_SIZE = 30


@dataclass
class Inbox:
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: The id to page on from (older messages), or None on the last page.
    next_before: int | None = None


def _columns():
    return (
        *NotificationMessage.all_columns(),
        NotificationMessage.user.username.as_alias("username"),
    )


async def list_messages(user_id: int, everyone: bool = False, before: int | None = None) -> Inbox:
    """`user_id`'s messages (or everyone's, for admins), newest first, `PAGE_SIZE` at a time."""
    query = NotificationMessage.select(*_columns())
    if not everyone:
        query = query.where(NotificationMessage.user == user_id)
    if before:
        query = query.where(NotificationMessage.id < before)
    rows = await query.order_by(NotificationMessage.id, ascending=False).limit(PAGE_SIZE + 1)
    inbox = Inbox(messages=rows[:PAGE_SIZE])
    if len(rows) > PAGE_SIZE:
        inbox.next_before = rows[PAGE_SIZE - 1]["id"]
    return inbox


async def get_message(message_id: int) -> dict[str, Any]:
    row = await NotificationMessage.select(*_columns()).where(NotificationMessage.id == message_id).first()
    if row is None:
        raise NotFound(f"Notification {message_id} does not exist.")
    return row


async def unread_count(user_id: int) -> int:
    return await NotificationMessage.count().where(
        (NotificationMessage.user == user_id) & NotificationMessage.read_at.is_null()
    )


async def mark_read(user_id: int, message_id: int) -> dict[str, Any]:
    """Mark one of the user's own messages read (marking it again changes nothing)."""
    message = await get_message(message_id)
    if message["user"] != user_id:
        raise NotFound(f"Notification {message_id} is not one of yours: only its recipient can mark it read.")
    if message["read_at"] is None:
        await NotificationMessage.update({NotificationMessage.read_at: now()}).where(
            (NotificationMessage.id == message_id) & NotificationMessage.read_at.is_null()
        )
    return await get_message(message_id)


async def mark_all_read(user_id: int) -> int:
    rows = (
        await NotificationMessage.update({NotificationMessage.read_at: now()})
        .where((NotificationMessage.user == user_id) & NotificationMessage.read_at.is_null())
        .returning(NotificationMessage.id)
    )
    return len(rows)
