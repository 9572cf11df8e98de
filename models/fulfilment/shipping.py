"""Shipments: parcels with a carrier, an optional tracking number and a quantity per line.

The merchant's way (DESIGN §1, workflow 2) has two steps. **Add tracking** records a parcel as *ready*:
nothing reaches the channel yet, and a mistake can still be removed. **Mark as shipped** ships every
ready parcel at once: the order becomes partially shipped or shipped (derived from the quantities),
and the outbox carries each tracking to the channel, then the ship step once everything has shipped.

A supplier's parcel (`add_shipment`, from the supplier jobs) has already left: it is recorded as
shipped and told to the channel straight away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.core.actors import Actor
from models.core.bounds import MAX_INT, OutOfBounds, whole_number
from models.core.clock import now
from models.core.errors import DomainError, FieldErrors, NotFound
from models.core.links import web_link
from models.core.quoting import quoted
from models.core.search_terms import identifier_terms
from models.db.tables import OrderSearchTerm, OutboxMessage, Shipment, ShipmentLine
from models.fulfilment.carriers import carrier_named, channel_code, get_carrier, matches_format, tracking_url
from models.orders.change import OrderChange, change_order
from models.orders.lifecycle import (
    FINAL_STATUSES,
    LineStatus,
    OrderStatus,
    TransitionRefused,
    check_transition,
    shipping_status,
)
from models.orders.shipping_summary import READY, SHIPPED

#: Where a parcel can be added and shipped from.
SHIPPABLE: frozenset[OrderStatus] = frozenset(
    {OrderStatus.AWAITING_FULFILLMENT, OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED}
)
OVER_QUANTITY = "A shipment can never hold more than the accepted quantity."
CHECK_FIELDS = "Please correct the fields marked below; nothing was saved."


@dataclass
class Parcel:
    """A parcel's checked input."""

    quantities: dict[int, int]
    carrier: dict[str, Any] | None
    carrier_name: str
    tracking_number: str
    tracking_url: str
    no_tracking: bool

    def describe(self) -> str:
        if self.no_tracking or not self.tracking_number:
            return f"{self.carrier_name}, no tracking" if self.carrier_name else "no tracking"
        return f"{self.carrier_name} {self.tracking_number}".strip()


@dataclass
class ShipResult:
    """What Mark as shipped did."""

    parcels: int
    status: OrderStatus
    #: (SKU, quantity) still to ship after this.
    left: list[tuple[str, int]] = field(default_factory=list)
    #: Idempotency keys of the channel messages queued, to report how the channel answered.
    channel_keys: list[str] = field(default_factory=list)


def parse_quantities(raw: Mapping[int, Any]) -> dict[int, int]:
    """Line id → whole number from form input; blanks count as 0. Raises `FieldErrors` per line."""
    quantities: dict[int, int] = {}
    errors: dict[str, str] = {}
    for line_id, value in raw.items():
        text = str(value if value is not None else "").strip()
        if not text:
            quantities[line_id] = 0
            continue
        try:
            quantities[line_id] = whole_number(text)
        except OutOfBounds as exc:
            too_many = not exc.malformed and not text.startswith("-")
            hint = f"Enter at most {MAX_INT} items." if too_many else "Enter a whole number of items, 0 or more."
            errors[f"qty_{line_id}"] = hint
    if errors:
        raise FieldErrors(errors, CHECK_FIELDS)
    return quantities


async def _parcel(
    quantities: Mapping[int, int],
    carrier_id: int | None,
    tracking_number: str,
    no_tracking: bool,
    carrier_name: str = "",
    url: str = "",
) -> tuple[Parcel, dict[str, str]]:
    """Check what can be checked without the order; returns the parcel and the field errors found."""
    tracking_number = tracking_number.strip()
    errors: dict[str, str] = {}
    carrier = None
    if carrier_id is not None:
        try:
            carrier = await get_carrier(carrier_id)
        except NotFound:
            errors["carrier"] = "That carrier is no longer in the list. Choose a carrier from the list."
    elif carrier_name.strip():
        carrier = await carrier_named(carrier_name)
    elif not no_tracking:
        errors["carrier"] = "Choose a carrier from the list, or turn on “No tracking needed”."
    if no_tracking and tracking_number:
        errors["tracking_number"] = "Leave the tracking number empty when “No tracking needed” is on, or turn it off."
    elif not no_tracking and not tracking_number:
        errors["tracking_number"] = "Enter the tracking number, or turn on “No tracking needed”."
    elif len(tracking_number) > 100:
        errors["tracking_number"] = "A tracking number has at most 100 characters."
    elif (
        carrier_id is not None  # a carrier the merchant chose; a supplier's own tracking is taken as it is
        and carrier
        and not matches_format(carrier["tracking_number_pattern"], tracking_number)
    ):
        errors["tracking_number"] = (
            f"{quoted(tracking_number)} does not look like a {carrier['name']} tracking number. "
            "Check it for typos, or choose another carrier."
        )
    positive = {line_id: qty for line_id, qty in quantities.items() if qty}
    if not positive:
        errors["quantities"] = "Enter the quantity shipped for at least one line."
    name = carrier["name"] if carrier else " ".join(carrier_name.split())[:100]
    link = web_link(url) or tracking_url(carrier["tracking_url_pattern"] if carrier else "", tracking_number)
    return Parcel(positive, carrier, name, tracking_number, link[:500], no_tracking), errors


