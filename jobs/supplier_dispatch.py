"""Send queued supplier orders, exactly once, and follow their progress and tracking.

Sending one supplier order: look it up by our reference first whenever an earlier attempt may have
reached the supplier (a timeout, a crash mid-call: the message is marked before the create call);
then the preflight (the supplier's own check, and the wallet for prepaid suppliers); then create.
"Already exists" answers (BigBuy ER008, ShipBob 422) link the existing order. Refusals become
review issues with the supplier's message; passing failures are retried with backoff.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from connectors.base import SupplierConnector
from connectors.registry import supplier_kinds
from jobs.connections import supplier_connector, supplier_lookup
from jobs.instance import INSTANCE_ID
from models.channels.outbox import claim_due, claim_for_order, give_up, mark_done, mark_sending, schedule_retry
from models.channels.sync_issues import record_issue, resolve_order_issues
from models.core.actors import Actor
from models.core.clock import now
from models.core.errors import Conflict, DomainError
from models.db.tables import SupplierOrder
from models.fulfilment.shipping import add_shipment
from models.ports import AlreadyExists, CannotCancel, RemoteError, SupplierProblem, SupplierRefused
from models.suppliers import outcomes
from models.suppliers.manual_orders import retry_unresolved, unresolve_link, unresolved_links

log = logging.getLogger(__name__)


async def dispatch_supplier_due(client: httpx.AsyncClient, owner: str = INSTANCE_ID, limit: int = 20) -> int:
    """Send up to `limit` due supplier messages; returns how many were attempted."""
    messages = await claim_due(owner, limit, target_kind="supplier")
    await _deliver_all(messages, client, owner)
    return len(messages)


async def dispatch_order_now(order_id: int, client: httpx.AsyncClient, owner: str = INSTANCE_ID) -> int:
    """Send this order's due supplier messages at once (Process / Resubmit order say what happened)."""
    messages = await claim_for_order(owner, order_id, target_kind="supplier")
    await _deliver_all(messages, client, owner)
    return len(messages)


async def _deliver_all(messages: list[dict[str, Any]], client: httpx.AsyncClient, owner: str) -> None:
    for message in messages:
        try:
            await deliver_to_supplier(message, client, owner)
        except Conflict:
            # A merchant changed the order while we were recording the answer: send again shortly.
            await schedule_retry(message, owner, "The order changed while the answer was recorded.", ambiguous=True)
        except Exception as exc:  # never lose the lease silently: record and retry later
            log.exception("sending outbox message %s to a supplier failed", message["id"])
            await schedule_retry(message, owner, f"Unexpected error: {type(exc).__name__}: {exc}", ambiguous=True)


async def deliver_to_supplier(message: dict[str, Any], client: httpx.AsyncClient, owner: str) -> None:
    payload = json.loads(message["payload"]) if isinstance(message["payload"], str) else message["payload"]
    if message["action"] not in ("dispatch", "update_address", "cancel"):
        await give_up(message, owner, f"Unknown supplier action “{message['action']}”.")
        return
    context = await outcomes.supplier_order_context(int(payload["supplier_order"]))
    if context is None:
        await give_up(message, owner, "The supplier order no longer exists.")
        return
    if message["action"] == "update_address":
        await send_address(message, context, client, owner)
        return
    if message["action"] == "cancel":
        await cancel_at_supplier(message, context, client, owner)
        return
    row = context["supplier_order"]
    if row["status"] != "pending" or row["supplier_order_id"] or context["order"]["status"] == "cancelled":
        await mark_done(message, owner)  # sent meanwhile (or by hand), or cancelled: nothing to do
        return
    connector = supplier_connector(context["supplier"], client)
    request = outcomes.supplier_request(context)
    creating = False
    try:
        if message["ambiguous"] or message["attempts"]:
            found = await connector.find_by_reference(request.internal_reference)
            if found is not None and found.supplier_order_id:
                await outcomes.record_created(
                    context, found.supplier_order_id, f"Found at {connector.label} as order {found.supplier_order_id}"
                )
                await mark_done(message, owner)
                return
        problems = await preflight(connector, context, request)
        if problems:
            await outcomes.record_refusal(context, problems)
            await mark_done(message, owner)
            return
        if not await mark_sending(message, owner):
            return  # the lease was lost: another instance has the message now
        creating = True
        remote_id = await connector.create(request)
    except AlreadyExists as exc:
        remote_id = exc.supplier_order_id
        if not remote_id:
            found = await connector.find_by_reference(request.internal_reference)
            remote_id = found.supplier_order_id if found else ""
        if not remote_id:
            await schedule_retry(message, owner, f"{connector.label}: {exc.message}", ambiguous=True)
            return
        await outcomes.record_created(context, remote_id, f"Already at {connector.label} as order {remote_id}; linked")
        await mark_done(message, owner)
        return
    except SupplierRefused as exc:
        await outcomes.record_refusal(context, exc.problems)
        await mark_done(message, owner)
        return
    except RemoteError as exc:
        if exc.retryable:
            ambiguous = creating and (exc.ambiguous or exc.status_code not in (429, None))
            await schedule_retry(message, owner, exc.message, ambiguous=ambiguous, retry_after=exc.retry_after)
        else:
            await outcomes.record_refusal(context, [SupplierProblem("supplier_error", exc.message)], status="error")
            await mark_done(message, owner)
        return
    await outcomes.record_created(context, remote_id)
    await mark_done(message, owner)


