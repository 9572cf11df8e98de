"""*Order sent manually*: link an order the merchant placed on the supplier's own site.

The merchant types what the supplier's site shows: its order id or its order reference. Status and
tracking are read by id, so a reference is looked up at the supplier first (`find_by_reference`),
and only what the supplier confirms is stored as the id. A reference the supplier does not know is
refused with the supplier's words; one that cannot be checked now (the supplier is unreachable) is
kept as *unresolved*, shown on the order and as a connection issue, and looked up again by the
supplier tracking job until the supplier answers.

Sending by hand skips only the automatic send: the lines must be decided first (the channel hears
the acceptance as usual), and review issues about the order's own data stay open until fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from models.channels.sync_issues import record_issue, resolve_order_issues
from models.core.actors import Actor
from models.core.clock import now
from models.core.errors import DomainError, NeedsConfirmation
from models.core.quoting import quoted
from models.db.tables import CatalogItem, ReviewIssue, Supplier, SupplierOrder, SupplierOrderLine
from models.orders.change import OrderChange, change_order, load_lines, load_order
from models.orders.lifecycle import AT_SUPPLIER, LineStatus, OrderStatus
from models.ports import RemoteError, SupplierOrderState
from models.suppliers.dispatch import create_supplier_order

#: Order statuses in which an order can be marked as sent manually.
LINKABLE = frozenset({OrderStatus.PENDING_REVIEW, OrderStatus.AWAITING_FULFILLMENT, OrderStatus.PROCESSING})
#: Review issues that only say why the automatic send did not happen: sending by hand makes them moot.
#: Issues about the order's own data (a missing surname, a bad postcode found by validation) stay open.
MOOT_SOURCES = frozenset({"routing", "supplier"})
#: The connection-issue operation of a reference that could not be looked up.
RESOLVE_OPERATION = "order_lookup"
#: Answers that say nothing about the order: the supplier could not be asked (e.g. a refused API key).
NOT_ASKED = frozenset({401, 403})


class OrderLookup(Protocol):
    """What linking needs from a supplier's API: find one of its orders by reference or by id."""

    label: str

    async def find_by_reference(self, internal_reference: str) -> SupplierOrderState | None: ...

    async def fetch_state(self, supplier_order_id: str) -> SupplierOrderState: ...


#: The lookup of a supplier (a Supplier row), or None where Waybill has no connector to ask.
LookupFor = Callable[[dict[str, Any]], OrderLookup | None]


@dataclass(frozen=True)
class Resolution:
    """What the supplier said about a reference: its order id, or why it could not be asked now."""

    supplier_order_id: str = ""
    unreachable: str = ""


@dataclass(frozen=True)
class Linked:
    """What *Order sent manually* did, in words, and whether the supplier confirmed the order."""

    message: str
    confirmed: bool


class ReferenceUnknown(DomainError):
    """The supplier answered that it has no order with this reference or id."""


async def resolve_reference(lookup: OrderLookup, reference: str) -> Resolution:
    """The supplier's order id for what the merchant typed: a reference first, then an id.

    Raises `ReferenceUnknown` with the supplier's words when it knows neither."""
    said = ""
    try:
        found = await lookup.find_by_reference(reference)
        if found is not None and found.supplier_order_id:
            return Resolution(supplier_order_id=found.supplier_order_id)
    except RemoteError as exc:
        if exc.retryable or exc.status_code in NOT_ASKED:
            return Resolution(unreachable=exc.message)
        said = exc.message
    try:
        state = await lookup.fetch_state(reference)
    except RemoteError as exc:
        if exc.retryable or exc.status_code in NOT_ASKED:
            return Resolution(unreachable=exc.message)
        said = exc.message or said
        raise ReferenceUnknown(
            f"{lookup.label} has no order with reference or id {quoted(reference)}"
            + (f": {said.rstrip('.')}." if said else ".")
            + " Check what the supplier's site shows for the order and enter it again."
        ) from exc
    return Resolution(supplier_order_id=state.supplier_order_id or reference)


