"""Merchant edits before (or while) an order is at a supplier: delivery address and line quantities.

The channel's own copy is never changed; the order keeps what the merchant fixed (`address_edited`)
and the supplier gets it on the next send, or at once where the supplier order already exists and
the supplier can take a corrected address (ShipBob re-checks a shipment on hold).
"""

from __future__ import annotations

from typing import Any

from models.core.actors import Actor
from models.core.errors import DomainError, FieldErrors
from models.core.quoting import quoted
from models.db.tables import SupplierOrder
from models.orders.change import OrderChange, change_order
from models.orders.lifecycle import OrderStatus
from models.orders.validation import KNOWN_COUNTRIES, postcode_problem

#: Address fields a merchant may edit, with their column lengths and labels.
ADDRESS_FIELDS: dict[str, tuple[int, str]] = {
    "ship_first_name": (200, "First name"),
    "ship_last_name": (200, "Last name"),
    "ship_company": (200, "Company"),
    "ship_street1": (300, "Street"),
    "ship_street2": (300, "Street (line 2)"),
    "ship_postcode": (32, "Postcode"),
    "ship_city": (200, "City"),
    "ship_region": (200, "Region"),
    "ship_country": (2, "Country"),
    "ship_phone": (64, "Phone"),
}
REQUIRED = {
    "ship_last_name": "Enter the last name.",
    "ship_street1": "Enter the street.",
    "ship_city": "Enter the city.",
}
#: Where the address can still change: before shipping.
EDITABLE = frozenset({OrderStatus.PENDING_REVIEW, OrderStatus.AWAITING_FULFILLMENT, OrderStatus.PROCESSING})
#: Suppliers whose connector takes a corrected address for an order it already has.
ADDRESS_UPDATABLE_KINDS = frozenset({"shipbob"})


def address_errors(values: dict[str, str]) -> dict[str, str]:
    """Field → message for every field that cannot be saved as given."""
    errors: dict[str, str] = {}
    for name, (length, label) in ADDRESS_FIELDS.items():
        if len(values.get(name, "")) > length:
            errors[name] = f"{label} has at most {length} characters."
    for name, message in REQUIRED.items():
        if not values.get(name, "").strip():
            errors[name] = message
    country = values.get("ship_country", "").strip().upper()
    if not country:
        errors["ship_country"] = "Enter the two-letter country code, e.g. FR."
    elif country not in KNOWN_COUNTRIES:
        errors["ship_country"] = f"{quoted(country)} is not a country code Waybill knows; use e.g. FR, DE or GB."
    elif "ship_postcode" not in errors:
        problem = postcode_problem(country, values.get("ship_postcode", ""))
        if problem:
            errors["ship_postcode"] = problem
    return errors


async def edit_address(
    order_id: int, values: dict[str, str], actor: Actor, expected_version: int | None = None
) -> list[str]:
    """Save a corrected delivery address. Returns the names of suppliers the fix was sent to."""
    clean = {name: str(values.get(name, "")).strip() for name in ADDRESS_FIELDS}
    clean["ship_country"] = clean["ship_country"].upper()
    clean["ship_postcode"] = (
        clean["ship_postcode"].upper() if clean["ship_country"] in ("GB", "NL", "IE") else clean["ship_postcode"]
    )
    errors = address_errors(clean)
    if errors:
        raise FieldErrors(errors, message="The address was not saved: correct the fields marked below.")
    async with change_order(order_id, actor, expected_version) as change:
        if change.status not in EDITABLE:
            raise DomainError(f"The delivery address cannot change while the order is {change.status.label.lower()}.")
        changed = {name: value for name, value in clean.items() if change.order[name] != value}
        if not changed:
            return []
        before = ", ".join(
            f"{ADDRESS_FIELDS[n][1]}: {quoted(change.order[n])} → {quoted(v)}" for n, v in changed.items()
        )
        change.set(**changed, address_edited=True)
        change.event("address_edited", f"Delivery address edited ({before})", details={"fields": sorted(changed)})
        return await queue_address_updates(change, ("processed", "on_hold"))


async def queue_address_updates(change: OrderChange, statuses: tuple[str, ...]) -> list[str]:
    """Send the order's delivery address again to suppliers that hold it in `statuses` and can take
    a corrected one; returns their names."""
    sent_to: list[str] = []
    for row in await _updatable_supplier_orders(change.id, statuses):
        change.send(
            "supplier",
            row["supplier"],
            "update_address",
            f"supplier:{row['internal_reference']}:address:{change.order['version']}",
            {"supplier_order": row["id"]},
        )
        sent_to.append(row["supplier.name"])
    if sent_to:
        change.event("address_sent", f"Delivery address sent to {', '.join(sent_to)} to be checked again")
    return sent_to


async def _updatable_supplier_orders(order_id: int, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = await SupplierOrder.select(
        SupplierOrder.id,
        SupplierOrder.supplier,
        SupplierOrder.internal_reference,
        SupplierOrder.supplier.name,
        SupplierOrder.supplier.kind,
    ).where(
        (SupplierOrder.order == order_id)
        & SupplierOrder.status.is_in(list(statuses))
        & (SupplierOrder.supplier_order_id != "")
    )
    return [row for row in rows if row["supplier.kind"] in ADDRESS_UPDATABLE_KINDS]


async def set_line_quantity(
    order_id: int, line_id: int, quantity: int, actor: Actor, expected_version: int | None = None
) -> None:
    """Lower a line's quantity before the order goes to a supplier (e.g. only part is in stock)."""
    async with change_order(order_id, actor, expected_version) as change:
        if change.status not in (OrderStatus.PENDING_REVIEW, OrderStatus.AWAITING_FULFILLMENT):
            raise DomainError(
                f"Quantities can only change before processing; the order is {change.status.label.lower()}."
            )
        if await change.sent_to_supplier():
            raise DomainError("Part of this order is already at a supplier; quantities can no longer change.")
        line = change.line(line_id)
        if quantity < 1:
            raise FieldErrors({f"qty_{line_id}": "A quantity must be at least 1; reject the line instead."})
        if quantity > line["quantity"]:
            raise FieldErrors(
                {f"qty_{line_id}": f"At most {line['quantity']}: a quantity can only be lowered, not raised."}
            )
        if quantity == line["quantity"]:
            return
        change.line_updates[line_id] = {"quantity": quantity}
        line_before = line["quantity"]
        line["quantity"] = quantity
        change.event(
            "line_quantity_changed",
            f"Quantity of {line['sku']} lowered from {line_before} to {quantity}",
            line_id=line_id,
            details={"from": line_before, "to": quantity},
        )


async def dismiss_issue(
    order_id: int, code: str, reason: str, actor: Actor, expected_version: int | None = None
) -> None:
    """Close a review issue without fixing what it names, because the merchant says it does not apply
    (e.g. a one-word company name that has no surname). Audited with the reason; the order resumes
    where it belongs once no issue is left."""
    reason = " ".join(reason.split())
    if not reason:
        raise FieldErrors({"reason": "Say why this does not need fixing."}, "Enter a reason to dismiss the issue.")
    if len(reason) > 300:
        raise FieldErrors({"reason": "At most 300 characters."}, "The reason is too long.")
    async with change_order(order_id, actor, expected_version) as change:
        if code not in change.open_issue_codes:
            raise DomainError("This issue is no longer open; the page now shows what still needs review.")
        change.event(
            "review_issue_dismissed",
            f"Dismissed: {code.replace('_', ' ')} — {quoted(reason)}",
            details={"code": code, "reason": reason},
        )
        await change.resolve_issues({code}, note=f"dismissed: {reason}")
