"""Importing channel orders: idempotent, versioned payloads, review on bad data, one bad order never blocks."""

from __future__ import annotations

import datetime as dt

import pytest

from models.channels.importing import import_orders
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import Channel, Order, RawPayload, ReviewIssue
from models.orders.change import change_order
from models.orders.lifecycle import OrderStatus
from models.orders.queries import OrderFilter, list_orders, status_counts
from tests.conftest import import_one, make_order
from tests.integration.support import (
    counters_match_orders,
    event_kinds,
    open_issue_codes,
    order_events,
    order_lines,
    order_row,
    outbox_for,
    table_counts,
)


async def make_channel(name: str, **fields) -> dict:
    await Channel.insert(Channel(name=name, kind="demo", created_at=now(), **fields))
    return await Channel.select().where(Channel.name == name).first()


PLACED = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def incoming_order(channel_order_id: str, **kwargs):
    """An incoming order with a fixed placement time, so building it twice gives the same payload."""
    kwargs.setdefault("placed_at", PLACED)
    return make_order(channel_order_id, **kwargs)


def batch(n: int, prefix: str = "B") -> list:
    return [make_order(f"{prefix}-{i}", placed_at=PLACED + dt.timedelta(minutes=i)) for i in range(n)]


async def order_id_for(channel: dict, channel_order_id: str) -> int:
    row = (
        await Order.select(Order.id)
        .where((Order.channel == channel["id"]) & (Order.channel_order_id == channel_order_id))
        .first()
    )
    assert row, f"{channel_order_id} was not imported"
    return row["id"]


async def test_new_orders_are_created_with_lines_events_terms_and_raw_payload(channel):
    incoming = incoming_order("MK-1", lines=[("SKU-1", 2, 1990), ("SKU-2", 1, 4500)])
    result = await import_orders(channel, [incoming])
    assert (result.created, result.updated, result.unchanged, result.failed) == (1, 0, 0, [])
    order_id = await order_id_for(channel, "MK-1")
    order = await order_row(order_id)
    assert order["status"] == OrderStatus.AWAITING_ACCEPTANCE
    assert order["version"] == 1
    assert order["total"] == 2 * 1990 + 4500
    assert order["ship_last_name"] == "Dvořák"
    assert order["payment_status"] == "paid"
    lines = await order_lines(order_id)
    assert [(x["sku"], x["quantity"], x["status"]) for x in lines] == [("SKU-1", 2, "pending"), ("SKU-2", 1, "pending")]
    events = await order_events(order_id)
    assert [e["kind"] for e in events] == ["imported"]
    assert events[0]["actor_kind"] == "channel"
    assert events[0]["actor_name"] == channel["name"]
    assert "Awaiting acceptance" in events[0]["message"]
    payloads = await RawPayload.select().where(RawPayload.channel_order_id == "MK-1")
    assert [p["body"] for p in payloads] == [incoming.raw]
    assert await open_issue_codes(order_id) == []


async def test_importing_the_same_orders_twice_changes_nothing(channel):
    orders = batch(5)
    first = await import_orders(channel, orders)
    assert first.created == 5
    counts = await table_counts()
    rows = await Order.select().order_by(Order.id)
    payloads = await RawPayload.select().order_by(RawPayload.id)
    tab_before = await status_counts()

    again = await import_orders(channel, batch(5))  # freshly built, equal payloads
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 5, [])
    assert await table_counts() == counts
    assert await Order.select().order_by(Order.id) == rows  # not even updated_at or version moved
    assert await RawPayload.select().order_by(RawPayload.id) == payloads
    assert await status_counts() == tab_before


async def test_reimport_never_overwrites_local_changes(channel):
    from models.orders.acceptance import accept_order

    order_id = await import_one(channel, incoming_order("MK-2"))
    await accept_order(order_id, Actor.user("operator"))
    before = await order_row(order_id)
    result = await import_orders(channel, [incoming_order("MK-2")])
    assert result.unchanged == 1
    after = await order_row(order_id)
    assert after == before
    assert after["status"] == OrderStatus.AWAITING_FULFILLMENT


async def test_a_changed_payload_is_stored_as_a_new_version(channel):
    order_id = await import_one(channel, incoming_order("MK-3"))
    before = await order_row(order_id)
    changed = incoming_order("MK-3", last_name="Dvořáková")
    changed.channel_status = "SHIPPING"
    changed.raw = repr(changed)

    result = await import_orders(channel, [changed])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    payloads = await RawPayload.select().where(RawPayload.channel_order_id == "MK-3").order_by(RawPayload.id)
    assert len(payloads) == 2
    assert payloads[1]["body"] == changed.raw
    assert payloads[0]["digest"] != payloads[1]["digest"]
    after = await order_row(order_id)
    assert after["channel_status"] == "SHIPPING"
    assert after["channel_status_confirmed_at"] is not None
    # The merchant's copy of the address and the lifecycle are untouched.
    assert after["ship_last_name"] == before["ship_last_name"] == "Dvořák"
    assert after["status"] == before["status"]
    assert await event_kinds(order_id) == ["imported", "channel_update"]
    assert "SHIPPING" in (await order_events(order_id))[-1]["message"]

    # The same new version again is a no-op.
    counts = await table_counts()
    assert (await import_orders(channel, [changed])).unchanged == 1
    assert await table_counts() == counts


