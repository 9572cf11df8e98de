"""Connection issues of channels and suppliers."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from jobs.connections import supplier_connector
from jobs.dispatcher import dispatch_due
from jobs.http import http_client
from jobs.importer import sync_channel
from jobs.notification_jobs import send_queued_mail
from jobs.stock_jobs import retry_unknown_skus
from models.channels.integrations import connection_issue_groups
from models.channels.outbox import retry_message
from models.channels.sync_issues import get_issue
from models.notifications.mail_queue import MAIL_KIND, retry_mail_now
from models.stock.unknown_skus import is_unknown_sku_issue
from models.suppliers.supplier import WALLET_OPERATION, refresh_wallet
from web.auth import require_operator
from web.pages import fragment, is_htmx, render


class ConnectionIssuesController(Controller):
    path = "/connection-issues"
    include_in_schema = False

    @get("/")
    async def issues(self, request: Request) -> Template:
        mail = request.app.state.settings.smtp()
        groups = await connection_issue_groups(f"{mail.host}:{mail.port}" if mail else "")
        return await render(request, "channels/connection_issues.html", nav="connection_issues", groups=groups)

    @post("/{issue_id:int}/retry", guards=[require_operator])
    async def retry(self, request: Request, issue_id: FromPath[int]) -> Template | Redirect:
        """Send the failed message again now (or re-run the import, the wallet read, the push of offers the
        channel did not know) and show how it went."""
        issue = await get_issue(issue_id)
        if issue is None:
            raise NotFoundException(f"Connection issue {issue_id} does not exist.")
        if issue["outbox"]:
            await retry_message(issue["outbox"])
            await dispatch_due(http_client())
        elif issue["operation"] == "order_import" and issue["integration_kind"] == "channel":
            await sync_channel(issue["integration_id"], http_client())
        elif issue["integration_kind"] == MAIL_KIND:
            await retry_mail_now()
            mail = request.app.state.settings.smtp()
            if mail is not None:
                await send_queued_mail(mail)
        elif is_unknown_sku_issue(issue):
            await retry_unknown_skus(issue["integration_id"], http_client())
        elif issue["operation"] == WALLET_OPERATION and issue["integration_kind"] == "supplier":
            await refresh_wallet(issue["integration_id"], lambda supplier: supplier_connector(supplier, http_client()))
        issue = await get_issue(issue_id)
        if not is_htmx(request):
            return Redirect("/connection-issues")
        message = "" if issue["resolved_at"] else "Still failing: " + issue["remote_message"]
        return await fragment(request, "channels/_connection_issue_row.html", i=issue, retry_message=message)