async def send_address(message: dict[str, Any], context: dict[str, Any], client: httpx.AsyncClient, owner: str) -> None:
    """A corrected address for an order the supplier has (sending it twice is harmless)."""
    connector = supplier_connector(context["supplier"], client)
    row = context["supplier_order"]
    update = getattr(connector, "update_address", None)
    if update is None or not row["supplier_order_id"]:
        await mark_done(message, owner)
        return
    try:
        await update(row["supplier_order_id"], outcomes.supplier_request(context).address)
    except SupplierRefused as exc:
        await outcomes.record_refusal(context, exc.problems, status=row["status"])
        await mark_done(message, owner)
        return
    except RemoteError as exc:
        if exc.retryable:
            await schedule_retry(message, owner, exc.message, ambiguous=False, retry_after=exc.retry_after)
        else:
            await give_up(message, owner, f"{connector.label} refused the address: {exc.message}")
        return
    await mark_done(message, owner)
    # The supplier re-checks the address at once: read its status now rather than at the next poll.
    await follow_supplier_order(row["id"], client)


async def cancel_at_supplier(
    message: dict[str, Any], context: dict[str, Any], client: httpx.AsyncClient, owner: str
) -> None:
    """Cancel a supplier order of a cancelled order. One the supplier may have without our knowing its
    id (a send was under way) is looked up by our reference first; asking twice is harmless."""
    row = context["supplier_order"]
    try:
        connector = supplier_connector(context["supplier"], client)
    except ValueError as exc:
        await give_up(message, owner, str(exc))
        return
    remote_id = row["supplier_order_id"]
    try:
        if not remote_id:
            found = await connector.find_by_reference(row["internal_reference"])
            if found is None or not found.supplier_order_id:
                await outcomes.record_cancelled(context, f"Never reached {connector.label}; nothing to cancel there")
                await mark_done(message, owner)
                return
            remote_id = found.supplier_order_id
        await connector.cancel(remote_id)
    except CannotCancel as exc:
        await outcomes.record_not_cancelled(context, exc.message, remote_id)
        await mark_done(message, owner)
        return
    except RemoteError as exc:
        if exc.retryable:
            await schedule_retry(message, owner, exc.message, ambiguous=False, retry_after=exc.retry_after)
            return
        if remote_id and await _cancelled_there(connector, remote_id):
            await outcomes.record_cancelled(context, f"Cancelled at {connector.label} (order {remote_id})", remote_id)
            await mark_done(message, owner)
            return
        await outcomes.record_not_cancelled(context, exc.message, remote_id)
        await give_up(message, owner, f"{connector.label} did not cancel order {remote_id}: {exc.message}")
        return
    await outcomes.record_cancelled(context, f"Cancelled at {connector.label} (order {remote_id})", remote_id)
    await mark_done(message, owner)


async def _cancelled_there(connector: SupplierConnector, remote_id: str) -> bool:
    """The supplier already shows the order as cancelled (e.g. cancelled by hand, or by an earlier try)."""
    try:
        return (await connector.fetch_state(remote_id)).status == "cancelled"
    except RemoteError:
        return False


async def preflight(connector: SupplierConnector, context: dict[str, Any], request) -> list:
    """The supplier's own check, then the wallet where the supplier works prepaid.

    The wallet balance read here is kept on the supplier, so its page shows what blocked orders."""
    check = await connector.check(request)
    problems = list(check.problems)
    wallet_refused = any(problem.code == "wallet_insufficient" for problem in problems)
    if not connector.prepaid or (problems and not wallet_refused):
        return problems
    try:
        wallet = await connector.wallet()
    except RemoteError:
        if problems:
            return problems  # the refusal stands; the balance is read another time
        raise
    if wallet is None:
        return problems
    balance, currency = wallet
    await outcomes.record_wallet(context["supplier"]["id"], balance, currency)
    if not problems and check.total_cost is not None and balance < check.total_cost:
        problems.append(outcomes.wallet_problem(balance, check.total_cost, currency))
    return problems


# -- progress and tracking ------------------------------------------------------------------------


#: Supplier order statuses still worth asking about.
FOLLOWED = ("processed", "on_hold")
#: The connection-issue operation of a supplier order whose status could not be read.
STATUS_OPERATION = "order_status"


