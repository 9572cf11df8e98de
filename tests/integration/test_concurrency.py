"""Real concurrency on the real database: one success and clear conflicts, never a lost update.

Every test starts many operations at once with `asyncio.gather`; each runs in its own transaction
on its own connection (SQLite: `BEGIN IMMEDIATE` writers queue; PostgreSQL: `SELECT … FOR UPDATE`).
"""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from models.channels.importing import import_orders
from models.core.actors import Actor
from models.core.errors import Conflict, DomainError, FieldErrors
from models.db.tables import Event, Order, OutboxMessage
from models.fulfilment.shipping import add_shipment
from models.orders.acceptance import accept_order, decide_line, edit_line_quantity, reject_order
from models.orders.closing import cancel_order, mark_returned, mark_sent_to_supplier
from models.orders.lifecycle import OrderStatus
from models.orders.queries import pending_review_count, status_counts
from tests.conftest import import_one, make_order
from tests.integration.support import (
    counters_match_orders,
    event_kinds,
    order_events,
    order_lines,
    order_row,
    outbox_for,
    shipped_quantity,
)

S = OrderStatus
CONCURRENCY = 20


def users(n: int = CONCURRENCY) -> list[Actor]:
    return [Actor.user(f"clerk{i}") for i in range(n)]


def outcomes(results: list[object]) -> tuple[int, list[BaseException]]:
    """(number of successes, the exceptions); anything but a domain refusal fails the test."""
    errors = [r for r in results if isinstance(r, BaseException)]
    for error in errors:
        if not isinstance(error, DomainError):
            raise error
    return len(results) - len(errors), errors


async def test_concurrent_accepts_with_the_same_version_give_one_success(channel):
    order_id = await import_one(channel, make_order("CC-1"))
    results = await asyncio.gather(
        *(accept_order(order_id, actor, expected_version=1) for actor in users()), return_exceptions=True
    )
    succeeded, errors = outcomes(results)
    assert succeeded == 1
    assert len(errors) == CONCURRENCY - 1
    assert all(isinstance(e, Conflict) for e in errors), errors
    winner = next(Actor.user(f"clerk{i}") for i, r in enumerate(results) if not isinstance(r, BaseException))
    for error in errors:
        assert f"changed by {winner.name} while you were working on it" in error.message
        assert "Nothing was saved" in error.message
    order = await order_row(order_id)
    assert order["status"] == S.AWAITING_FULFILLMENT
    assert order["version"] == 2
    assert await event_kinds(order_id) == ["imported", "line_accepted", "line_accepted", "status_changed"]
    assert {e["actor_name"] for e in (await order_events(order_id))[1:]} == {winner.name}
    assert len(await outbox_for(order_id)) == 1


async def test_concurrent_accept_and_reject_with_the_same_version(channel):
    order_id = await import_one(channel, make_order("CC-2"))
    actors = users()
    calls = [
        accept_order(order_id, actor, expected_version=1)
        if i % 2
        else reject_order(order_id, actor, "out_of_stock", expected_version=1)
        for i, actor in enumerate(actors)
    ]
    succeeded, errors = outcomes(await asyncio.gather(*calls, return_exceptions=True))
    assert succeeded == 1
    assert all(isinstance(e, Conflict) for e in errors)
    order = await order_row(order_id)
    assert order["status"] in (S.AWAITING_FULFILLMENT, S.REJECTED)
    assert order["version"] == 2
    assert (await event_kinds(order_id)).count("status_changed") == 1
    line_states = {line["status"] for line in await order_lines(order_id)}
    assert line_states == ({"accepted"} if order["status"] == S.AWAITING_FULFILLMENT else {"rejected"})


async def test_concurrent_line_decisions_with_the_same_version(channel):
    order_id = await import_one(channel, make_order("CC-3"))
    first, second = [line["id"] for line in await order_lines(order_id)]
    calls = [
        decide_line(order_id, first if i % 2 else second, bool(i % 3), actor, reason="price_error", expected_version=1)
        for i, actor in enumerate(users())
    ]
    succeeded, errors = outcomes(await asyncio.gather(*calls, return_exceptions=True))
    assert succeeded == 1
    assert len(errors) == CONCURRENCY - 1 and all(isinstance(e, Conflict) for e in errors)
    order = await order_row(order_id)
    assert order["version"] == 2
    assert order["status"] == S.AWAITING_ACCEPTANCE
    decided = [line for line in await order_lines(order_id) if line["status"] != "pending"]
    assert len(decided) == 1
    assert len([k for k in await event_kinds(order_id) if k.startswith("line_")]) == 1