def _refuse_unless_shippable(change: OrderChange, action: str) -> None:
    status = change.status
    if status in SHIPPABLE:
        return
    if status in FINAL_STATUSES:
        label = status.label.lower()
        message = f"{action} is not possible: the order is {label}, which is final and can no longer change."
    else:
        message = (
            f"{action} is not possible while the order is {status.label.lower()}; it is possible when the order is "
            "awaiting fulfillment, processing or partially shipped."
        )
    raise TransitionRefused(status, OrderStatus.SHIPPED, message)


def _quantity_errors(
    change: OrderChange, quantities: dict[int, int], taken: dict[int, int], ready: dict[int, int]
) -> dict[str, str]:
    """Field errors for quantities beyond what is left (accepted − `taken`); a line not shippable is refused."""
    errors: dict[str, str] = {}
    for line_id, qty in quantities.items():
        line = change.line(line_id)
        if line["status"] != LineStatus.ACCEPTED:
            raise DomainError(f"Line {line['sku']} is {line['status']} and cannot be shipped.")
        remaining = line["quantity"] - taken.get(line_id, 0)
        if qty < 0:
            errors[f"qty_{line_id}"] = f"{line['sku']}: enter a quantity of 0 or more."
        elif qty > remaining:
            message = f"{line['sku']}: at most {max(remaining, 0)} left to ship."
            if ready.get(line_id):
                message += f" {ready[line_id]} more already has tracking waiting for Mark as shipped."
            errors[f"qty_{line_id}"] = message
    return errors


def _items(change: OrderChange, quantities: Mapping[int, int]) -> str:
    return ", ".join(f"{change.line(lid)['sku']} × {q}" for lid, q in quantities.items())


def _stored(row: dict[str, Any], items: list[dict[str, Any]], carrier: dict[str, Any] | None = None) -> Parcel:
    """A parcel as recorded, with its lines (`ShipmentLine` rows)."""
    quantities = {item["order_line"]: item["quantity"] for item in items if item["shipment"] == row["id"]}
    return Parcel(
        quantities, carrier, row["carrier_name"], row["tracking_number"], row["tracking_url"], row["no_tracking"]
    )


async def _insert(
    change: OrderChange, parcel: Parcel, state: str, stamp: dt.datetime, supplier_order: int | None
) -> int:
    created = await Shipment.insert(
        Shipment(
            order=change.id,
            supplier_order=supplier_order,
            carrier=parcel.carrier["id"] if parcel.carrier else None,
            carrier_name=parcel.carrier_name,
            tracking_number=parcel.tracking_number,
            tracking_url=parcel.tracking_url,
            no_tracking=parcel.no_tracking,
            shipped_at=stamp,
            created_by=change.actor.describe(),
            state=state,
        )
    ).returning(Shipment.id)
    shipment_id = created[0]["id"]
    await ShipmentLine.insert(
        *[ShipmentLine(shipment=shipment_id, order_line=lid, quantity=q) for lid, q in parcel.quantities.items()]
    )
    return shipment_id


async def add_tracking(
    order_id: int,
    quantities: Mapping[int, int],
    actor: Actor,
    carrier_id: int | None = None,
    tracking_number: str = "",
    no_tracking: bool = False,
    expected_version: int | None = None,
) -> int:
    """Add tracking: record a parcel ready to ship; nothing goes to the channel until Mark as shipped.

    Quantities count against what is left: accepted, minus what shipped, minus other ready parcels.
    Returns the shipment id. Every problem is reported at once, field by field."""
    parcel, errors = await _parcel(quantities, carrier_id, tracking_number, no_tracking)
    async with change_order(order_id, actor, expected_version) as change:
        _refuse_unless_shippable(change, "Add tracking")
        taken = await change.parcel_quantities((READY, SHIPPED))
        ready = await change.parcel_quantities((READY,))
        over = _quantity_errors(change, parcel.quantities, taken, ready)
        errors.update(over)
        if errors:
            raise FieldErrors(errors, OVER_QUANTITY if over and len(over) == len(errors) else CHECK_FIELDS)
        shipment_id = await _insert(change, parcel, READY, now(), None)
        change.event(
            "tracking_added",
            f"Tracking added ({parcel.describe()}): {_items(change, parcel.quantities)}. Not shipped yet.",
            details={"shipment": shipment_id},
        )
        return shipment_id