def link_refusal(status: OrderStatus, lines: list[dict[str, Any]]) -> str:
    """Why this order cannot be marked as sent manually now, or "" when it can."""
    if status not in LINKABLE:
        return f"Order sent manually is not possible while the order is {status.label.lower()}."
    if any(line["status"] == LineStatus.PENDING for line in lines):
        return (
            "Order sent manually is not possible while a line awaits acceptance: accept or reject "
            "every line first, so the channel hears the decision."
        )
    if not any(line["status"] == LineStatus.ACCEPTED for line in lines):
        return "Order sent manually is not possible: the order has no accepted line."
    return ""


async def link_manual(
    order_id: int,
    supplier_id: int,
    reference: str,
    actor: Actor,
    expected_version: int | None = None,
    *,
    lookup_for: LookupFor | None = None,
    relink: bool = False,
) -> Linked:
    """Link the order to one the merchant placed at the supplier.

    `relink` confirms linking a supplier order that another Waybill order is already linked to."""
    reference = reference.strip()
    if not reference:
        raise DomainError("Enter the supplier's order reference or id.")
    if len(reference) > 100:
        raise DomainError("A supplier order reference has at most 100 characters.")
    order = await load_order(order_id)
    refusal = link_refusal(OrderStatus(order["status"]), await load_lines(order_id))
    if refusal:
        raise DomainError(refusal)
    supplier = await Supplier.select().where(Supplier.id == supplier_id).first()
    if supplier is None:
        raise DomainError("Choose a supplier.")
    lookup = lookup_for(supplier) if lookup_for is not None else None
    # The supplier is asked before the order is locked: a slow supplier holds up nobody. A supplier
    # Waybill has no connector for cannot be asked: what the merchant typed is its id.
    if lookup is None:
        resolution = Resolution(supplier_order_id=reference)
    else:
        resolution = await resolve_reference(lookup, reference)
    if not relink:
        await _refuse_if_linked_elsewhere(order_id, supplier, reference, resolution.supplier_order_id)
    async with change_order(order_id, actor, expected_version) as change:
        refusal = link_refusal(change.status, change.lines)
        if refusal:
            raise DomainError(refusal)
        await _link(change, supplier, reference, resolution)
    if resolution.unreachable:
        await record_issue(
            "supplier",
            supplier_id,
            RESOLVE_OPERATION,
            unresolved_text(supplier["name"], reference, resolution.unreachable),
            order_id=order_id,
            per_order=True,
        )
        return Linked(
            f"Marked as sent manually ({reference}). {supplier['name']} could not be asked about it now "
            f"({resolution.unreachable.rstrip('.')}); Waybill looks it up again and follows it once found.",
            confirmed=False,
        )
    shown = resolution.supplier_order_id
    said = reference if shown == reference else f"{reference}, {supplier['name']} order {shown}"
    return Linked(f"Marked as sent manually ({said}). Its status and tracking now follow that order.", confirmed=True)


def unresolved_text(supplier_name: str, reference: str, why: str) -> str:
    return f"Order sent manually as {quoted(reference)} not yet found at {supplier_name}: {why}"


async def _refuse_if_linked_elsewhere(
    order_id: int, supplier: dict[str, Any], reference: str, supplier_order_id: str
) -> None:
    """One supplier order belongs to one customer order: linking it twice needs the merchant's word."""
    same = SupplierOrder.supplier_reference == reference
    if supplier_order_id:
        same = same | (SupplierOrder.supplier_order_id == supplier_order_id)
    other = (
        await SupplierOrder.select(SupplierOrder.order, SupplierOrder.order.channel_order_id.as_alias("channel_id"))
        .where(
            (SupplierOrder.supplier == supplier["id"])
            & (SupplierOrder.order != order_id)
            & (SupplierOrder.status != "cancelled")
            & same
        )
        .first()
    )
    if other is not None:
        raise NeedsConfirmation(
            f"{supplier['name']} order {quoted(supplier_order_id or reference)} is already linked to order "
            f"{other['channel_id']} (#{other['order']}). Link it to this order too only if one supplier order "
            "really carries both: tick “Link it anyway” and mark it again."
        )