async def test_concurrent_changes_without_a_version_are_never_lost(channel):
    """Two people decide different lines at once: both decisions end up applied, in some order."""
    orders = [
        await import_one(channel, make_order(f"LU-{i}", lines=[("A", 1, 100), ("B", 1, 100), ("C", 1, 100)]))
        for i in range(8)
    ]
    calls = []
    for order_id in orders:
        for line in await order_lines(order_id):
            accept = line["sku"] != "B"
            calls.append(
                decide_line(
                    order_id, line["id"], accept, Actor.user(f"u-{line['sku']}"), reason="other", other_text="no"
                )
            )
    random.Random(7).shuffle(calls)
    succeeded, errors = outcomes(await asyncio.gather(*calls, return_exceptions=True))
    assert errors == []
    assert succeeded == 24
    for order_id in orders:
        lines = await order_lines(order_id)
        assert {(line["sku"], line["status"]) for line in lines} == {
            ("A", "accepted"),
            ("B", "rejected"),
            ("C", "accepted"),
        }
        order = await order_row(order_id)
        assert order["status"] == S.AWAITING_FULFILLMENT
        assert order["version"] == 4
        kinds = await event_kinds(order_id)
        assert sorted(kinds) == sorted(
            ["imported", "line_accepted", "line_accepted", "line_rejected", "status_changed"]
        )
        assert kinds[-1] == "status_changed", "the status follows the last decision"
        (message,) = await outbox_for(order_id)
        assert '"accepted": false' in str(message["payload"]).replace("False", "false")


async def test_same_line_decided_twice_at_once_gives_one_decision_and_one_refusal(channel):
    order_id = await import_one(channel, make_order("LU-X"))
    first, _ = [line["id"] for line in await order_lines(order_id)]
    results = await asyncio.gather(
        decide_line(order_id, first, True, Actor.user("alice")),
        decide_line(order_id, first, False, Actor.user("bob"), reason="out_of_stock"),
        return_exceptions=True,
    )
    succeeded, errors = outcomes(results)
    assert succeeded == 1
    (error,) = errors
    assert isinstance(error, Conflict)
    assert "was already" in error.message
    line = (await order_lines(order_id))[0]
    winner_accepted = not isinstance(results[0], BaseException)
    assert line["status"] == ("accepted" if winner_accepted else "rejected")
    assert (await order_row(order_id))["version"] == 2


async def test_concurrent_shipments_never_exceed_the_accepted_quantity(channel):
    order_id = await import_one(channel, make_order("SH-1", lines=[("A", 3, 100), ("B", 2, 100)]))
    await accept_order(order_id, Actor.user("operator"))
    a, b = [line["id"] for line in await order_lines(order_id)]
    calls = [
        add_shipment(order_id, {a if i % 2 else b: 1}, Actor.user(f"packer{i}"), no_tracking=True)
        for i in range(CONCURRENCY)
    ]
    succeeded, errors = outcomes(await asyncio.gather(*calls, return_exceptions=True))
    assert succeeded == 5
    assert all(isinstance(e, (FieldErrors, DomainError)) for e in errors)
    assert await shipped_quantity(a) == 3
    assert await shipped_quantity(b) == 2
    order = await order_row(order_id)
    assert order["status"] == S.SHIPPED
    assert (await event_kinds(order_id)).count("shipment_added") == 5
    assert order["version"] == 2 + 5


async def test_concurrent_quantity_edit_and_accept_never_mix(channel):
    """Lowering a quantity while someone accepts: either the edit lands first, or it is refused."""
    for attempt in range(5):
        order_id = await import_one(channel, make_order(f"QE-{attempt}"))
        first = (await order_lines(order_id))[0]["id"]
        edit, accept = await asyncio.gather(
            edit_line_quantity(order_id, first, 1, Actor.user("alice")),
            accept_order(order_id, Actor.user("bob")),
            return_exceptions=True,
        )
        assert not isinstance(accept, BaseException)
        line = (await order_lines(order_id))[0]
        assert line["status"] == "accepted"
        if not isinstance(edit, BaseException):
            assert line["quantity"] == 1
            assert (await order_row(order_id))["version"] == 3
        else:
            assert isinstance(edit, DomainError)
            assert line["quantity"] == 2
            assert (await order_row(order_id))["version"] == 2


async def test_concurrent_cancel_and_accept_give_a_consistent_history(channel):
    for attempt in range(5):
        order_id = await import_one(channel, make_order(f"CA-{attempt}"))
        results = await asyncio.gather(
            cancel_order(order_id, Actor.user("alice"), "customer asked"),
            reject_order(order_id, Actor.user("bob"), "out_of_stock"),
            accept_order(order_id, Actor.user("carol")),
            return_exceptions=True,
        )
        succeeded, _ = outcomes(results)
        order = await order_row(order_id)
        assert order["version"] == 1 + succeeded
        assert succeeded in (1, 2)  # accept may be followed by cancel; reject and cancel are final
        await assert_history_leads_to_current_status(order_id, S.AWAITING_ACCEPTANCE, expected_changes=succeeded)


