"""Reconciliation: Waybill's orders against the channels' and suppliers' own state, with Resync."""

from __future__ import annotations

import datetime as dt

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from jobs.reconciliation import resync_order, run_reconciliation
from models.channels.setup import get_channel
from models.core.app_settings import merchant_timezone
from models.core.bounds import FIRST_DAY, LAST_DAY, OutOfBounds, day, row_id_or_none
from models.db.tables import Channel
from web.auth import require_operator
from web.form_body import FORM, form_id
from web.pages import fragment, is_htmx, render

#: The page opens with orders of the last 30 days; an empty date covers every order.
DEFAULT_DAYS = 30


class ReconciliationController(Controller):
    path = "/channels/reconciliation"
    include_in_schema = False
    guards = [require_operator]

    @get("/")
    async def page(
        self, request: Request, channel: FromQuery[str] = "", since: FromQuery[str] = "", run: FromQuery[str] = ""
    ) -> Template:
        channels = await Channel.select(Channel.id, Channel.name).order_by(Channel.name)
        errors: dict[str, str] = {}
        chosen = row_id_or_none(channel)
        channel_id = chosen if any(c["id"] == chosen for c in channels) else None
        if channel and channel_id is None:
            errors["channel"] = "Choose a channel from the list."
        start = None
        if since:
            try:
                start = dt.datetime.combine(day(since), dt.time(), tzinfo=await merchant_timezone())
            except OutOfBounds as exc:
                first = "such as 2026-11-01" if exc.malformed else f"from {FIRST_DAY} to {LAST_DAY}"
                errors["since"] = f"Enter a date {first}, or leave it empty for every order."
        if not run and not since:
            # A first look covers the last 30 days: older orders are read one by one from the channel.
            today = dt.datetime.now(await merchant_timezone()).date()
            since = (today - dt.timedelta(days=DEFAULT_DAYS)).isoformat()
        report = None
        if run and not errors:
            report = await run_reconciliation([channel_id] if channel_id else None, start)
        return await render(
            request,
            "channels/reconciliation.html",
            nav="channels",
            channels=channels,
            form={"channel": channel, "since": since},
            errors=errors,
            report=report,
        )

    @post("/resync")
    async def resync(self, request: Request, data: FORM) -> Template | Redirect:
        channel = await get_channel(form_id(data, "channel_id", "channel") or 0)
        channel_order_id = str(data.get("channel_order_id", ""))
        result = await resync_order(channel["id"], channel_order_id)
        if not is_htmx(request):
            return Redirect(request.headers.get("referer") or "/channels/reconciliation")
        return await fragment(
            request,
            "channels/_reconcile_resynced.html",
            channel=channel,
            channel_order_id=channel_order_id,
            kind=str(data.get("kind", "")),
            result=result,
        )