async def _link(change: OrderChange, supplier: dict[str, Any], reference: str, resolution: Resolution) -> None:
    supplier_id = supplier["id"]
    existing = await SupplierOrder.select().where(
        (SupplierOrder.order == change.id) & (SupplierOrder.supplier == supplier_id)
    )
    for row in existing:
        if row["status"] in AT_SUPPLIER:
            shown = row["supplier_order_id"] or row["supplier_reference"] or row["internal_reference"]
            raise DomainError(
                f"This order was already sent to {supplier['name']} (order {shown}); it cannot be sent twice."
            )
        if row["status"] == "pending":
            raise DomainError(
                f"This order is being sent to {supplier['name']} right now; wait for the answer before "
                "marking it as sent manually."
            )
    remote_id = resolution.supplier_order_id
    if remote_id:
        note = f"Sent manually to {supplier['name']} as order {remote_id}"
        if remote_id != reference:
            note += f" (reference {reference})"
    else:
        note = unresolved_text(supplier["name"], reference, resolution.unreachable)
    fields = {
        SupplierOrder.supplier_order_id: remote_id,
        SupplierOrder.supplier_reference: reference,
        SupplierOrder.status: "processed",
        SupplierOrder.sent_manually: True,
        SupplierOrder.last_message: note[:4000],
        SupplierOrder.updated_at: now(),
    }
    previous_lines: list[dict[str, Any]] = []
    if existing:
        supplier_order_id = existing[0]["id"]
        previous_lines = await SupplierOrderLine.select().where(SupplierOrderLine.supplier_order == supplier_order_id)
        await SupplierOrder.update(fields).where(SupplierOrder.id == supplier_order_id)
        await SupplierOrderLine.delete().where(SupplierOrderLine.supplier_order == supplier_order_id)
    else:
        supplier_order_id = await create_supplier_order(
            change.id,
            supplier_id,
            "processed",
            note,
            supplier_order_id=remote_id,
            supplier_reference=reference,
            sent_manually=True,
        )
    lines = await _lines_for(change, supplier_id, previous_lines)
    if lines:
        await SupplierOrderLine.insert(*[SupplierOrderLine(supplier_order=supplier_order_id, **line) for line in lines])
    moot = {
        issue["code"]
        for issue in await _open_issues(change.id)
        if issue["source"] in MOOT_SOURCES
        and (issue["source"] == "routing" or issue["message"].startswith(supplier["name"]))
    }
    await change.resolve_issues(moot, note="order sent manually", resume=False)
    change.event(
        "sent_manually",
        note,
        details={"supplier": supplier_id, "supplier_order_id": remote_id, "reference": reference},
    )
    if not change.open_issue_codes and change.status in (OrderStatus.AWAITING_FULFILLMENT, OrderStatus.PENDING_REVIEW):
        change.move_to(OrderStatus.PROCESSING, "sent manually")


async def _open_issues(order_id: int) -> list[dict[str, Any]]:
    return await ReviewIssue.select(ReviewIssue.code, ReviewIssue.source, ReviewIssue.message).where(
        (ReviewIssue.order == order_id) & ReviewIssue.resolved_at.is_null()
    )