async def test_same_order_id_on_two_channels_is_two_orders(channel):
    other = await make_channel("Other shop")
    await import_orders(channel, [incoming_order("SAME-1")])
    await import_orders(other, [incoming_order("SAME-1")])
    assert await Order.count().where(Order.channel_order_id == "SAME-1") == 2


async def test_duplicates_inside_one_batch_become_one_order(channel):
    first = incoming_order("DUP-1", last_name="First")
    last = incoming_order("DUP-1", last_name="Second")
    result = await import_orders(channel, [first, last])
    assert result.created == 1
    order = await order_row(await order_id_for(channel, "DUP-1"))
    assert order["ship_last_name"] == "Second"


@pytest.mark.parametrize(
    ("kwargs", "codes", "reason"),
    [
        ({"last_name": ""}, ["missing_surname"], "Missing surname"),
        ({"street": ""}, ["missing_street"], "Missing street"),
        ({"postcode": "7500"}, ["invalid_postcode"], "expected a format like 75001"),
        ({"country": "XX"}, ["invalid_country"], "Unknown country code"),
        ({"lines": [("SKU-1", 0, 100), ("SKU-2", 1, 100)]}, ["invalid_quantity"], "at least 1"),
        ({"last_name": "", "postcode": "1"}, ["missing_surname", "invalid_postcode"], "Missing surname"),
    ],
)
async def test_invalid_orders_land_in_pending_review_with_reasons(channel, kwargs, codes, reason):
    result = await import_orders(channel, [incoming_order("BAD-1", **kwargs)])
    assert (result.created, result.needs_review) == (1, 1)
    order_id = await order_id_for(channel, "BAD-1")
    assert (await order_row(order_id))["status"] == OrderStatus.PENDING_REVIEW
    assert await open_issue_codes(order_id) == codes
    issues = await ReviewIssue.select().where(ReviewIssue.order == order_id).order_by(ReviewIssue.id)
    assert reason in issues[0]["message"]
    assert all(i["source"] == "validation" for i in issues)
    events = await order_events(order_id)
    assert [e["kind"] for e in events] == ["imported"] + ["review_issue_opened"] * len(codes)
    assert [e["message"] for e in events[1:]] == [i["message"] for i in issues]
    # The red dot counts it.
    assert (await status_counts()).get(OrderStatus.PENDING_REVIEW) == 1


async def test_a_line_problem_points_at_its_line(channel):
    await import_orders(channel, [incoming_order("BAD-2", lines=[("SKU-1", 1, 100), ("SKU-2", -2, 100)])])
    order_id = await order_id_for(channel, "BAD-2")
    lines = await order_lines(order_id)
    issue = await ReviewIssue.select().where(ReviewIssue.order == order_id).first()
    assert issue["order_line"] == lines[1]["id"]
    event = (await order_events(order_id))[-1]
    assert event["order_line"] == lines[1]["id"]


async def test_auto_accept_channel_accepts_on_import_and_tells_the_channel(database_url):
    shop = await make_channel("Auto marketplace", auto_accept=True)
    result = await import_orders(shop, [incoming_order("AA-1")])
    assert result.created == 1
    order_id = await order_id_for(shop, "AA-1")
    order = await order_row(order_id)
    assert order["status"] == OrderStatus.AWAITING_FULFILLMENT
    assert order["accepted_at"] is not None
    assert {line["status"] for line in await order_lines(order_id)} == {"accepted"}
    events = await order_events(order_id)
    assert [e["kind"] for e in events] == ["imported", "accepted"]
    assert "auto-accept" in events[1]["message"]
    # The marketplace still expects an answer: the acceptance is queued for it, once.
    outbox = await outbox_for(order_id)
    assert [(m["target_kind"], m["target_id"], m["action"]) for m in outbox] == [("channel", shop["id"], "accept")]
    await import_orders(shop, [incoming_order("AA-1")])
    assert len(await outbox_for(order_id)) == 1


