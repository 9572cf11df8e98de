"""Domain operations on orders: each one transition, audit events, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import pytest

from models.core.actors import Actor
from models.core.app_settings import merchant_timezone
from models.core.clock import now
from models.core.errors import Conflict, DomainError, FieldErrors, NotFound, OrderFinal
from models.db.tables import Carrier, Event, Order, OutboxMessage, ReviewIssue, Shipment, ShipmentLine, SupplierOrder
from models.fulfilment.shipping import add_shipment, add_tracking
from models.orders.acceptance import accept_order, decide_line, edit_line_quantity, reject_order
from models.orders.closing import (
    cancel_order,
    mark_delivered,
    mark_paid,
    mark_returned,
    mark_sent_to_supplier,
    send_to_review,
)
from models.orders.edits import edit_address, set_line_quantity
from models.orders.lifecycle import TRANSITIONS, OrderStatus, TransitionRefused
from models.orders.queries import OrderFilter, list_orders
from models.suppliers.dispatch import create_supplier_order, process_order
from tests.conftest import import_one, make_order
from tests.integration.support import (
    add_supplier,
    counters_match_orders,
    event_kinds,
    open_issue_codes,
    order_events,
    order_lines,
    order_row,
    outbox_for,
    shipped_quantity,
)

S = OrderStatus
OPERATOR = Actor.user("operator")
ADDRESS = {
    "ship_first_name": "Zoë",
    "ship_last_name": "Novák",
    "ship_street1": "1 rue Neuve",
    "ship_postcode": "75002",
    "ship_city": "Paris",
    "ship_country": "FR",
}


async def change_status_for_test(order_id: int, status: OrderStatus) -> None:
    """Put an order in a status no operation leads to from here (e.g. a review opened by a job)."""
    await Order.update({Order.status: status.value}).where(Order.id == order_id)


# Building orders in each status through the operations themselves -------------------------------


async def new_order(channel, name: str = "OP-1", **kwargs) -> int:
    kwargs.setdefault("lines", [("SKU-1", 2, 1990), ("SKU-2", 1, 4500)])
    return await import_one(channel, make_order(name, **kwargs))


async def line_ids(order_id: int) -> list[int]:
    return [line["id"] for line in await order_lines(order_id)]


async def ship_all(order_id: int) -> None:
    lines = await order_lines(order_id)
    await add_shipment(
        order_id,
        {line["id"]: line["quantity"] - await shipped_quantity(line["id"]) for line in lines},
        OPERATOR,
        no_tracking=True,
    )


async def order_in(channel, status: OrderStatus, name: str = "OP-1", **kwargs) -> int:
    if status == S.PENDING_REVIEW:
        return await new_order(channel, name, last_name="", **kwargs)
    order_id = await new_order(channel, name, **kwargs)
    if status == S.AWAITING_ACCEPTANCE:
        return order_id
    if status == S.REJECTED:
        await reject_order(order_id, OPERATOR, "out_of_stock")
        return order_id
    if status == S.CANCELLED:
        await cancel_order(order_id, OPERATOR, "customer asked")
        return order_id
    await accept_order(order_id, OPERATOR)
    if status == S.AWAITING_FULFILLMENT:
        return order_id
    if status == S.PROCESSING:
        await mark_sent_to_supplier(order_id, Actor.job("dispatch"))
        return order_id
    first = (await line_ids(order_id))[0]
    await add_shipment(order_id, {first: 1}, OPERATOR, no_tracking=True)
    if status == S.PARTIALLY_SHIPPED:
        return order_id
    await ship_all(order_id)
    if status == S.SHIPPED:
        return order_id
    if status == S.DELIVERED:
        await mark_delivered(order_id, now(), OPERATOR)
        return order_id
    if status == S.RETURNED:
        await mark_returned(order_id, OPERATOR, "parcel refused")
        return order_id
    raise AssertionError(status)


async def snapshot(order_id: int) -> dict:
    """Everything an operation on one order may write."""
    return {
        "order": await order_row(order_id),
        "lines": await order_lines(order_id),
        "events": await order_events(order_id),
        "issues": await ReviewIssue.select().where(ReviewIssue.order == order_id).order_by(ReviewIssue.id),
        "outbox": await outbox_for(order_id),
        "shipments": await Shipment.select().where(Shipment.order == order_id).order_by(Shipment.id),
        "shipment_lines": await ShipmentLine.count(),
    }


@pytest.mark.parametrize("status", list(OrderStatus), ids=str)
async def test_orders_can_be_brought_into_every_status(channel, status):
    order_id = await order_in(channel, status)
    assert (await order_row(order_id))["status"] == status
    counters, scanned = await counters_match_orders()
    assert counters == scanned


# The matrix: every operation from every status is either applied or refused without a trace ----

Operation = Callable[[int], Awaitable[object]]


async def op_accept(order_id: int) -> None:
    await accept_order(order_id, OPERATOR)


async def op_reject(order_id: int) -> None:
    await reject_order(order_id, OPERATOR, "price_error")


async def op_decide_line(order_id: int) -> None:
    await decide_line(order_id, (await line_ids(order_id))[0], True, OPERATOR)


async def op_edit_quantity(order_id: int) -> None:
    await edit_line_quantity(order_id, (await line_ids(order_id))[0], 1, OPERATOR)


async def op_ship_one(order_id: int) -> None:
    await add_shipment(order_id, {(await line_ids(order_id))[1]: 1}, OPERATOR, no_tracking=True)


async def op_deliver(order_id: int) -> None:
    await mark_delivered(order_id, now(), OPERATOR)


async def op_return(order_id: int) -> None:
    await mark_returned(order_id, OPERATOR, "undeliverable")


async def op_cancel(order_id: int) -> None:
    await cancel_order(order_id, OPERATOR, "customer asked")


async def op_send_to_review(order_id: int) -> None:
    await send_to_review(order_id, "wallet_insufficient", "Insufficient wallet balance", Actor("supplier", "BigBuy"))


OPERATIONS: dict[str, tuple[Operation, set[OrderStatus]]] = {
    "accept": (op_accept, {S.AWAITING_ACCEPTANCE}),
    "reject": (op_reject, {S.AWAITING_ACCEPTANCE}),
    "decide_line": (op_decide_line, {S.AWAITING_ACCEPTANCE}),
    "edit_quantity": (op_edit_quantity, {S.AWAITING_ACCEPTANCE}),
    # The second line (quantity 1) is still unshipped in a partially shipped order.
    "add_shipment": (op_ship_one, {S.AWAITING_FULFILLMENT, S.PROCESSING, S.PARTIALLY_SHIPPED}),
    "deliver": (op_deliver, {S.SHIPPED}),
    "return": (op_return, {S.SHIPPED}),
    "cancel": (op_cancel, {S.PENDING_REVIEW, S.AWAITING_ACCEPTANCE, S.AWAITING_FULFILLMENT, S.PROCESSING}),
    # An order already in review may collect a further reason.
    "send_to_review": (
        op_send_to_review,
        {S.PENDING_REVIEW} | {src for src, dst in TRANSITIONS if dst == S.PENDING_REVIEW},
    ),
}

MATRIX = [(name, status) for name in OPERATIONS for status in OrderStatus]


@pytest.mark.parametrize(("name", "status"), MATRIX, ids=[f"{n}-from-{s.value}" for n, s in MATRIX])
async def test_operation_from_status(channel, name, status):
    operation, allowed_from = OPERATIONS[name]
    order_id = await order_in(channel, status)
    before = await snapshot(order_id)
    if status in allowed_from:
        await operation(order_id)
        after = await order_row(order_id)
        assert after["version"] == before["order"]["version"] + 1
        new_events = (await order_events(order_id))[len(before["events"]) :]
        assert new_events, "every change writes at least one audit event"
        assert all(e["actor_kind"] in ("user", "supplier") for e in new_events)
    else:
        with pytest.raises((TransitionRefused, DomainError)) as refused:
            await operation(order_id)
        message = str(refused.value)
        assert message and message[0].isupper() and message.endswith("."), message
        assert await snapshot(order_id) == before, "a refused operation must change nothing"
    counters, scanned = await counters_match_orders()
    assert counters == scanned


# Acceptance ----------------------------------------------------------------------------------------


async def test_accept_order(channel):
    order_id = await new_order(channel)
    await accept_order(order_id, OPERATOR, expected_version=1)
    order = await order_row(order_id)
    assert order["status"] == S.AWAITING_FULFILLMENT
    assert order["version"] == 2
    assert order["accepted_at"] is not None
    assert {line["status"] for line in await order_lines(order_id)} == {"accepted"}
    events = await order_events(order_id)
    assert [e["kind"] for e in events] == ["imported", "line_accepted", "line_accepted", "status_changed"]
    assert events[-1]["message"] == "Status changed from Awaiting acceptance to Awaiting fulfillment"
    assert {(e["actor_kind"], e["actor_name"]) for e in events[1:]} == {("user", "operator")}
    assert [e["order_line"] for e in events[1:3]] == await line_ids(order_id)
    (message,) = await outbox_for(order_id)
    assert (message["target_kind"], message["action"]) == ("channel", "accept")
    assert message["idempotency_key"] == f"channel:{channel['id']}:OP-1:accept"


async def test_accept_with_a_stale_version_is_a_conflict(channel):
    order_id = await new_order(channel)
    await edit_line_quantity(order_id, (await line_ids(order_id))[0], 1, Actor.user("alice"))
    before = await snapshot(order_id)
    with pytest.raises(Conflict) as conflict:
        await accept_order(order_id, OPERATOR, expected_version=1)
    assert "changed by alice" in conflict.value.message
    assert "Nothing was saved" in conflict.value.message
    assert await snapshot(order_id) == before


async def test_unknown_order_is_not_found(database_url):
    with pytest.raises(NotFound, match="Order 999 does not exist"):
        await accept_order(999, OPERATOR)


async def test_reject_order_with_reason(channel):
    order_id = await new_order(channel)
    await reject_order(order_id, OPERATOR, "out_of_stock")
    order = await order_row(order_id)
    assert order["status"] == S.REJECTED
    assert order["closed_at"] is not None
    lines = await order_lines(order_id)
    assert {(line["status"], line["rejection_reason"]) for line in lines} == {("rejected", "Out of stock")}
    assert await event_kinds(order_id) == ["imported", "line_rejected", "line_rejected", "status_changed"]
    assert "Out of stock" in (await order_events(order_id))[1]["message"]
    (message,) = await outbox_for(order_id)
    assert '"accepted": false' in str(message["payload"]).replace("False", "false")


async def test_reject_with_other_reason_needs_a_text(channel):
    order_id = await new_order(channel)
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as errors:
        await reject_order(order_id, OPERATOR, "other", "  ")
    assert errors.value.errors == {"reason_text": "Describe the reason for rejecting."}
    with pytest.raises(FieldErrors) as errors:
        await reject_order(order_id, OPERATOR, "because")
    assert "reason" in errors.value.errors
    assert await snapshot(order_id) == before
    await reject_order(order_id, OPERATOR, "other", "Discontinued product")
    assert {line["rejection_reason"] for line in await order_lines(order_id)} == {"Discontinued product"}


async def test_decide_lines_one_by_one(channel):
    order_id = await new_order(channel)
    first, second = await line_ids(order_id)
    await decide_line(order_id, first, True, OPERATOR)
    assert (await order_row(order_id))["status"] == S.AWAITING_ACCEPTANCE  # a line is still pending
    assert await outbox_for(order_id) == []  # the channel hears once every line is decided
    await decide_line(order_id, second, False, OPERATOR, reason="cannot_ship_to_address")
    order = await order_row(order_id)
    assert order["status"] == S.AWAITING_FULFILLMENT
    assert order["version"] == 3
    assert [(x["status"], x["rejection_reason"]) for x in await order_lines(order_id)] == [
        ("accepted", ""),
        ("rejected", "Cannot ship to this address"),
    ]
    assert await event_kinds(order_id) == ["imported", "line_accepted", "line_rejected", "status_changed"]
    (message,) = await outbox_for(order_id)
    assert message["action"] == "accept"


async def test_rejecting_every_line_rejects_the_order(channel):
    order_id = await new_order(channel)
    for line_id in await line_ids(order_id):
        await decide_line(order_id, line_id, False, OPERATOR, reason="out_of_stock")
    assert (await order_row(order_id))["status"] == S.REJECTED


async def test_a_decided_line_cannot_be_decided_again(channel):
    order_id = await new_order(channel)
    first, _ = await line_ids(order_id)
    await decide_line(order_id, first, True, OPERATOR)
    before = await snapshot(order_id)
    with pytest.raises(Conflict, match=r"Line SKU-1 was already accepted by operator\. Nothing changed\."):
        await decide_line(order_id, first, False, OPERATOR, reason="out_of_stock")
    assert await snapshot(order_id) == before


async def test_a_line_of_another_order_is_not_found(channel):
    order_id = await new_order(channel, "OP-1")
    other_id = await new_order(channel, "OP-2")
    before = await snapshot(order_id)
    with pytest.raises(NotFound, match="is not part of order OP-1"):
        await decide_line(order_id, (await line_ids(other_id))[0], True, OPERATOR)
    assert await snapshot(order_id) == before


async def test_edit_line_quantity(channel):
    order_id = await new_order(channel)
    first, _ = await line_ids(order_id)
    await edit_line_quantity(order_id, first, 1, OPERATOR)
    assert (await order_lines(order_id))[0]["quantity"] == 1
    event = (await order_events(order_id))[-1]
    assert (event["kind"], event["order_line"]) == ("line_quantity_changed", first)
    assert event["message"] == "Quantity of SKU-1 lowered from 2 to 1"


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "A quantity must be at least 1; reject the line instead."),
        (-1, "A quantity must be at least 1; reject the line instead."),
        (3, "At most 2: a quantity can only be lowered, not raised."),
        (100, "At most 2: a quantity can only be lowered, not raised."),
    ],
)
async def test_edit_line_quantity_refuses_out_of_range(channel, quantity, message):
    order_id = await new_order(channel)
    first, _ = await line_ids(order_id)
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as errors:
        await edit_line_quantity(order_id, first, quantity, OPERATOR)
    assert errors.value.errors == {"quantity": message}
    assert await snapshot(order_id) == before


async def test_edit_quantity_of_a_decided_line_is_refused(channel):
    order_id = await new_order(channel)
    first, _ = await line_ids(order_id)
    await decide_line(order_id, first, True, OPERATOR)
    before = await snapshot(order_id)
    with pytest.raises(Conflict, match="SKU-1 was already accepted by operator; its quantity can no longer change"):
        await edit_line_quantity(order_id, first, 1, OPERATOR)
    assert await snapshot(order_id) == before


# Shipping -----------------------------------------------------------------------------------------


@pytest.fixture
async def carrier(database_url) -> dict:
    await Carrier.insert(
        Carrier(
            name="DHL",
            code="dhl",
            tracking_url_pattern="https://track.example/{tracking}",
            tracking_number_pattern=r"\d{10}",
        )
    )
    return await Carrier.select().where(Carrier.name == "DHL").first()


async def test_split_shipments(channel, carrier):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    shipment_1 = await add_shipment(
        order_id, {first: 1}, OPERATOR, carrier_id=carrier["id"], tracking_number="1234567890"
    )
    order = await order_row(order_id)
    assert order["status"] == S.PARTIALLY_SHIPPED
    assert order["shipped_at"] is None
    shipment_2 = await add_shipment(
        order_id, {first: 1, second: 1}, OPERATOR, carrier_id=carrier["id"], tracking_number=" 0987654321 "
    )
    order = await order_row(order_id)
    assert order["status"] == S.SHIPPED
    assert order["shipped_at"] is not None
    shipments = await Shipment.select().where(Shipment.order == order_id).order_by(Shipment.id)
    assert [s["id"] for s in shipments] == [shipment_1, shipment_2]
    assert [s["tracking_number"] for s in shipments] == ["1234567890", "0987654321"]
    assert shipments[1]["tracking_url"] == "https://track.example/0987654321"
    assert shipments[0]["carrier_name"] == "DHL"
    assert await shipped_quantity(first) == 2
    assert await shipped_quantity(second) == 1
    kinds = await event_kinds(order_id)
    assert kinds[-4:] == ["shipment_added", "status_changed", "shipment_added", "status_changed"]
    assert "DHL 1234567890" in (await order_events(order_id))[-4]["message"]
    # Tracking numbers are searchable.
    found = await list_orders(OrderFilter(q="0987654321"))
    assert [row["id"] for row in found.rows] == [order_id]


async def test_a_shipment_never_holds_more_than_the_accepted_quantity(channel):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as errors:
        await add_shipment(order_id, {first: 3}, OPERATOR, no_tracking=True)
    assert errors.value.message == "A shipment can never hold more than the accepted quantity."
    assert errors.value.errors == {f"qty_{first}": "SKU-1: at most 2 left to ship."}
    assert await snapshot(order_id) == before

    await add_shipment(order_id, {first: 2}, OPERATOR, no_tracking=True)
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as errors:
        await add_shipment(order_id, {first: 1, second: 1}, OPERATOR, no_tracking=True)
    assert errors.value.errors == {f"qty_{first}": "SKU-1: at most 0 left to ship."}
    assert await snapshot(order_id) == before, "the valid line of a refused parcel is not recorded either"


async def test_negative_quantities_are_refused(channel):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors):
        await add_shipment(order_id, {first: -1, second: 1}, OPERATOR, no_tracking=True)
    assert await snapshot(order_id) == before


async def test_a_rejected_line_cannot_be_shipped(channel):
    order_id = await new_order(channel)
    first, second = await line_ids(order_id)
    await decide_line(order_id, first, True, OPERATOR)
    await decide_line(order_id, second, False, OPERATOR, reason="out_of_stock")
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match="Line SKU-2 is rejected and cannot be shipped"):
        await add_shipment(order_id, {second: 1}, OPERATOR, no_tracking=True)
    assert await snapshot(order_id) == before
    # Shipping all accepted quantity ships the order; the rejected line does not count.
    await add_shipment(order_id, {first: 2}, OPERATOR, no_tracking=True)
    assert (await order_row(order_id))["status"] == S.SHIPPED


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "tracking_number"),
        ({"tracking_number": "1234567890"}, "carrier"),
        ({"tracking_number": "ABC", "with_carrier": True}, "tracking_number"),
        ({"carrier_id": 9999, "tracking_number": "1234567890"}, "carrier"),
    ],
)
async def test_tracking_input_is_checked(channel, carrier, kwargs, field):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, _ = await line_ids(order_id)
    if kwargs.pop("with_carrier", False):
        kwargs["carrier_id"] = carrier["id"]
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as errors:
        await add_shipment(order_id, {first: 1}, OPERATOR, **kwargs)
    assert field in errors.value.errors
    assert await snapshot(order_id) == before


async def test_empty_shipment_is_refused(channel):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, _ = await line_ids(order_id)
    with pytest.raises(FieldErrors) as errors:
        await add_shipment(order_id, {first: 0}, OPERATOR, no_tracking=True)
    assert "quantities" in errors.value.errors


# Delivery, return, cancel, payment -------------------------------------------------------------


async def test_mark_delivered_records_the_date(channel):
    order_id = await order_in(channel, S.SHIPPED)
    delivered_on = now()  # just after it shipped (a minute earlier would be the day before, near midnight)
    await mark_delivered(order_id, delivered_on, OPERATOR)
    order = await order_row(order_id)
    assert order["status"] == S.DELIVERED
    assert abs(order["delivered_at"] - delivered_on) < dt.timedelta(seconds=1)
    kinds = await event_kinds(order_id)
    assert kinds[-2:] == ["status_changed", "delivered"]
    local_day = delivered_on.astimezone(await merchant_timezone()).strftime("%d %b %Y")
    assert (await order_events(order_id))[-1]["message"] == f"Marked as delivered on {local_day}"
    message = next(m for m in await outbox_for(order_id) if m["action"] == "delivered")
    assert message["target_kind"] == "channel"
    assert message["idempotency_key"] == f"channel:{channel['id']}:OP-1:delivered"


async def test_a_delivery_day_is_recorded_in_the_merchants_time_zone(channel):
    order_id = await order_in(channel, S.SHIPPED)
    tz = await merchant_timezone()
    today = now().astimezone(tz).date()
    at = await mark_delivered(order_id, today, OPERATOR)
    order = await order_row(order_id)
    assert order["delivered_at"] == at
    assert at.astimezone(tz).date() == today
    assert order["shipped_at"] <= at <= now(), "between shipping and now"


async def test_delivery_date_cannot_be_in_the_future(channel):
    order_id = await order_in(channel, S.SHIPPED)
    before = await snapshot(order_id)
    for future in (now() + dt.timedelta(days=2), (now() + dt.timedelta(days=2)).date()):
        with pytest.raises(FieldErrors) as errors:
            await mark_delivered(order_id, future, OPERATOR)
        assert errors.value.errors == {"delivered_at": "The delivery date cannot be in the future."}
    assert await snapshot(order_id) == before


async def test_delivery_date_cannot_be_before_shipping(channel):
    order_id = await order_in(channel, S.SHIPPED)
    before = await snapshot(order_id)
    tz = await merchant_timezone()
    shipped_day = before["order"]["shipped_at"].astimezone(tz).strftime("%d %b %Y")
    for early in (now() - dt.timedelta(days=3), (now() - dt.timedelta(days=3)).astimezone(tz).date()):
        with pytest.raises(FieldErrors) as errors:
            await mark_delivered(order_id, early, OPERATOR)
        assert errors.value.errors == {
            "delivered_at": f"The delivery date cannot be before the order shipped ({shipped_day})."
        }
    assert await snapshot(order_id) == before


async def test_a_refused_step_explains_itself_before_a_stale_version(channel):
    order_id = await order_in(channel, S.PROCESSING)
    version = (await order_row(order_id))["version"]
    await ship_all(order_id)
    with pytest.raises(DomainError, match="Cancel order is not possible while the order is shipped"):
        await cancel_order(order_id, OPERATOR, "customer asked", expected_version=version)
    with pytest.raises(Conflict):
        await mark_delivered(order_id, now(), OPERATOR, expected_version=version)


async def test_naive_delivery_date_is_taken_as_utc(channel):
    order_id = await order_in(channel, S.SHIPPED)
    await mark_delivered(order_id, now().replace(tzinfo=None), OPERATOR)
    assert (await order_row(order_id))["status"] == S.DELIVERED


async def test_delivered_is_final(channel):
    """Every operation, present and future, is refused on a delivered order: the guard is in change_order."""
    order_id = await order_in(channel, S.DELIVERED, payment_method="on_account")
    before = await snapshot(order_id)
    lines = await line_ids(order_id)
    for attempt in (
        lambda: mark_delivered(order_id, now(), OPERATOR),
        lambda: mark_returned(order_id, OPERATOR),
        lambda: cancel_order(order_id, OPERATOR, "customer asked"),
        lambda: mark_paid(order_id, OPERATOR),
        lambda: edit_address(order_id, ADDRESS, OPERATOR),
        lambda: set_line_quantity(order_id, lines[0], 1, OPERATOR),
        lambda: add_shipment(order_id, {lines[0]: 1}, OPERATOR, no_tracking=True),
        lambda: send_to_review(order_id, "address_error", "Address error", Actor("supplier", "BigBuy")),
        lambda: process_order(order_id, OPERATOR),
    ):
        with pytest.raises(OrderFinal) as refused:
            await attempt()
        assert "OP-1 was delivered on " in refused.value.message
        assert "A delivered order is final: nothing about it can change any more." in refused.value.message
    assert await snapshot(order_id) == before, "the delivery date of a delivered order never changes"


async def test_mark_returned(channel):
    order_id = await order_in(channel, S.SHIPPED)
    await mark_returned(order_id, OPERATOR, "address unknown")
    order = await order_row(order_id)
    assert order["status"] == S.RETURNED
    assert order["closed_at"] is not None
    last = (await order_events(order_id))[-1]
    assert last["message"] == "Status changed from Shipped to Returned: address unknown"
    message = next(m for m in await outbox_for(order_id) if m["action"] == "returned")
    assert message["target_kind"] == "channel"
    before = await snapshot(order_id)
    with pytest.raises(TransitionRefused):
        await mark_returned(order_id, OPERATOR, "again")
    assert await snapshot(order_id) == before


@pytest.mark.parametrize("status", [S.PROCESSING, S.PARTIALLY_SHIPPED, S.DELIVERED])
async def test_returned_only_from_shipped(channel, status):
    order_id = await order_in(channel, status)
    before = await snapshot(order_id)
    with pytest.raises(DomainError):
        await mark_returned(order_id, OPERATOR, "came back")
    assert await snapshot(order_id) == before


@pytest.mark.parametrize("status", [S.PENDING_REVIEW, S.AWAITING_ACCEPTANCE, S.AWAITING_FULFILLMENT, S.PROCESSING])
async def test_cancel_up_to_processing(channel, status):
    order_id = await order_in(channel, status)
    await cancel_order(order_id, OPERATOR, "customer asked")
    order = await order_row(order_id)
    assert order["status"] == S.CANCELLED
    assert order["closed_at"] is not None
    assert {line["status"] for line in await order_lines(order_id)} == {"cancelled"}
    assert await open_issue_codes(order_id) == []
    events = await order_events(order_id)
    changed = [e for e in events if e["kind"] == "status_changed"][-1]
    assert changed["message"].endswith("to Cancelled: customer asked")
    if status == S.PENDING_REVIEW:
        assert "review_issue_resolved" in await event_kinds(order_id)
    before = await snapshot(order_id)
    with pytest.raises(TransitionRefused):
        await cancel_order(order_id, OPERATOR, "twice")
    assert await snapshot(order_id) == before


@pytest.mark.parametrize("status", [S.PARTIALLY_SHIPPED, S.SHIPPED])
async def test_no_cancel_once_anything_shipped(channel, status):
    order_id = await order_in(channel, status)
    before = await snapshot(order_id)
    with pytest.raises(TransitionRefused, match="Cancel order is not possible while the order is"):
        await cancel_order(order_id, OPERATOR, "customer asked")
    assert await snapshot(order_id) == before


async def test_no_cancel_of_an_order_in_review_with_a_shipped_parcel(channel):
    order_id = await order_in(channel, S.PARTIALLY_SHIPPED)
    await change_status_for_test(order_id, S.PENDING_REVIEW)
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match="part of this order has already shipped"):
        await cancel_order(order_id, OPERATOR, "customer asked")
    assert await snapshot(order_id) == before


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
async def test_cancel_needs_a_reason(channel, reason):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as errors:
        await cancel_order(order_id, OPERATOR, reason)
    assert list(errors.value.errors) == ["reason"]
    assert await snapshot(order_id) == before


async def test_cancel_tells_the_channel_and_the_suppliers_holding_the_order(channel):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    supplier = await add_supplier("Warehouse", "shipbob", "http://127.0.0.1:9/sandbox/shipbob", {"token": "t"})
    other = await add_supplier("Dropship", "bigbuy", "http://127.0.0.1:9/sandbox/bigbuy", {"api_key": "k"})
    refused = await add_supplier("Refused", "bigbuy", "http://127.0.0.1:9/sandbox/bigbuy", {"api_key": "k"})
    await create_supplier_order(order_id, supplier, "processed", "Created", supplier_order_id="77")
    await create_supplier_order(order_id, other, "pending", "Waiting to be sent")
    await create_supplier_order(order_id, refused, "failed", "Insufficient wallet balance")
    asked = await cancel_order(order_id, OPERATOR, "customer asked")
    rows = {r["supplier"]: r for r in await SupplierOrder.select().where(SupplierOrder.order == order_id)}
    assert sorted(asked) == sorted([rows[supplier]["id"], rows[other]["id"]])
    assert rows[refused]["status"] == "cancelled", "never reached the supplier: cancelled here only"
    assert rows[supplier]["status"] == "processed", "cancelled once the supplier confirms"
    assert rows[supplier]["last_message"] == "Waiting to be cancelled"
    messages = {(m["target_kind"], m["target_id"], m["action"]) for m in await outbox_for(order_id)}
    assert ("supplier", supplier, "cancel") in messages
    assert ("supplier", other, "cancel") in messages
    assert ("supplier", refused, "cancel") not in messages
    assert ("channel", channel["id"], "cancel") in messages
    assert "Cancelling at Warehouse, Dropship" in [e["message"] for e in await order_events(order_id)]


async def test_cancel_removes_parcels_ready_to_ship(channel):
    order_id = await order_in(channel, S.PROCESSING)
    first = (await line_ids(order_id))[0]
    await add_tracking(order_id, {first: 1}, OPERATOR, no_tracking=True)
    await cancel_order(order_id, OPERATOR, "customer asked")
    assert (await order_row(order_id))["status"] == S.CANCELLED
    assert not await Shipment.exists().where(Shipment.order == order_id)
    assert "Parcels ready to ship removed, the order is cancelled (no tracking)" in [
        e["message"] for e in await order_events(order_id)
    ]


async def test_cancel_is_refused_once_a_supplier_shipped_its_part(channel):
    order_id = await order_in(channel, S.PROCESSING)
    supplier = await add_supplier("Warehouse", "shipbob", "http://127.0.0.1:9/sandbox/shipbob", {"token": "t"})
    await create_supplier_order(order_id, supplier, "shipped", "Completed", supplier_order_id="77")
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match="Warehouse already shipped its part of the order"):
        await cancel_order(order_id, OPERATOR, "customer asked")
    assert await snapshot(order_id) == before


async def test_mark_paid_for_orders_on_account(channel):
    order_id = await new_order(channel, payment_method="on_account")
    assert (await order_row(order_id))["payment_status"] == "unpaid"
    await mark_paid(order_id, OPERATOR)
    order = await order_row(order_id)
    assert order["payment_status"] == "paid"
    assert order["status"] == S.AWAITING_ACCEPTANCE  # a separate axis
    assert (await order_events(order_id))[-1]["message"] == "Marked as paid"
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match="already paid"):
        await mark_paid(order_id, OPERATOR)
    assert await snapshot(order_id) == before


async def test_card_orders_arrive_paid(channel):
    order_id = await new_order(channel)
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match="already paid"):
        await mark_paid(order_id, OPERATOR)
    assert await snapshot(order_id) == before


@pytest.mark.parametrize("status", [S.CANCELLED, S.RETURNED, S.REJECTED])
async def test_a_closed_order_is_not_marked_paid(channel, status):
    order_id = await order_in(channel, status, payment_method="on_account")
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match="Mark as paid is not possible: the order is"):
        await mark_paid(order_id, OPERATOR)
    assert await snapshot(order_id) == before


async def test_mark_paid_with_a_stale_version_is_a_conflict(channel):
    order_id = await new_order(channel, payment_method="on_account")
    await accept_order(order_id, OPERATOR)
    with pytest.raises(Conflict):
        await mark_paid(order_id, OPERATOR, expected_version=1)
    await mark_paid(order_id, OPERATOR, expected_version=2)
    assert (await order_row(order_id))["payment_status"] == "paid"


# Review --------------------------------------------------------------------------------------------


async def test_send_to_review_and_resolve(channel):
    from models.orders.change import change_order

    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    supplier = Actor("supplier", "BigBuy")
    await send_to_review(order_id, "wallet_insufficient", "Insufficient wallet balance", supplier)
    assert (await order_row(order_id))["status"] == S.PENDING_REVIEW
    assert await open_issue_codes(order_id) == ["wallet_insufficient"]
    issue_event = [e for e in await order_events(order_id) if e["kind"] == "review_issue_opened"][-1]
    assert (issue_event["actor_kind"], issue_event["actor_name"]) == ("supplier", "BigBuy")
    # The same reason twice is one open issue.
    await send_to_review(order_id, "wallet_insufficient", "Insufficient wallet balance", supplier)
    assert await open_issue_codes(order_id) == ["wallet_insufficient"]

    async with change_order(order_id, OPERATOR) as change:
        assert await change.resolve_issues() == 1
    assert (await order_row(order_id))["status"] == S.AWAITING_FULFILLMENT
    assert await open_issue_codes(order_id) == []
    assert await event_kinds(order_id) == [
        "imported",
        "line_accepted",
        "line_accepted",
        "status_changed",
        "review_issue_opened",
        "status_changed",
        "review_issue_resolved",
        "status_changed",
    ]


async def test_resolving_one_of_two_issues_keeps_the_order_in_review(channel):
    from models.orders.change import change_order

    order_id = await new_order(channel, last_name="", postcode="1")
    assert await open_issue_codes(order_id) == ["missing_surname", "invalid_postcode"]
    async with change_order(order_id, OPERATOR) as change:
        await change.resolve_issues({"missing_surname"})
    assert (await order_row(order_id))["status"] == S.PENDING_REVIEW
    async with change_order(order_id, OPERATOR) as change:
        await change.resolve_issues({"invalid_postcode"})
    assert (await order_row(order_id))["status"] == S.AWAITING_ACCEPTANCE
    resolved = await ReviewIssue.select().where(ReviewIssue.order == order_id)
    assert {r["resolved_by"] for r in resolved} == {"operator"}


async def test_a_failing_operation_leaves_no_partial_writes(channel):
    """An error after some writes inside the transaction rolls all of them back."""
    from models.orders.change import change_order

    order_id = await new_order(channel, last_name="")
    before = await snapshot(order_id)
    events_before = await Event.count()
    outbox_before = await OutboxMessage.count()
    with pytest.raises(RuntimeError):
        async with change_order(order_id, OPERATOR) as change:
            await change.resolve_issues()  # writes review_issue rows immediately
            change.event("note", "about to fail")
            raise RuntimeError("boom")
    assert await snapshot(order_id) == before
    assert await Event.count() == events_before
    assert await OutboxMessage.count() == outbox_before