async def remove_tracking(order_id: int, shipment_id: int, actor: Actor, expected_version: int | None = None) -> str:
    """Remove a parcel that has not shipped (a wrong number, a wrong split). Returns what it was."""
    async with change_order(order_id, actor, expected_version) as change:
        if change.status in FINAL_STATUSES:
            label = change.status.label.lower()
            raise TransitionRefused(
                change.status, change.status, f"The order is {label}, which is final: its parcels can no longer change."
            )
        row = await Shipment.select().where((Shipment.id == shipment_id) & (Shipment.order == order_id)).first()
        if row is None:
            raise NotFound("This tracking is not on the order any more; it may have been removed already.")
        if row["state"] != READY:
            raise DomainError("This parcel has shipped and the channel was told; it can no longer be removed.")
        parcel = _stored(row, await ShipmentLine.select().where(ShipmentLine.shipment == shipment_id))
        await Shipment.delete().where(Shipment.id == shipment_id)
        described = f"{parcel.describe()}: {_items(change, parcel.quantities)}"
        change.event("tracking_removed", f"Tracking removed ({described})", details={"shipment": shipment_id})
        return described


async def mark_shipped(order_id: int, actor: Actor, expected_version: int | None = None) -> ShipResult:
    """Mark as shipped: every ready parcel ships; tracking, then the ship step, go to the channel."""
    async with change_order(order_id, actor, expected_version) as change:
        _refuse_unless_shippable(change, "Mark as shipped")
        ready_rows = (
            await Shipment.select()
            .where((Shipment.order == order_id) & (Shipment.state == READY))
            .order_by(Shipment.id)
        )
        if not ready_rows:
            raise DomainError(
                "Nothing to mark as shipped yet: use Add tracking first (or its “No tracking needed” option) "
                "for the items in the parcel."
            )
        shipped = await change.shipped_quantities()
        ready = await change.parcel_quantities((READY,))
        for line_id, qty in ready.items():
            line = change.line(line_id)
            left = line["quantity"] - shipped.get(line_id, 0) if line["status"] == LineStatus.ACCEPTED else 0
            if qty > left:
                raise DomainError(
                    f"{line['sku']}: the tracking waiting to ship holds {qty}, but only {max(left, 0)} is left to "
                    "ship. Remove that tracking and add it again with the right quantity."
                )
        items = await ShipmentLine.select().where(ShipmentLine.shipment.is_in([r["id"] for r in ready_rows]))
        stamp = now()
        parcels = []
        for row in ready_rows:
            carrier = None
            if row["carrier"] is not None:
                try:
                    carrier = await get_carrier(row["carrier"])
                except NotFound:
                    carrier = None
            parcels.append((row["id"], _stored(row, items, carrier)))
        await Shipment.update({Shipment.state: SHIPPED, Shipment.shipped_at: stamp}).where(
            Shipment.id.is_in([r["id"] for r in ready_rows])
        )
        for shipment_id, parcel in parcels:
            change.event(
                "shipment_shipped",
                f"Shipped ({parcel.describe()}): {_items(change, parcel.quantities)}",
                details={"shipment": shipment_id},
            )
        keys = await _shipped(change, parcels, shipped, stamp)  # `shipped` now counts these parcels too
        left = [
            (line["sku"], line["quantity"] - shipped.get(line["id"], 0))
            for line in change.lines
            if line["status"] == LineStatus.ACCEPTED and line["quantity"] > shipped.get(line["id"], 0)
        ]
        return ShipResult(len(parcels), change.status, left, keys)


