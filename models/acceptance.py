"""Accepting and rejecting marketplace orders, whole or line by line."""

from __future__ import annotations

from models.actors import Actor
from models.errors import DomainError, FieldErrors
from models.lifecycle import LineStatus, OrderStatus, check_transition, decision_status
from models.order_change import OrderChange, change_order

REJECTION_REASONS: dict[str, str] = {
    "out_of_stock": "Out of stock",
    "price_error": "Price error",
    "cannot_ship_to_address": "Cannot ship to this address",
    "other": "Other",
}


def rejection_text(reason: str, other_text: str = "") -> str:
    if reason not in REJECTION_REASONS:
        raise FieldErrors({"reason": "Choose a rejection reason."})
    if reason == "other":
        if not other_text.strip():
            raise FieldErrors({"reason_text": "Describe the reason for rejecting."})
        return other_text.strip()
    return REJECTION_REASONS[reason]


def _require_deciding(change: OrderChange) -> None:
    if change.status != OrderStatus.AWAITING_ACCEPTANCE:
        # Reuse the lifecycle's wording for why a decision is not possible now.
        check_transition(change.status, OrderStatus.AWAITING_FULFILLMENT)
        raise DomainError("This order is not waiting for acceptance.")


def _apply_decision_status(change: OrderChange) -> None:
    derived = decision_status(change.line_states())
    if derived is not None:
        change.move_to(derived)


def _decide_line(change: OrderChange, line_id: int, accept: bool, reason: str = "") -> None:
    line = change.line(line_id)
    if line["status"] != LineStatus.PENDING:
        raise DomainError(f"Line {line['sku']} is already {line['status']}.")
    line["status"] = (LineStatus.ACCEPTED if accept else LineStatus.REJECTED).value
    line["rejection_reason"] = "" if accept else reason
    verb = "Accepted" if accept else "Rejected"
    change.event(
        "line_accepted" if accept else "line_rejected",
        f"{verb} line {line['sku']} × {line['quantity']}" + (f": {reason}" if reason else ""),
        line_id=line_id,
        details={"sku": line["sku"], "reason": reason},
    )
    change.line_updates[line_id] = {"status": line["status"], "rejection_reason": line["rejection_reason"]}


async def accept_order(order_id: int, actor: Actor, expected_version: int | None = None) -> None:
    """Accept every pending line."""
    async with change_order(order_id, actor, expected_version) as change:
        _require_deciding(change)
        for line in change.lines:
            if line["status"] == LineStatus.PENDING:
                _decide_line(change, line["id"], accept=True)
        _apply_decision_status(change)
        change.queue_channel_decisions()


async def reject_order(
    order_id: int, actor: Actor, reason: str, other_text: str = "", expected_version: int | None = None
) -> None:
    """Reject every pending line with one reason."""
    text = rejection_text(reason, other_text)
    async with change_order(order_id, actor, expected_version) as change:
        _require_deciding(change)
        for line in change.lines:
            if line["status"] == LineStatus.PENDING:
                _decide_line(change, line["id"], accept=False, reason=text)
        _apply_decision_status(change)
        change.queue_channel_decisions()


async def decide_line(
    order_id: int,
    line_id: int,
    accept: bool,
    actor: Actor,
    reason: str = "",
    other_text: str = "",
    expected_version: int | None = None,
) -> None:
    text = "" if accept else rejection_text(reason, other_text)
    async with change_order(order_id, actor, expected_version) as change:
        _require_deciding(change)
        _decide_line(change, line_id, accept, text)
        _apply_decision_status(change)
        change.queue_channel_decisions()


async def edit_line_quantity(
    order_id: int, line_id: int, quantity: int, actor: Actor, expected_version: int | None = None
) -> None:
    """Lower a pending line's quantity before accepting it (never raise it)."""
    async with change_order(order_id, actor, expected_version) as change:
        _require_deciding(change)
        line = change.line(line_id)
        if line["status"] != LineStatus.PENDING:
            raise DomainError(f"Line {line['sku']} is already {line['status']}; its quantity can no longer change.")
        if quantity < 1 or quantity > line["quantity"]:
            raise FieldErrors({"quantity": f"Enter a quantity from 1 to {line['quantity']}."})
        if quantity != line["quantity"]:
            change.event(
                "line_quantity_changed",
                f"Quantity of {line['sku']} lowered from {line['quantity']} to {quantity}",
                line_id=line_id,
            )
            line["quantity"] = quantity
            change.line_updates[line_id] = {"quantity": quantity}