async def poll_supplier_orders(client: httpx.AsyncClient, limit: int = 50) -> int:
    """Ask suppliers about orders they hold; record status changes and new parcels. Returns how many
    supplier orders were read.

    Only suppliers Waybill has a connector for are asked (an order sent manually to another supplier
    has nobody to ask). One supplier order that cannot be read never stops the others: it goes to the
    back of the queue, so a few failing ones cannot take every turn either, and the failure is shown
    as a connection issue of the supplier until a read succeeds. Orders sent manually whose reference
    the supplier has not confirmed yet are looked up first."""
    await resolve_manual_references(client)
    rows = (
        await SupplierOrder.select(SupplierOrder.id, SupplierOrder.order, SupplierOrder.supplier)
        .where(
            SupplierOrder.status.is_in(list(FOLLOWED))
            & (SupplierOrder.supplier_order_id != "")
            & SupplierOrder.supplier.kind.is_in(list(supplier_kinds()))
        )
        .order_by(SupplierOrder.updated_at)
        .limit(limit)
    )
    for row in rows:
        try:
            await follow_supplier_order(row["id"], client)
        except Conflict:
            pass  # the merchant changed the order meanwhile: read again next time
        except RemoteError as exc:
            log.info("supplier order %s could not be read: %s", row["id"], exc.message)
            await _to_back_of_queue(row["id"])
            await record_issue(
                "supplier", row["supplier"], STATUS_OPERATION, exc.message, order_id=row["order"], per_order=True
            )
        except Exception:
            log.exception("following supplier order %s failed", row["id"])
            await _to_back_of_queue(row["id"])
        else:
            await resolve_order_issues("supplier", row["supplier"], STATUS_OPERATION, row["order"])
    return len(rows)


async def resolve_manual_references(client: httpx.AsyncClient, limit: int = 20) -> int:
    """Look up again the references of orders sent manually that a supplier could not confirm yet."""
    rows = await unresolved_links(limit)
    for row in rows:
        lookup = supplier_lookup(_supplier_of(row), client)
        if lookup is None:
            continue
        try:
            await retry_unresolved(row, lookup)
        except Conflict:
            pass
        except Exception:
            log.exception("looking up the reference of supplier order %s failed", row["id"])
            await _to_back_of_queue(row["id"])
    return len(rows)


def _supplier_of(row: dict[str, Any]) -> dict[str, Any]:
    """The supplier columns of a joined row, as a Supplier row."""
    return {key.removeprefix("supplier."): value for key, value in row.items() if key.startswith("supplier.")}


async def _to_back_of_queue(supplier_order_id: int) -> None:
    await SupplierOrder.update({SupplierOrder.updated_at: now()}).where(SupplierOrder.id == supplier_order_id)


async def follow_supplier_order(supplier_order_id: int, client: httpx.AsyncClient) -> None:
    context = await outcomes.supplier_order_context(supplier_order_id)
    if context is None:
        return
    row = context["supplier_order"]
    connector = supplier_connector(context["supplier"], client)
    try:
        state = await connector.fetch_state(row["supplier_order_id"])
    except RemoteError as exc:
        if not exc.retryable and row["sent_manually"] and not row["supplier_reference"]:
            # Linked before references were looked up: what was typed may be a reference, not an id.
            await unresolve_link(row["id"], row["supplier_order_id"])
        raise
    await record_parcels(context, state.trackings)
    status = "shipped" if state.status == "shipped" else state.status
    if not await outcomes.record_state(context, status, state.message):
        await _to_back_of_queue(supplier_order_id)  # unchanged: every order gets its turn


async def record_parcels(context: dict[str, Any], trackings: list) -> int:
    """Each new parcel becomes a shipment on the order (which queues the tracking for the channel)."""
    row, supplier = context["supplier_order"], context["supplier"]
    known = await outcomes.known_trackings(row["id"])
    added = 0
    by_sku: dict[str, list[dict[str, Any]]] = {}
    for line in context["lines"]:
        by_sku.setdefault(line["supplier_sku"], []).append(line)
    for tracking in trackings:
        if not tracking.tracking_number or tracking.tracking_number in known:
            continue
        quantities = _parcel_quantities(context["lines"], by_sku, tracking.skus)
        if not quantities:
            continue
        try:
            await add_shipment(
                row["order"],
                quantities,
                Actor("supplier", supplier["name"]),
                tracking_number=tracking.tracking_number,
                carrier_name=tracking.carrier or supplier["name"],
                tracking_url=tracking.tracking_url,
                supplier_order_id=row["id"],
            )
        except Conflict:
            raise
        except DomainError as exc:  # e.g. more than was accepted: shown on the order, not retried forever
            log.warning("parcel %s of supplier order %s not recorded: %s", tracking.tracking_number, row["id"], exc)
            continue
        known.add(tracking.tracking_number)
        added += 1
    return added


def _parcel_quantities(lines: list[dict[str, Any]], by_sku: dict, skus: dict[str, int]) -> dict[int, int]:
    """Order line → quantity in this parcel (the whole supplier order when the supplier gives no SKUs)."""
    if not skus:
        return {line["order_line"]: line["quantity"] for line in lines}
    quantities: dict[int, int] = {}
    for sku, quantity in skus.items():
        remaining = quantity
        for line in by_sku.get(sku, []):
            take = min(remaining, line["quantity"])
            if take > 0:
                quantities[line["order_line"]] = quantities.get(line["order_line"], 0) + take
                remaining -= take
    return quantities
