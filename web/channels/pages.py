"""Channels: list, add, edit, status pairing, and Sync now."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from connectors.registry import channel_kinds
from jobs.http import http_client
from jobs.importer import sync_channel
from models.channels.integrations import channel_overview
from models.channels.setup import (
    ChannelForm,
    create_channel,
    credential_fields_set,
    credentials_unreadable,
    get_channel,
    update_channel,
)
from models.channels.sync_issues import recent_issues
from models.core.errors import Conflict, FieldErrors
from models.orders.auto_accept import AutoAcceptRule
from models.orders.lifecycle import STATUS_LABELS, OrderStatus
from web.auth import require_admin, require_operator
from web.form_body import FORM, form_version
from web.pages import fragment, is_htmx, render

STATUS_VALUES = frozenset(status.value for status in OrderStatus)


def _form_from(data: dict[str, Any]) -> ChannelForm:
    kind = str(data.get("kind", ""))
    creds = {key: str(data.get(f"cred_{key}", "")).strip() for key, _ in _fields(kind)}
    return ChannelForm(
        name=str(data.get("name", "")),
        kind=kind,
        base_url=str(data.get("base_url", "")),
        poll_interval_s=str(data.get("poll_interval_s", "300")),
        handling_days=str(data.get("handling_days", "2")),
        auto_accept=data.get("auto_accept") == "on",
        hold_unknown_sku=data.get("hold_unknown_sku") == "on",
        hold_below_cost_pct=str(data.get("hold_below_cost_pct", "")),
        auto_process=data.get("auto_process") == "on",
        active=data.get("active") == "on",
        currency=str(data.get("currency", "EUR")),
        credentials=creds,
    )


def _fields(kind: str) -> tuple[tuple[str, str], ...]:
    cls = channel_kinds().get(kind)
    return cls.credential_fields if cls else ()


def _credential_labels(channel: dict[str, Any]) -> list[str]:
    labels = dict(_fields(channel["kind"]))
    return [labels.get(key, key) for key in credential_fields_set(channel)]


def _pairing_rows(kind: str) -> list[dict[str, Any]]:
    cls = channel_kinds().get(kind)
    if cls is None:
        return []
    pairing = cls.pairing
    rows = []
    for state, internal in pairing.to_internal.items():
        actions = sorted(a for a, states in pairing.actions.items() if state in states)
        rows.append(
            {
                "channel_state": state,
                "internal": STATUS_LABELS[OrderStatus(internal)] if internal in STATUS_VALUES else internal,
                "imported": state in pairing.importable,
                "actions": actions,
            }
        )
    return rows


class ChannelsController(Controller):
    path = "/channels"
    include_in_schema = False

    async def _form_page(self, request: Request, channel: dict | None, form: dict, errors: dict, status: int = 200):
        return await render(
            request,
            "channels/form.html",
            status_code=status,
            nav="channels",
            channel=channel,
            form=form,
            errors=errors,
            kinds={k: c.label for k, c in channel_kinds().items()},
            credential_fields={kind: cls.credential_fields for kind, cls in channel_kinds().items()},
            stored_credentials=credential_fields_set(channel) if channel else [],
            credentials_unreadable=bool(channel) and credentials_unreadable(channel),
        )

    @get("/")
    async def channels(self, request: Request) -> Template:
        return await render(request, "channels/list.html", nav="channels", channels=await channel_overview())

    @get("/new", guards=[require_admin])
    async def new_channel(self, request: Request) -> Template:
        form = {
            "poll_interval_s": 300,
            "handling_days": 2,
            "currency": "EUR",
            "active": True,
            "kind": "mirakl",
            "hold_unknown_sku": True,
        }
        return await self._form_page(request, None, form, {})

    @post("/", guards=[require_admin])
    async def add_channel(self, request: Request, data: FORM) -> Template | Redirect:
        try:
            channel_id = await create_channel(_form_from(data), channel_kinds())
        except FieldErrors as exc:
            return await self._form_page(request, None, dict(data), exc.errors, 400)
        return Redirect(f"/channels/{channel_id}?created=1")

    @get("/{channel_id:int}")
    async def channel_page(self, request: Request, channel_id: FromPath[int], created: FromQuery[str] = "") -> Template:
        channel = await get_channel(channel_id)
        return await render(
            request,
            "channels/detail.html",
            nav="channels",
            channel=channel,
            kind_label=getattr(channel_kinds().get(channel["kind"]), "label", channel["kind"]),
            pairing=_pairing_rows(channel["kind"]),
            issues=await recent_issues("channel", channel_id),
            stored_credentials=_credential_labels(channel),
            credentials_unreadable=credentials_unreadable(channel),
            auto_accept_rule=AutoAcceptRule.of(channel).describe(),
            message="Channel added. Use Sync now to import its open orders." if created else "",
        )

    @get("/{channel_id:int}/edit", guards=[require_admin])
    async def edit_channel(self, request: Request, channel_id: FromPath[int]) -> Template:
        channel = await get_channel(channel_id)
        return await self._form_page(request, channel, dict(channel), {})

    @post("/{channel_id:int}", guards=[require_admin])
    async def save_channel(self, request: Request, channel_id: FromPath[int], data: FORM) -> Template | Redirect:
        channel = await get_channel(channel_id)
        version = form_version(data, "channel")
        try:
            await update_channel(channel_id, _form_from(data), channel_kinds(), version)
        except FieldErrors as exc:
            return await self._form_page(request, channel, dict(data), exc.errors, 400)
        except Conflict as exc:  # another admin saved first: their change stays, this form keeps what was typed
            return await self._form_page(request, channel, dict(data), {"version": exc.message}, 409)
        return Redirect(f"/channels/{channel_id}")

    @post("/{channel_id:int}/sync", guards=[require_operator])
    async def sync_now(self, request: Request, channel_id: FromPath[int]) -> Template | Redirect:
        await get_channel(channel_id)
        run = await sync_channel(channel_id, http_client())
        if not is_htmx(request):
            return Redirect(request.headers.get("referer") or f"/channels/{channel_id}")
        channel = await get_channel(channel_id)
        return await fragment(request, "channels/_sync_status.html", channel=channel, run=run)
