"""Accepting and rejecting marketplace orders, whole or line by line (DESIGN §1 workflow 2).

Each decision is one `change_order` transaction: the lines change, the order's status follows the
lifecycle's derived rule (no pending line and one accepted → awaiting fulfillment; all rejected →
rejected), events are written, and the decision is queued for the channel the way that channel takes
it. A decision that no longer applies (someone decided first, the order moved on) is a `Conflict`
and changes nothing, so two people deciding at once get one decision and one clear message.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.core.actors import Actor
from models.core.errors import Conflict, DomainError, FieldErrors
from models.db.tables import Channel, Event
from models.orders.change import OrderChange, change_order
from models.orders.lifecycle import FINAL_STATUSES, LineStatus, OrderStatus, decision_status
from models.ports import directory

REJECTION_REASONS: dict[str, str] = {
    "out_of_stock": "Out of stock",
    "price_error": "Price error",
    "cannot_ship_to_address": "Cannot ship to this address",
    "other": "Other",
}
#: The longest rejection reason a line keeps (its column's size).
MAX_REASON_LENGTH = 300


def rejection_text(reason: str, other_text: str = "") -> str:
    """The reason as stored and shown; `FieldErrors` keyed `reason` / `reason_text` when it is missing."""
    reason = (reason or "").strip()
    if reason not in REJECTION_REASONS:
        raise FieldErrors({"reason": "Choose a rejection reason."}, "Choose a rejection reason; nothing was rejected.")
    if reason != "other":
        return REJECTION_REASONS[reason]
    text = " ".join((other_text or "").split())
    if not text:
        raise FieldErrors(
            {"reason_text": "Describe the reason for rejecting."},
            "Describe the reason for rejecting; nothing was rejected.",
        )
    if len(text) > MAX_REASON_LENGTH:
        raise FieldErrors(
            {"reason_text": f"Keep the reason to {MAX_REASON_LENGTH} characters (it has {len(text)})."},
            "The reason is too long; nothing was rejected.",
        )
    return text


@dataclass(frozen=True)
class ChannelDecisions:
    """How a channel takes acceptance decisions (from its connector)."""

    label: str
    #: Each line's decision goes out as soon as it is made (Back Market), not all at once (Mirakl).
    each_line: bool = False
    #: Some lines may be refused while others are accepted (MALL cannot).
    refuses_single_lines: bool = True


def decisions_for_kind(kind: str, name: str = "") -> ChannelDecisions:
    """How a channel of `kind` takes decisions; a kind without a connector gets them all at once."""
    connector = directory().channel_kinds().get(kind)
    if connector is None:
        return ChannelDecisions(label=name or kind)
    return ChannelDecisions(connector.label, connector.decides_each_line, connector.refuses_single_lines)


@dataclass(frozen=True)
class DecisionOutcome:
    """What a decision did, in words a merchant reads (the same in the UI and the API)."""

    message: str
    status: OrderStatus
    #: A message to the channel was queued by this decision.
    sent_to_channel: bool


async def _channel_decisions(change: OrderChange) -> ChannelDecisions:
    row = await Channel.select(Channel.kind, Channel.name).where(Channel.id == change.order["channel"]).first()
    return decisions_for_kind(row["kind"], row["name"]) if row else ChannelDecisions(label="The channel")


def _require_deciding(change: OrderChange, action: str) -> None:
    status = change.status
    if status == OrderStatus.AWAITING_ACCEPTANCE:
        return
    if status == OrderStatus.PENDING_REVIEW and any(line["status"] == LineStatus.PENDING for line in change.lines):
        raise DomainError(
            f"{action} is not possible yet: this order needs review first. Fix what is listed under "
            "Needs review; the order then comes back here to be accepted or rejected."
        )
    if status in FINAL_STATUSES:
        raise Conflict(
            f"{action} is not possible: the order is {status.label.lower()}, which is final. Nothing changed."
        )
    raise Conflict(
        f"{action} is not possible: the order is no longer awaiting acceptance (it is {status.label.lower()}), "
        "so its lines are already decided. Nothing changed."
    )


async def _require_pending(change: OrderChange, line: dict, consequence: str = "") -> None:
    if line["status"] == LineStatus.PENDING:
        return
    last = (
        await Event.select(Event.actor_name)
        .where((Event.order_line == line["id"]) & Event.kind.is_in(["line_accepted", "line_rejected"]))
        .order_by(Event.id, ascending=False)
        .first()
    )
    who = f" by {last['actor_name']}" if last else ""
    raise Conflict(f"Line {line['sku']} was already {line['status']}{who}{consequence}. Nothing changed.")


def _decide_line(change: OrderChange, line: dict, accept: bool, reason: str = "", reason_code: str = "") -> None:
    line["status"] = (LineStatus.ACCEPTED if accept else LineStatus.REJECTED).value
    line["rejection_reason"] = "" if accept else reason
    verb = "Accepted" if accept else "Rejected"
    change.event(
        "line_accepted" if accept else "line_rejected",
        f"{verb} line {line['sku']} × {line['quantity']}" + (f": {reason}" if reason else ""),
        line_id=line["id"],
        details={"sku": line["sku"], "quantity": line["quantity"], "reason": reason, "reason_code": reason_code},
    )
    change.line_updates[line["id"]] = {"status": line["status"], "rejection_reason": line["rejection_reason"]}


def _check_channel_takes(change: OrderChange, channel: ChannelDecisions) -> None:
    """Refuse, before anything changes, a mix of accepted and refused lines a channel cannot take."""
    statuses = {line["status"] for line in change.lines}
    if not channel.refuses_single_lines and {LineStatus.ACCEPTED, LineStatus.REJECTED} <= statuses:
        raise DomainError(
            f"{channel.label} cannot refuse single items: an order is accepted or rejected as a whole. Accept every "
            "line, or reject the whole order with Reject order before accepting any line. Nothing changed."
        )


def _finish(change: OrderChange, channel: ChannelDecisions, decided: list[int], what: str) -> DecisionOutcome:
    """Apply the derived status and queue the decisions for the channel."""
    _check_channel_takes(change, channel)
    derived = decision_status(change.line_states())
    if derived is not None:
        change.move_to(derived)
    sent = change.queue_channel_decisions(each_line=decided if channel.each_line else None)
    pending = sum(1 for line in change.lines if line["status"] == LineStatus.PENDING)
    if derived == OrderStatus.AWAITING_FULFILLMENT:
        message = f"{what} The order is awaiting fulfillment."
    elif derived == OrderStatus.REJECTED:
        message = f"{what} Every line is rejected, so the order is rejected."
    else:
        message = f"{what} {pending} line{'s' if pending != 1 else ''} still to decide."
        if not sent:
            message += f" {channel.label} receives the decisions once every line is decided."
    return DecisionOutcome(message, change.status, sent)


async def accept_order(order_id: int, actor: Actor, expected_version: int | None = None) -> DecisionOutcome:
    """Accept every pending line."""
    async with change_order(order_id, actor, expected_version) as change:
        _require_deciding(change, "Accept order")
        channel = await _channel_decisions(change)
        decided = []
        for line in change.lines:
            if line["status"] == LineStatus.PENDING:
                _decide_line(change, line, accept=True)
                decided.append(line["id"])
        return _finish(change, channel, decided, "Order accepted.")


async def reject_order(
    order_id: int, actor: Actor, reason: str, other_text: str = "", expected_version: int | None = None
) -> DecisionOutcome:
    """Reject every pending line with one reason."""
    text = rejection_text(reason, other_text)
    async with change_order(order_id, actor, expected_version) as change:
        _require_deciding(change, "Reject order")
        channel = await _channel_decisions(change)
        decided = []
        for line in change.lines:
            if line["status"] == LineStatus.PENDING:
                _decide_line(change, line, accept=False, reason=text, reason_code=reason)
                decided.append(line["id"])
        return _finish(change, channel, decided, f"Order rejected ({text}).")


async def decide_line(
    order_id: int,
    line_id: int,
    accept: bool,
    actor: Actor,
    reason: str = "",
    other_text: str = "",
    expected_version: int | None = None,
) -> DecisionOutcome:
    """Accept or reject one pending line (a rejection needs a reason)."""
    text = "" if accept else rejection_text(reason, other_text)
    action = "Accept" if accept else "Reject"
    async with change_order(order_id, actor, expected_version) as change:
        _require_deciding(change, action)
        line = change.line(line_id)
        await _require_pending(change, line)
        channel = await _channel_decisions(change)
        _decide_line(change, line, accept, text, "" if accept else reason)
        what = f"Line {line['sku']} accepted." if accept else f"Line {line['sku']} rejected ({text})."
        return _finish(change, channel, [line_id], what)


async def edit_line_quantity(
    order_id: int, line_id: int, quantity: int, actor: Actor, expected_version: int | None = None
) -> DecisionOutcome:
    """Lower a pending line's quantity before deciding it (e.g. only part is in stock); never raise it."""
    async with change_order(order_id, actor, expected_version) as change:
        _require_deciding(change, "Edit")
        line = change.line(line_id)
        await _require_pending(change, line, "; its quantity can no longer change")
        if quantity < 1:
            raise FieldErrors(
                {"quantity": "A quantity must be at least 1; reject the line instead."},
                f"Quantity of {line['sku']} not saved.",
            )
        if quantity > line["quantity"]:
            raise FieldErrors(
                {"quantity": f"At most {line['quantity']}: a quantity can only be lowered, not raised."},
                f"Quantity of {line['sku']} not saved.",
            )
        if quantity == line["quantity"]:
            return DecisionOutcome(f"Quantity of {line['sku']} is already {quantity}.", change.status, False)
        before = line["quantity"]
        line["quantity"] = quantity
        change.line_updates[line_id] = {"quantity": quantity}
        change.event(
            "line_quantity_changed",
            f"Quantity of {line['sku']} lowered from {before} to {quantity}",
            line_id=line_id,
            details={"from": before, "to": quantity},
        )
        return DecisionOutcome(
            f"Quantity of {line['sku']} lowered from {before} to {quantity}. Accept or reject the line next.",
            change.status,
            False,
        )