async def assert_history_leads_to_current_status(
    order_id: int, initial: OrderStatus, expected_changes: int | None = None
) -> None:
    """The chain of status_changed events starts at `initial` and ends at the order's status."""
    changes = [e for e in await order_events(order_id) if e["kind"] == "status_changed"]
    if expected_changes is not None:
        assert len(changes) == expected_changes
    current = initial.value
    for change in changes:
        details = change["details"]
        details = json.loads(details) if isinstance(details, str) else details
        assert details["from"] == current, "each change starts where the previous one ended"
        current = details["to"]
    assert (await order_row(order_id))["status"] == current


async def test_counters_stay_exact_under_concurrent_transitions(channel, rng):
    other = await _second_channel()
    ids = []
    for i in range(40):
        target = channel if i % 3 else other
        ids.append(await import_one(target, make_order(f"CT-{i}", last_name="" if i % 7 == 0 else "Novák")))

    async def churn(order_id: int, seed: int) -> None:
        """A random walk through the lifecycle; refusals and conflicts are expected and fine."""
        walk = random.Random(seed)
        actor = Actor.user(f"w{seed}")
        for _ in range(6):
            step = walk.choice(["accept", "reject", "cancel", "process", "ship", "return", "review"])
            try:
                if step == "accept":
                    await accept_order(order_id, actor)
                elif step == "reject":
                    await reject_order(order_id, actor, "price_error")
                elif step == "cancel":
                    await cancel_order(order_id, actor, "customer asked")
                elif step == "process":
                    await mark_sent_to_supplier(order_id, actor)
                elif step == "ship":
                    lines = await order_lines(order_id)
                    await add_shipment(order_id, {lines[0]["id"]: 1}, actor, no_tracking=True)
                elif step == "return":
                    await mark_returned(order_id, actor)
                else:
                    from models.orders.closing import send_to_review

                    await send_to_review(order_id, "address_error", "Address error", actor)
            except DomainError:
                pass

    # Several workers per order, all at once, plus a concurrent import of new orders.
    tasks = [churn(order_id, rng.randrange(10**6)) for order_id in ids for _ in range(2)]
    tasks.append(import_orders(channel, [make_order(f"NEW-{i}") for i in range(15)]))
    rng.shuffle(tasks)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, BaseException)]
    assert unexpected == []

    counters, scanned = await counters_match_orders()
    assert counters == scanned
    assert sum(scanned.values()) == 55
    by_status = await status_counts()
    scanned_by_status: dict[str, int] = {}
    for (_, status), n in scanned.items():
        scanned_by_status[status] = scanned_by_status.get(status, 0) + n
    assert {k: v for k, v in by_status.items() if v} == scanned_by_status
    assert await pending_review_count() == await Order.count().where(Order.status == S.PENDING_REVIEW)
    assert len(scanned_by_status) >= 4, "the walk should spread orders over several statuses"

    # Every order's status is where its audit trail says it went.
    for i, order_id in enumerate(ids):
        initial = S.PENDING_REVIEW if i % 7 == 0 else S.AWAITING_ACCEPTANCE
        await assert_history_leads_to_current_status(order_id, initial)
    assert await Event.count().where(Event.kind == "status_changed") >= len(ids) // 2
    keys = [m["idempotency_key"] for m in await OutboxMessage.select(OutboxMessage.idempotency_key)]
    assert len(keys) == len(set(keys))


async def _second_channel() -> dict:
    from models.core.clock import now
    from models.db.tables import Channel

    await Channel.insert(Channel(name="Second channel", kind="demo", created_at=now()))
    return await Channel.select().where(Channel.name == "Second channel").first()


@pytest.mark.parametrize("workers", [2, 8])
async def test_concurrent_imports_of_the_same_orders_create_each_once(channel, workers):
    orders = [make_order(f"IM-{i}") for i in range(10)]
    results = await asyncio.gather(*(import_orders(channel, orders) for _ in range(workers)), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert await Order.count() == 10
    assert sum(r.created for r in results) == 10
    counters, scanned = await counters_match_orders()
    assert counters == scanned == {(channel["id"], "awaiting_acceptance"): 10}
    for order in await Order.select(Order.id):
        assert await event_kinds(order["id"]) == ["imported"]


async def test_concurrent_imports_of_one_order_report_no_failure(channel):
    results = await asyncio.gather(*(import_orders(channel, [make_order("ONE-1")]) for _ in range(4)))
    assert sum(r.created for r in results) == 1
    assert [r.failed for r in results] == [[], [], [], []]
    assert await Order.count() == 1
