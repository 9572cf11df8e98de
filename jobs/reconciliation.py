"""The reconciliation report and its Resync action, wired to the stored channels' and suppliers' APIs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from jobs.connections import channel_connector, supplier_connector
from jobs.dispatcher import dispatch_channel_order_now
from jobs.http import http_client
from jobs.supplier_dispatch import dispatch_order_now, follow_supplier_order
from models.channels.importing import import_orders
from models.channels.reconcile import Report, find_order, reconcile, requeue_messages
from models.channels.setup import get_channel
from models.channels.status import follow_channel_states
from models.core.errors import DomainError
from models.db.tables import SupplierOrder
from models.orders.lifecycle import STATUS_LABELS, OrderStatus
from models.ports import RemoteError


async def run_reconciliation(
    channel_ids: Iterable[int] | None = None, since: dt.datetime | None = None, client: httpx.AsyncClient | None = None
) -> Report:
    client = client or http_client()
    return await reconcile(
        lambda channel: channel_connector(channel, client),
        lambda supplier: supplier_connector(supplier, client),
        channel_ids=channel_ids,
        since=since,
    )


@dataclass
class ResyncResult:
    ok: bool
    message: str
    order_id: int | None = None
    status: str = ""


async def resync_order(channel_id: int, channel_order_id: str, client: httpx.AsyncClient | None = None) -> ResyncResult:
    """Bring one order back in line: send again what did not get through, read it again from the
    channel (importing it if Waybill lost it), and ask its suppliers where their orders are."""
    client = client or http_client()
    channel = await get_channel(channel_id)
    connector = channel_connector(channel, client)
    order = await find_order(channel_id, channel_order_id)
    notes: list[str] = []
    ok = True
    if order is not None:
        requeued = await requeue_messages(order["id"])
        if requeued:
            notes.append(f"{requeued} waiting message{'s' if requeued != 1 else ''} sent again.")
    try:
        incoming = await connector.fetch_order(channel_order_id)
    except RemoteError as exc:
        ok = False
        notes.append(f"The channel could not be read: {exc.message}")
    else:
        if order is None and incoming.channel_status not in connector.pairing.importable:
            ok = False
            notes.append(
                f"The channel reports it as {connector.pairing.describe(incoming.channel_status)}: "
                "only open orders are imported."
            )
        else:
            result = await import_orders(channel, [incoming])
            await follow_channel_states(channel, [incoming], connector.pairing.to_internal)
            if result.failed:
                ok = False
                notes.append(f"It could not be stored: {result.failed[0][1]}")
            elif order is None:
                notes.append("Imported from the channel.")
            else:
                notes.append(f"Read again from the channel ({connector.pairing.describe(incoming.channel_status)}).")
    order = await find_order(channel_id, channel_order_id)
    if order is None:
        return ResyncResult(ok, " ".join(notes))
    await _follow_suppliers(order["id"], client, notes)
    await dispatch_channel_order_now(order["id"], client)
    await dispatch_order_now(order["id"], client)
    order = await find_order(channel_id, channel_order_id)
    status = order["status"] if order else ""
    label = STATUS_LABELS.get(OrderStatus(status), status) if status else ""
    return ResyncResult(ok, " ".join([*notes, f"Now {label.lower()}."]), order["id"] if order else None, status)


async def _follow_suppliers(order_id: int, client: httpx.AsyncClient, notes: list[str]) -> None:
    rows = await SupplierOrder.select(SupplierOrder.id, SupplierOrder.internal_reference).where(
        (SupplierOrder.order == order_id) & (SupplierOrder.supplier_order_id != "")
    )
    for row in rows:
        try:
            await follow_supplier_order(row["id"], client)
        except (RemoteError, DomainError) as exc:
            notes.append(f"Supplier order {row['internal_reference']} could not be read: {exc}")
