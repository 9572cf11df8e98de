"""The Notifications page: every message written for the user (e-mailed or kept here), and *Mark as read*."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from models.notifications.inbox import list_messages, mark_all_read, mark_read, unread_count
from web.input_bounds import QueryId
from web.pages import fragment, is_htmx, render


def own_origins(request: Request) -> tuple[str, ...]:
    """Where this instance's pages live, as e-mail bodies link to them: the public URL and this request's."""
    return (request.app.state.settings.public_url, str(request.base_url))


def mail_status(request: Request) -> str:
    """One sentence on where notifications go, for this page and the Settings page."""
    settings = request.app.state.settings
    mail = settings.smtp()
    if settings.demo:
        return "The demo never sends e-mail: notifications are kept on the Notifications page."
    if mail is None:
        return "No mail server is configured: notifications are not e-mailed, only kept on the Notifications page."
    return f"Notifications are e-mailed through {mail.describe()}; a copy is kept on the Notifications page."


class NotificationsController(Controller):
    path = "/notifications"
    include_in_schema = False

    @get("/")
    async def notifications(self, request: Request, show: FromQuery[str] = "mine", before: QueryId = None) -> Template:
        everyone = show == "everyone" and request.user.is_admin
        inbox = await list_messages(request.user.id, everyone=everyone, before=before)
        return await render(
            request,
            "notifications/list.html",
            nav="notifications",
            inbox=inbox,
            everyone=everyone,
            mail_status=mail_status(request),
            own_origins=own_origins(request),
        )

    @post("/{message_id:int}/read")
    async def read(self, request: Request, message_id: FromPath[int]) -> Template | Redirect:
        message = await mark_read(request.user.id, message_id)
        if not is_htmx(request):
            return Redirect("/notifications")
        return await fragment(
            request,
            "notifications/_read.html",
            m=message,
            nav="notifications",
            notifications_unread=await unread_count(request.user.id),
            oob=True,
            own_origins=own_origins(request),
        )

    @post("/read-all")
    async def read_all(self, request: Request) -> Redirect:
        await mark_all_read(request.user.id)
        return Redirect("/notifications")
