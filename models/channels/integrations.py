"""Overviews of channels and suppliers for their list pages."""

from __future__ import annotations

from typing import Any

from models import db
from models.channels.sync_issues import recent_issues
from models.db.tables import Channel, Supplier
from models.notifications.mail_queue import MAIL_ID, MAIL_KIND


async def channel_overview() -> list[dict[str, Any]]:
    channels = await Channel.select(
        Channel.id,
        Channel.name,
        Channel.kind,
        Channel.base_url,
        Channel.poll_interval_s,
        Channel.auto_accept,
        Channel.auto_process,
        Channel.active,
        Channel.last_import_at,
        Channel.last_import_result,
        Channel.last_import_ok,
    ).order_by(Channel.name)
    counts = await db.fetch("SELECT channel_id, status, n FROM order_status_count")
    for channel in channels:
        per_status = {r["status"]: int(r["n"]) for r in counts if r["channel_id"] == channel["id"]}
        channel["orders"] = sum(per_status.values())
        channel["pending_review"] = per_status.get("pending_review", 0)
        channel["awaiting_acceptance"] = per_status.get("awaiting_acceptance", 0)
    return channels


async def supplier_overview() -> list[dict[str, Any]]:
    suppliers = await Supplier.select(
        Supplier.id,
        Supplier.name,
        Supplier.kind,
        Supplier.prepaid,
        Supplier.wallet_balance,
        Supplier.wallet_currency,
        Supplier.wallet_updated_at,
        Supplier.active,
    ).order_by(Supplier.name)
    counts = await db.fetch(
        "SELECT so.supplier AS supplier, COUNT(*) AS n FROM supplier_order so "
        "WHERE so.status NOT IN ('shipped', 'cancelled') GROUP BY so.supplier"
    )
    open_by_supplier = {r["supplier"]: int(r["n"]) for r in counts}
    for supplier in suppliers:
        supplier["open_orders"] = open_by_supplier.get(supplier["id"], 0)
    return suppliers


async def connection_issue_groups(mail_server: str = "") -> list[dict[str, Any]]:
    """Per integration, its recent issues (the last 20 of the last 7 days). The mail server
    (`mail_server` names it when one is configured) is listed when configured or when it failed."""
    groups = []
    for channel in await Channel.select(Channel.id, Channel.name, Channel.kind).order_by(Channel.name):
        groups.append({"kind": "channel", **channel, "issues": await recent_issues("channel", channel["id"])})
    for supplier in await Supplier.select(Supplier.id, Supplier.name, Supplier.kind).order_by(Supplier.name):
        groups.append({"kind": "supplier", **supplier, "issues": await recent_issues("supplier", supplier["id"])})
    mail_issues = await recent_issues(MAIL_KIND, MAIL_ID)
    if mail_server or mail_issues:
        name = f"Mail server {mail_server}" if mail_server else "Mail server"
        groups.append({"kind": MAIL_KIND, "id": MAIL_ID, "name": name, "issues": mail_issues})
    return groups