async def add_shipment(
    order_id: int,
    quantities: dict[int, int],
    actor: Actor,
    carrier_id: int | None = None,
    tracking_number: str = "",
    no_tracking: bool = False,
    shipped_at: dt.datetime | None = None,
    supplier_order_id: int | None = None,
    expected_version: int | None = None,
    carrier_name: str = "",
    tracking_url: str = "",
) -> int:
    """Record a parcel that has already left (a supplier's); the order becomes partially shipped or
    shipped, and the channel is told. Returns the shipment id.

    A supplier's parcel comes with the supplier's carrier name (`carrier_name`, matched to the list when
    it is there) and URL; `carrier_id` picks one from the list."""
    parcel, errors = await _parcel(quantities, carrier_id, tracking_number, no_tracking, carrier_name, tracking_url)
    if errors:
        raise FieldErrors(errors, CHECK_FIELDS)
    async with change_order(order_id, actor, expected_version) as change:
        if change.status not in SHIPPABLE:
            check_transition(change.status, OrderStatus.PARTIALLY_SHIPPED)
        shipped = await change.shipped_quantities()
        over = _quantity_errors(change, parcel.quantities, shipped, {})
        if over:
            raise FieldErrors(over, OVER_QUANTITY)
        stamp = shipped_at or now()
        shipment_id = await _insert(change, parcel, SHIPPED, stamp, supplier_order_id)
        change.event(
            "shipment_added",
            f"Shipment added ({parcel.describe()}): {_items(change, parcel.quantities)}",
            details={"shipment": shipment_id},
        )
        await _shipped(change, [(shipment_id, parcel)], shipped, stamp)
        return shipment_id


async def _shipped(
    change: OrderChange, parcels: list[tuple[int, Parcel]], shipped: dict[int, int], stamp: dt.datetime
) -> list[str]:
    """Parcels have left: make tracking searchable, derive the status, and queue the channel messages."""
    for _, parcel in parcels:
        for line_id, qty in parcel.quantities.items():
            shipped[line_id] = shipped.get(line_id, 0) + qty
        if parcel.tracking_number:
            await OrderSearchTerm.insert(
                *[OrderSearchTerm(order=change.id, term=t) for t in identifier_terms(parcel.tracking_number)]
            )
    target = shipping_status(change.line_states(shipped))
    if target is not None:
        change.move_to(target)
    keys = [_queue_tracking(change, shipment_id, parcel) for shipment_id, parcel in parcels if parcel.tracking_number]
    if change.status == OrderStatus.SHIPPED:
        order = change.order
        key = f"channel:{order['channel']}:{order['channel_order_id']}:ship"
        change.send("channel", order["channel"], "ship", key, {"channel_order_id": order["channel_order_id"]})
        keys.append(key)
        if not order.get("shipped_at"):
            change.set(shipped_at=stamp)
    return keys


def _queue_tracking(change: OrderChange, shipment_id: int, parcel: Parcel) -> str:
    """Tell the channel about one parcel, under the carrier's code for that channel."""
    order = change.order
    key = f"channel:{order['channel']}:{order['channel_order_id']}:tracking:{shipment_id}"
    change.send(
        "channel",
        order["channel"],
        "tracking",
        key,
        {
            "channel_order_id": order["channel_order_id"],
            "carrier_code": channel_code(parcel.carrier, order["channel"]),
            "carrier_name": parcel.carrier_name,
            "tracking_number": parcel.tracking_number,
            "tracking_url": parcel.tracking_url,
            "lines": {change.line(lid)["channel_line_id"]: q for lid, q in parcel.quantities.items()},
            "skus": {change.line(lid)["sku"]: q for lid, q in parcel.quantities.items()},
        },
    )
    return key


def shipped_message(result: ShipResult) -> str:
    """What Mark as shipped did, in the merchant's words."""
    count = f"{result.parcels} parcel" + ("s" if result.parcels != 1 else "")
    if result.status == OrderStatus.SHIPPED:
        return f"Marked as shipped: {count}. Everything accepted has shipped."
    left = ", ".join(f"{sku} × {qty}" for sku, qty in result.left)
    return f"Marked as shipped: {count}. Still to ship: {left}."


async def channel_report(keys: list[str], channel_name: str) -> tuple[str, str]:
    """How the channel answered the messages just sent (`ShipResult.channel_keys`): a sentence and a level."""
    if not keys:
        return "", "success"
    rows = await OutboxMessage.select(OutboxMessage.action, OutboxMessage.state, OutboxMessage.last_error).where(
        OutboxMessage.idempotency_key.is_in(keys)
    )
    refused = [r for r in rows if r["state"] in ("failed", "gave_up")]
    waiting = [r for r in rows if r["state"] == "pending"]
    if refused:
        return (
            f"{channel_name} refused it: {refused[0]['last_error']} It is listed under Connection issues: "
            "fix the cause, then use Retry there.",
            "error",
        )
    if waiting:
        why = f" ({waiting[0]['last_error']})" if waiting[0]["last_error"] else ""
        return (
            f"{channel_name} has not confirmed it yet{why}. Waybill keeps sending it and shows any problem under "
            "Connection issues.",
            "info",
        )
    trackings = sum(1 for r in rows if r["action"] == "tracking")
    told = []
    if trackings:
        told.append("the tracking" if trackings == 1 else f"{trackings} tracking numbers")
    if any(r["action"] == "ship" for r in rows):
        told.append("that the order shipped")
    return f"{channel_name} confirmed {' and '.join(told)}.", "success"
