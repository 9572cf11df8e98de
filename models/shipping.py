"""Shipments: parcels with a carrier, an optional tracking number and a quantity per line."""

from __future__ import annotations

import datetime as dt
import re

from models.actors import Actor
from models.clock import now
from models.errors import DomainError, FieldErrors
from models.lifecycle import LineStatus, OrderStatus, check_transition, shipping_status
from models.order_change import OrderChange, change_order
from models.search_terms import identifier_terms
from models.tables import Carrier, OrderSearchTerm, Shipment, ShipmentLine


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
    """Record a parcel; the order becomes partially shipped or shipped. Returns the shipment id.

    A merchant picks a carrier from the list (`carrier_id`); a supplier's parcel comes with the
    supplier's carrier name (`carrier_name`, matched to the list by name when it is there) and URL."""
    tracking_number = tracking_number.strip()
    errors: dict[str, str] = {}
    if not no_tracking and not tracking_number:
        errors["tracking_number"] = "Enter a tracking number, or choose “No tracking needed”."
    carrier = None
    if carrier_id is not None:
        carrier = await Carrier.select().where(Carrier.id == carrier_id).first()
        if carrier is None:
            errors["carrier"] = "Choose a carrier from the list."
    elif carrier_name.strip():
        carrier = await _carrier_named(carrier_name)
    elif not no_tracking:
        errors["carrier"] = "Choose a carrier from the list."
    pattern = carrier["tracking_number_pattern"] if carrier else ""
    if pattern and tracking_number and not re.fullmatch(pattern, tracking_number):
        errors["tracking_number"] = f"“{tracking_number}” does not look like a {carrier['name']} tracking number."
    quantities = {line_id: qty for line_id, qty in quantities.items() if qty}
    if not quantities:
        errors["quantities"] = "Enter the quantity shipped for at least one line."
    if errors:
        raise FieldErrors(errors)

    async with change_order(order_id, actor, expected_version) as change:
        if change.status not in (
            OrderStatus.AWAITING_FULFILLMENT,
            OrderStatus.PROCESSING,
            OrderStatus.PARTIALLY_SHIPPED,
        ):
            check_transition(change.status, OrderStatus.PARTIALLY_SHIPPED)
        shipped = await change.shipped_quantities()
        for line_id, qty in quantities.items():
            line = change.line(line_id)
            if line["status"] != LineStatus.ACCEPTED:
                raise DomainError(f"Line {line['sku']} is {line['status']} and cannot be shipped.")
            remaining = line["quantity"] - shipped.get(line_id, 0)
            if qty < 0 or qty > remaining:
                raise FieldErrors(
                    {f"qty_{line_id}": f"{line['sku']}: at most {remaining} left to ship."},
                    message="A shipment can never hold more than the accepted quantity.",
                )
        stamp = shipped_at or now()
        url = tracking_url.strip()
        if not url and carrier and tracking_number and carrier["tracking_url_pattern"]:
            url = carrier["tracking_url_pattern"].replace("{tracking}", tracking_number)
        created = await Shipment.insert(
            Shipment(
                order=order_id,
                supplier_order=supplier_order_id,
                carrier=carrier["id"] if carrier else None,
                carrier_name=carrier["name"] if carrier else carrier_name.strip()[:100],
                tracking_number=tracking_number,
                tracking_url=url,
                no_tracking=no_tracking,
                shipped_at=stamp,
                created_by=actor.describe(),
            )
        ).returning(Shipment.id)
        shipment_id = created[0]["id"]
        await ShipmentLine.insert(
            *[ShipmentLine(shipment=shipment_id, order_line=lid, quantity=q) for lid, q in quantities.items()]
        )
        if tracking_number:
            await OrderSearchTerm.insert(
                *[OrderSearchTerm(order=order_id, term=t) for t in identifier_terms(tracking_number)]
            )
        for line_id, qty in quantities.items():
            shipped[line_id] = shipped.get(line_id, 0) + qty
        items = ", ".join(f"{change.line(lid)['sku']} × {q}" for lid, q in quantities.items())
        shown_carrier = carrier["name"] if carrier else carrier_name.strip()
        parcel = f"{shown_carrier} {tracking_number}".strip() if tracking_number else "no tracking"
        change.event("shipment_added", f"Shipment added ({parcel}): {items}", details={"shipment": shipment_id})
        target = shipping_status(change.line_states(shipped))
        if target is not None:
            change.move_to(target)
        _queue_channel_shipping(change, shipment_id, carrier, tracking_number, url, quantities, carrier_name)
        if change.status == OrderStatus.SHIPPED and not change.order.get("shipped_at"):
            change.set(shipped_at=stamp)
        return shipment_id


def _queue_channel_shipping(
    change: OrderChange,
    shipment_id: int,
    carrier: dict | None,
    tracking_number: str,
    tracking_url: str,
    quantities: dict[int, int],
    carrier_name: str = "",
) -> None:
    """Tell the channel about the parcel, and that the order shipped once everything has."""
    order = change.order
    key = f"channel:{order['channel']}:{order['channel_order_id']}"
    if tracking_number:
        change.send(
            "channel",
            order["channel"],
            "tracking",
            f"{key}:tracking:{shipment_id}",
            {
                "channel_order_id": order["channel_order_id"],
                "carrier_code": carrier["code"] if carrier else "",
                "carrier_name": carrier["name"] if carrier else carrier_name.strip(),
                "tracking_number": tracking_number,
                "tracking_url": tracking_url,
                "lines": {change.line(lid)["channel_line_id"]: q for lid, q in quantities.items()},
                "skus": {change.line(lid)["sku"]: q for lid, q in quantities.items()},
            },
        )
    if change.status == OrderStatus.SHIPPED:
        change.send("channel", order["channel"], "ship", f"{key}:ship", {"channel_order_id": order["channel_order_id"]})


async def _carrier_named(name: str) -> dict | None:
    """The operator's carrier whose name matches a supplier's carrier name, if any."""
    wanted = name.strip().casefold()
    for carrier in await Carrier.select().where(Carrier.active.eq(True)):
        if carrier["name"].strip().casefold() == wanted or (carrier["code"] and carrier["code"].casefold() == wanted):
            return carrier
    return None
