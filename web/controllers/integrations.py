"""Channels, suppliers and their connection issues."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from models.integrations import channel_overview, connection_issue_groups, supplier_overview
from web.pages import render


class ChannelsController(Controller):
    path = "/channels"
    include_in_schema = False

    @get("/")
    async def channels(self, request: Request) -> Template:
        return await render(request, "channels/list.html", nav="channels", channels=await channel_overview())


class SuppliersController(Controller):
    path = "/suppliers"
    include_in_schema = False

    @get("/")
    async def suppliers(self, request: Request) -> Template:
        return await render(request, "suppliers/list.html", nav="suppliers", suppliers=await supplier_overview())


class ConnectionIssuesController(Controller):
    path = "/connection-issues"
    include_in_schema = False

    @get("/")
    async def issues(self, request: Request) -> Template:
        return await render(
            request, "connection_issues.html", nav="connection_issues", groups=await connection_issue_groups()
        )
