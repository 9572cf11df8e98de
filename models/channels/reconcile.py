"""Reconciliation: every order as Waybill has it, as its channel has it and as its suppliers have it.

Only the connectors' read calls are used (list orders, one order's state, a supplier lookup by our
reference), so the same report runs against real marketplaces. Three kinds of finding:

- **lost**: the channel has an open order that Waybill does not, although the channel last changed it
  before the window the next import reads again (the import cursor less its overlap);
- **duplicated**: one channel order is more than one Waybill order, one supplier holds more than one
  order for our reference (or a different one than Waybill recorded), or one supplier got two supplier
  orders for the same order;
- **mismatched**: the states disagree through the channel's status pairing (or the supplier's status),
  with no message on its way that would make them agree.

What is still on its way (an outbox message waiting for its turn) is counted as *in flight*, and an
open order the channel changed after that point as *not yet imported* (the next poll reads it): neither
is a finding, both are the normal state of a busy system.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from models import db
from models.channels.import_runs import OVERLAP
from models.core.clock import now
from models.db.tables import Channel, Order, OutboxMessage, Supplier, SupplierOrder
from models.ports import ChannelApi, IncomingOrder, RemoteError, StatusPairing, SupplierApi

LOST, DUPLICATED, MISMATCHED = "lost", "duplicated", "mismatched"
KINDS = (LOST, DUPLICATED, MISMATCHED)
#: Remote reads at once per channel or supplier: quick on a large shop, gentle on rate limits.
READ_CONCURRENCY = 8
#: Tries of one remote read before it counts as unreadable (connectors retry GETs a little themselves).
READ_ATTEMPTS = 4
T = TypeVar("T")
#: Waybill statuses for work not yet shipped; the channel may still show any of its open states.
OPEN_INTERNAL = frozenset({"pending_review", "awaiting_acceptance", "awaiting_fulfillment", "processing"})
#: A step a channel does not take (no delivered or returned call) leaves it at the step before.
STEP_BEFORE = {"delivered": "shipped", "returned": "shipped"}


@dataclass
class Finding:
    kind: str
    channel_id: int
    channel_name: str
    channel_order_id: str
    order_id: int | None
    waybill: str
    remote: str
    detail: str
    #: Resync can fix it (read the order again, send what waits again); False: a person must look,
    #: e.g. at a second order a supplier holds.
    resync: bool = False


@dataclass
class ChannelTally:
    channel_id: int
    name: str
    at_channel: int = 0
    in_waybill: int = 0
    supplier_orders: int = 0
    in_flight: int = 0
    #: Open orders Waybill lacks that the channel changed after the last import's window: the next
    #: poll reads them, so they are not lost.
    not_yet_imported: int = 0
    #: Reads that failed (channel or supplier); the orders concerned are not judged.
    unreadable: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    since: dt.datetime | None
    channels: list[ChannelTally] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in KINDS}

    @property
    def not_yet_imported(self) -> int:
        return sum(c.not_yet_imported for c in self.channels)

    @property
    def checked(self) -> int:
        return sum(c.in_waybill for c in self.channels)

    @property
    def clean(self) -> bool:
        return not self.findings and not any(c.errors for c in self.channels)


ChannelConnect = Callable[[dict[str, Any]], ChannelApi]
SupplierConnect = Callable[[dict[str, Any]], SupplierApi]


def states_agree(pairing: StatusPairing, status: str, channel_state: str) -> bool:
    """Does the channel's state fit Waybill's status through the pairing?"""
    if pairing.from_internal.get(status) == channel_state or pairing.to_internal.get(channel_state) == status:
        return True
    at_channel = pairing.to_internal.get(channel_state, "")
    if status == "pending_review":  # a Waybill-only state: the channel still has the order open
        return at_channel in OPEN_INTERNAL
    before = STEP_BEFORE.get(status)
    if before and status not in _steps(pairing):
        return states_agree(pairing, before, channel_state)
    return False


def _steps(pairing: StatusPairing) -> set[str]:
    return {action for action in pairing.actions if action in STEP_BEFORE}


def import_horizon(channel: dict[str, Any]) -> dt.datetime | None:
    """Orders the channel changed before this have been read by a successful import; None: no import
    succeeded yet. Each poll starts `OVERLAP` before the stored cursor (the newest change the last
    successful import read), so what changed after that point is still to be read, not missed."""
    cursor = channel.get("import_cursor")
    if cursor is None:
        return None
    return _aware(cursor) - OVERLAP


def should_be_imported(incoming: IncomingOrder, horizon: dt.datetime | None) -> bool:
    """Did the imports so far have to read this order? Its change time is the channel's own (its
    creation time where the channel gives none), the same clock the cursor comes from."""
    if horizon is None:
        return False
    return _aware(incoming.updated_at or incoming.placed_at) < horizon


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


@db.with_reads_in_threads  # every order of every channel
async def reconcile(
    channel_connect: ChannelConnect,
    supplier_connect: SupplierConnect,
    *,
    channel_ids: Iterable[int] | None = None,
    since: dt.datetime | None = None,
) -> Report:
    """Compare every order of the chosen channels (all active ones by default) placed since `since`."""
    report = Report(since=since)
    query = Channel.select().order_by(Channel.id)
    wanted = list(channel_ids) if channel_ids is not None else None
    query = query.where(Channel.id.is_in(wanted)) if wanted else query.where(Channel.active == True)  # noqa: E712
    suppliers = {row["id"]: row for row in await Supplier.select()}
    supplier_clients: dict[int, SupplierApi | None] = {}
    for channel in await query:
        tally = ChannelTally(channel["id"], channel["name"])
        report.channels.append(tally)
        try:
            connector = channel_connect(channel)
        except (KeyError, ValueError) as exc:
            reason = exc.args[0] if exc.args else str(exc)
            tally.errors.append(f"{reason} Its orders are not compared.")
            continue
        await _reconcile_channel(channel, connector, since, tally, report.findings)
        await _reconcile_suppliers(
            channel, since, suppliers, supplier_clients, supplier_connect, tally, report.findings
        )
    return report


async def channel_orders(connector: ChannelApi, since: dt.datetime | None) -> dict[str, IncomingOrder]:
    """Every order the channel lists (open ones, and closed ones where its API lists them), page by page."""
    if "include_closed" in inspect.signature(connector.fetch_orders).parameters:
        pages = connector.fetch_orders(since, include_closed=True)
    else:
        pages = connector.fetch_orders(since)
    found: dict[str, IncomingOrder] = {}
    async for page in pages:
        for incoming in page.orders:
            found[incoming.channel_order_id] = incoming  # a later listing has the later state
    return found


async def _reconcile_channel(
    channel: dict[str, Any],
    connector: ChannelApi,
    since: dt.datetime | None,
    tally: ChannelTally,
    findings: list[Finding],
) -> None:
    pairing = connector.pairing
    try:
        listed = await channel_orders(connector, since)
    except RemoteError as exc:
        tally.errors.append(f"The channel's order list could not be read: {exc.message}")
        return
    where = Order.channel == channel["id"]
    if since is not None:
        where &= Order.placed_at >= since
    orders = await Order.select(Order.id, Order.channel_order_id, Order.status, Order.channel_status).where(where)
    tally.in_waybill = len(orders)
    by_channel_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in orders:
        by_channel_id[row["channel_order_id"]].append(row)
    messages = await _open_messages([row["id"] for row in orders], "channel")

    def finding(kind: str, channel_order_id: str, order: dict | None, remote: str, detail: str, resync: bool) -> None:
        findings.append(
            Finding(
                kind,
                channel["id"],
                channel["name"],
                channel_order_id,
                order["id"] if order else None,
                order["status"] if order else "",
                remote,
                detail,
                resync,
            )
        )

    horizon = import_horizon(channel)
    for channel_order_id, incoming in listed.items():
        if since is not None and incoming.placed_at < since:
            continue
        if channel_order_id not in by_channel_id and incoming.channel_status in pairing.importable:
            if not should_be_imported(incoming, horizon):
                tally.not_yet_imported += 1
                continue
            finding(
                LOST,
                channel_order_id,
                None,
                pairing.describe(incoming.channel_status),
                "The channel has this open order; Waybill does not.",
                True,
            )
    for channel_order_id, rows in by_channel_id.items():
        if len(rows) > 1:
            ids = ", ".join(str(r["id"]) for r in rows)
            finding(
                DUPLICATED,
                channel_order_id,
                rows[0],
                "",
                f"One channel order is {len(rows)} Waybill orders ({ids}).",
                False,
            )
    unlisted = [rows[0] for cid, rows in by_channel_id.items() if cid not in listed]
    states = await _read_states(connector, [row["channel_order_id"] for row in unlisted])
    tally.at_channel = len(listed) + sum(1 for state in states.values() if isinstance(state, str))
    for channel_order_id, rows in by_channel_id.items():
        order = rows[0]
        state: str | RemoteError | None = (
            listed[channel_order_id].channel_status if channel_order_id in listed else None
        )
        if state is None:
            state = states.get(channel_order_id)
        waiting = messages.get(order["id"], [])
        stuck = [m for m in waiting if m["state"] != "pending"]
        if stuck:
            actions = ", ".join(sorted({m["action"] for m in stuck}))
            finding(
                MISMATCHED,
                channel_order_id,
                order,
                pairing.describe(state) if isinstance(state, str) else "",
                f"Waybill could not tell the channel ({actions}): {stuck[-1]['last_error'] or 'no answer'}",
                True,
            )
            continue
        if waiting:
            tally.in_flight += 1
            continue
        if isinstance(state, RemoteError):
            if state.status_code == 404:
                finding(MISMATCHED, channel_order_id, order, "unknown", "The channel does not know this order.", False)
            else:
                tally.unreadable += 1
                if len(tally.errors) < 5:
                    tally.errors.append(f"Order {channel_order_id} could not be read: {state.message}")
            continue
        if state is None:
            continue
        if not states_agree(pairing, order["status"], state):
            expected = pairing.from_internal.get(order["status"], "")
            finding(
                MISMATCHED,
                channel_order_id,
                order,
                pairing.describe(state),
                f"Waybill has it as {order['status'].replace('_', ' ')}, which the channel would show as "
                f"{pairing.describe(expected)}."
                if expected
                else "The channel's state does not fit Waybill's status.",
                True,
            )
        elif order["channel_status"] and order["channel_status"] != state:
            finding(
                MISMATCHED,
                channel_order_id,
                order,
                pairing.describe(state),
                f"Waybill last heard {pairing.describe(order['channel_status'])} from the channel.",
                True,
            )


async def patiently(read: Callable[[], Awaitable[T]]) -> T:
    """A read, tried again a few times over passing failures (rate limits, errors, timeouts)."""
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            return await read()
        except RemoteError as exc:
            if not exc.retryable or attempt == READ_ATTEMPTS:
                raise
            await asyncio.sleep(min(exc.retry_after if exc.retry_after is not None else 0.5 * attempt, 10.0))
    raise AssertionError("unreachable")


async def _read_states(connector: ChannelApi, channel_order_ids: list[str]) -> dict[str, str | RemoteError]:
    """One state read per order the listing did not show (e.g. closed ones its API does not list)."""
    semaphore = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(channel_order_id: str) -> str | RemoteError:
        async with semaphore:
            try:
                return await patiently(lambda: connector.fetch_order_state(channel_order_id))
            except RemoteError as exc:
                return exc

    results = await asyncio.gather(*(read(cid) for cid in channel_order_ids))
    return dict(zip(channel_order_ids, results, strict=True))


async def _open_messages(order_ids: list[int], target_kind: str) -> dict[int, list[dict[str, Any]]]:
    """Messages about these orders not delivered yet (waiting, failed or given up), by order."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(order_ids), 5_000):
        chunk = order_ids[start : start + 5_000]
        rows = await OutboxMessage.select(
            OutboxMessage.order, OutboxMessage.action, OutboxMessage.state, OutboxMessage.last_error
        ).where(
            OutboxMessage.order.is_in(chunk)
            & (OutboxMessage.target_kind == target_kind)
            & (OutboxMessage.state != "done")
        )
        for row in rows:
            found[row["order"]].append(row)
    return found