async def _lines_for(change: OrderChange, supplier_id: int, previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines this supplier order carries: those an earlier, failed send to this supplier had, else
    every accepted line no other supplier has; in the supplier's SKU where its catalog says."""
    if previous:
        return [
            {"order_line": row["order_line"], "supplier_sku": row["supplier_sku"], "quantity": row["quantity"]}
            for row in previous
        ]
    elsewhere = await SupplierOrderLine.select(SupplierOrderLine.order_line).where(
        (SupplierOrderLine.supplier_order.order == change.id)
        & (SupplierOrderLine.supplier_order.supplier != supplier_id)
        & SupplierOrderLine.supplier_order.status.is_in([*AT_SUPPLIER, "pending"])
    )
    taken = {row["order_line"] for row in elsewhere}
    lines = [line for line in change.lines if line["status"] == LineStatus.ACCEPTED and line["id"] not in taken]
    skus = {line["sku"] for line in lines}
    catalog = (
        await CatalogItem.select(CatalogItem.channel_sku, CatalogItem.supplier_sku).where(
            (CatalogItem.supplier == supplier_id) & CatalogItem.channel_sku.is_in(list(skus))
        )
        if skus
        else []
    )
    supplier_sku = {row["channel_sku"]: row["supplier_sku"] for row in catalog}
    return [
        {
            "order_line": line["id"],
            "supplier_sku": supplier_sku.get(line["sku"], line["sku"]),
            "quantity": line["quantity"],
        }
        for line in lines
    ]


# -- unresolved references, looked up again by the supplier tracking job ------------------------------


async def unresolved_links(limit: int = 20) -> list[dict[str, Any]]:
    """Orders sent manually whose reference the supplier has not confirmed yet, least recently tried first."""
    return (
        await SupplierOrder.select(SupplierOrder.all_columns(), SupplierOrder.supplier.all_columns())
        .where(
            SupplierOrder.sent_manually.eq(True)
            & (SupplierOrder.supplier_order_id == "")
            & (SupplierOrder.supplier_reference != "")
            & (SupplierOrder.status == "processed")
        )
        .order_by(SupplierOrder.updated_at)
        .limit(limit)
    )


async def retry_unresolved(row: dict[str, Any], lookup: OrderLookup) -> str:
    """Look an unresolved reference up again: "found", "unknown" (now in Pending review) or "unreachable"."""
    supplier_name, reference = row["supplier.name"], row["supplier_reference"]
    actor = Actor("supplier", supplier_name)
    try:
        resolution = await resolve_reference(lookup, reference)
    except ReferenceUnknown as exc:
        async with change_order(row["order"], actor, final_ok=True) as change:
            await SupplierOrder.update(
                {
                    SupplierOrder.status: "error",
                    SupplierOrder.last_message: exc.message[:4000],
                    SupplierOrder.updated_at: now(),
                }
            ).where(SupplierOrder.id == row["id"])
            change.open_issue("supplier_reference_unknown", f"{supplier_name}: {exc.message}", source="supplier")
            if change.status in (OrderStatus.AWAITING_FULFILLMENT, OrderStatus.PROCESSING):
                change.move_to(OrderStatus.PENDING_REVIEW)
        await resolve_order_issues("supplier", row["supplier"], RESOLVE_OPERATION, row["order"], retry_succeeded=False)
        return "unknown"
    if resolution.unreachable:
        await SupplierOrder.update({SupplierOrder.updated_at: now()}).where(SupplierOrder.id == row["id"])
        await record_issue(
            "supplier",
            row["supplier"],
            RESOLVE_OPERATION,
            unresolved_text(supplier_name, reference, resolution.unreachable),
            order_id=row["order"],
            per_order=True,
        )
        return "unreachable"
    remote_id = resolution.supplier_order_id
    async with change_order(row["order"], actor, final_ok=True) as change:
        message = f"Found at {supplier_name} as order {remote_id} (reference {reference})"
        await SupplierOrder.update(
            {
                SupplierOrder.supplier_order_id: remote_id,
                SupplierOrder.last_message: message,
                SupplierOrder.updated_at: now(),
            }
        ).where(SupplierOrder.id == row["id"])
        change.event(
            "supplier_order_found", message, details={"supplier": row["supplier"], "supplier_order_id": remote_id}
        )
    await resolve_order_issues("supplier", row["supplier"], RESOLVE_OPERATION, row["order"])
    return "found"


async def unresolve_link(supplier_order_id: int, typed: str) -> None:
    """An order sent manually whose id the supplier does not know: take what was typed as a reference,
    to be looked up like one (orders linked before references were looked up)."""
    await SupplierOrder.update(
        {SupplierOrder.supplier_order_id: "", SupplierOrder.supplier_reference: typed, SupplierOrder.updated_at: now()}
    ).where(SupplierOrder.id == supplier_order_id)