async def test_auto_accept_still_sends_invalid_orders_to_review(database_url):
    shop = await make_channel("Auto marketplace", auto_accept=True)
    await import_orders(shop, [incoming_order("AA-2", last_name="")])
    order_id = await order_id_for(shop, "AA-2")
    assert (await order_row(order_id))["status"] == OrderStatus.PENDING_REVIEW
    assert await open_issue_codes(order_id) == ["missing_surname"]
    assert "accepted" not in await event_kinds(order_id)
    assert await outbox_for(order_id) == []

    # Once fixed, the sale is accepted on the marketplace (the Cubyn ↔ Back Market flow).
    async with change_order(order_id, Actor.user("merchant")) as change:
        await change.resolve_issues(note="address fixed")
    assert (await order_row(order_id))["status"] == OrderStatus.AWAITING_FULFILLMENT
    assert [m["action"] for m in await outbox_for(order_id)] == ["accept"]


async def test_orders_without_acceptance_step_go_straight_to_fulfillment(channel):
    await import_orders(channel, [incoming_order("WS-1", needs_acceptance=False, payment_method="on_account")])
    order_id = await order_id_for(channel, "WS-1")
    order = await order_row(order_id)
    assert order["status"] == OrderStatus.AWAITING_FULFILLMENT
    assert order["payment_status"] == "unpaid"
    assert await event_kinds(order_id) == ["imported"]
    assert await outbox_for(order_id) == []


async def test_imported_orders_are_searchable_and_counted(channel):
    await import_orders(channel, [*batch(3), incoming_order("REV-1", postcode="x")])
    found = await list_orders(OrderFilter(q="dvorak"))
    assert len(found.rows) == 4
    by_sku = await list_orders(OrderFilter(q="sku-2"))
    assert len(by_sku.rows) == 4
    by_id = await list_orders(OrderFilter(q="REV-1"))
    assert [r["channel_order_id"] for r in by_id.rows] == ["REV-1"]
    counters, scanned = await counters_match_orders()
    assert (
        counters
        == scanned
        == {
            (channel["id"], "awaiting_acceptance"): 3,
            (channel["id"], "pending_review"): 1,
        }
    )


def unstorable_price(order_id: str):
    """A connector that mis-parses a price (e.g. a decimal string with its separators dropped)."""
    return incoming_order(order_id, lines=[("SKU-1", 1, 10**19)])


async def test_one_bad_order_does_not_block_the_others(channel):
    good = batch(4, "OK")
    bad = unstorable_price("BROKEN-1")
    result = await import_orders(channel, [*good[:2], bad, *good[2:]])
    assert result.created == 4
    assert [order_id for order_id, _ in result.failed] == ["BROKEN-1"]
    assert "could not be stored" in result.failed[0][1]
    assert "1 failed" in result.summary()
    assert await Order.count() == 4
    assert not await Order.exists().where(Order.channel_order_id == "BROKEN-1")
    # Nothing half-written for the broken order.
    assert not await RawPayload.exists().where(RawPayload.channel_order_id == "BROKEN-1")
    counters, scanned = await counters_match_orders()
    assert counters == scanned == {(channel["id"], "awaiting_acceptance"): 4}
    # The good ones are complete.
    for incoming in good:
        order_id = await order_id_for(channel, incoming.channel_order_id)
        assert len(await order_lines(order_id)) == 2
        assert await event_kinds(order_id) == ["imported"]


async def test_a_bad_order_among_known_orders_does_not_block_updates(channel):
    await import_orders(channel, batch(2, "K"))
    changed = batch(2, "K")
    for order in changed:
        order.channel_status = "SHIPPING"
        order.raw = repr(order)
    result = await import_orders(channel, [*changed, unstorable_price("BROKEN-2")])
    assert (result.created, result.updated, len(result.failed)) == (0, 2, 1)
    assert await Order.count().where(Order.channel_status == "SHIPPING") == 2


async def test_an_over_long_identifier_fails_alone_with_the_reason(channel):
    too_long = incoming_order("LONG-1", lines=[("S" * 150, 1, 100)])
    result = await import_orders(channel, [*batch(2, "P"), too_long])
    assert result.created == 2
    assert result.failed == [("LONG-1", f"its SKU “{'S' * 40}…” is 150 characters long; Waybill stores at most 100.")]
    assert not await Order.exists().where(Order.channel_order_id == "LONG-1")


async def test_over_long_free_text_is_cut_to_fit_its_column(channel):
    long_name = "Ä" * 5_000
    await import_orders(channel, [incoming_order("LONGTEXT-1", last_name=long_name)])
    order = await order_row(await order_id_for(channel, "LONGTEXT-1"))
    assert order["ship_last_name"] == "Ä" * 200


async def test_text_is_stored_exactly_as_received(channel):
    hostile = incoming_order("XSS-1", last_name="<script>alert(1)</script>", first_name="Ünïcödé 😀")
    await import_orders(channel, [hostile])
    order = await order_row(await order_id_for(channel, "XSS-1"))
    assert order["ship_last_name"] == "<script>alert(1)</script>"
    assert order["customer_first_name"] == "Ünïcödé 😀"