async def _reconcile_suppliers(
    channel: dict[str, Any],
    since: dt.datetime | None,
    suppliers: dict[int, dict[str, Any]],
    clients: dict[int, SupplierApi | None],
    connect: SupplierConnect,
    tally: ChannelTally,
    findings: list[Finding],
) -> None:
    where = SupplierOrder.order.channel == channel["id"]
    if since is not None:
        where &= SupplierOrder.order.placed_at >= since
    rows = await SupplierOrder.select(
        SupplierOrder.id,
        SupplierOrder.order,
        SupplierOrder.supplier,
        SupplierOrder.internal_reference,
        SupplierOrder.supplier_order_id,
        SupplierOrder.status,
        SupplierOrder.sent_manually,
        SupplierOrder.order.channel_order_id.as_alias("channel_order_id"),
        SupplierOrder.order.status.as_alias("order_status"),
    ).where(where)
    tally.supplier_orders = len(rows)
    messages = await _open_messages(sorted({row["order"] for row in rows}), "supplier")

    def finding(kind: str, row: dict[str, Any], remote: str, detail: str, resync: bool) -> None:
        findings.append(
            Finding(
                kind,
                channel["id"],
                channel["name"],
                row["channel_order_id"],
                row["order"],
                f"{row['order_status']} · {suppliers[row['supplier']]['name']} {row['status']}",
                remote,
                detail,
                resync,
            )
        )

    per_order: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["status"] not in ("cancelled", "failed"):
            per_order[(row["order"], row["supplier"])].append(row)
    for (_, supplier_id), group in per_order.items():
        if len(group) > 1:
            finding(
                DUPLICATED, group[0], "", f"{len(group)} supplier orders at {suppliers[supplier_id]['name']}.", False
            )

    semaphore = asyncio.Semaphore(READ_CONCURRENCY)

    async def check(row: dict[str, Any]) -> None:
        supplier = suppliers[row["supplier"]]
        if row["supplier"] not in clients:
            try:
                clients[row["supplier"]] = connect(supplier)
            except (KeyError, ValueError):
                clients[row["supplier"]] = None
        connector = clients[row["supplier"]]
        waiting = messages.get(row["order"], [])
        if connector is None:
            return
        stuck = [m for m in waiting if m["state"] != "pending"]
        if stuck:
            finding(
                MISMATCHED,
                row,
                "",
                f"Waybill could not tell {supplier['name']}: {stuck[-1]['last_error'] or 'no answer'}",
                True,
            )
            return
        if waiting:
            tally.in_flight += 1
            return
        try:
            async with semaphore:
                if row["sent_manually"]:
                    remote = await patiently(lambda: connector.fetch_state(row["supplier_order_id"]))
                else:
                    remote = await patiently(lambda: connector.find_by_reference(row["internal_reference"]))
        except RemoteError as exc:
            tally.unreadable += 1
            if len(tally.errors) < 5:
                tally.errors.append(f"{supplier['name']} order {row['internal_reference']}: {exc.message}")
            return
        ours = row["supplier_order_id"]
        if remote is None:
            if ours:
                finding(MISMATCHED, row, "unknown", f"{supplier['name']} does not know order {ours}.", False)
            return
        if not ours:
            if row["status"] != "failed":
                finding(
                    MISMATCHED,
                    row,
                    f"{remote.supplier_order_id} {remote.status}",
                    f"{supplier['name']} has order {remote.supplier_order_id} for {row['internal_reference']}; "
                    "Waybill never recorded it.",
                    True,
                )
            else:
                finding(
                    DUPLICATED,
                    row,
                    f"{remote.supplier_order_id} {remote.status}",
                    f"{supplier['name']} holds order {remote.supplier_order_id} for an order it refused.",
                    "",
                )
            return
        if remote.supplier_order_id != ours:
            finding(
                DUPLICATED,
                row,
                f"{remote.supplier_order_id} {remote.status}",
                f"{supplier['name']} has order {remote.supplier_order_id} for {row['internal_reference']}; "
                f"Waybill recorded {ours}.",
                False,
            )
            return
        if _supplier_disagrees(row["status"], remote.status):
            finding(
                MISMATCHED,
                row,
                f"{remote.supplier_order_id} {remote.status}",
                f"{supplier['name']} says {remote.status}; Waybill has {row['status']}.",
                True,
            )

    await asyncio.gather(*(check(row) for row in rows))


def _supplier_disagrees(ours: str, theirs: str) -> bool:
    """Only the ends matter: shipped and cancelled must be the same on both sides."""
    return any((ours == end) != (theirs == end) for end in ("shipped", "cancelled"))


async def requeue_messages(order_id: int) -> int:
    """Send every undelivered message about the order again now; returns how many."""
    rows = (
        await OutboxMessage.update(
            {
                OutboxMessage.state: "pending",
                OutboxMessage.attempts: 0,
                OutboxMessage.next_attempt_at: now(),
                OutboxMessage.lease_until: None,
            }
        )
        .where((OutboxMessage.order == order_id) & (OutboxMessage.state != "done"))
        .returning(OutboxMessage.id)
    )
    return len(rows)


async def find_order(channel_id: int, channel_order_id: str) -> dict[str, Any] | None:
    return (
        await Order.select(Order.id, Order.status, Order.channel_status)
        .where((Order.channel == channel_id) & (Order.channel_order_id == channel_order_id))
        .first()
    )
