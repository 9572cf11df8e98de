"""Bulk writes of tuples store exactly what Piccolo's own insert stores, on both engines."""

from __future__ import annotations

import datetime as dt
import gc
import json

import pytest

from models import db
from models.core.clock import now
from models.db import bulk
from models.db.tables import Channel, Event, Order, OutboxMessage

CET = dt.timezone(dt.timedelta(hours=1))
STAMPS = [
    dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 1, 13, 30, 5, 7, tzinfo=CET),  # stored in UTC
]
EVENTS = bulk.TableInsert(Event, ("order", "at", "actor_kind", "actor_name", "kind", "message", "details"))


async def stored(table: str, ids: list[int], columns: list[str]) -> list[tuple]:
    """Columns as the database holds them (as text), in id order."""
    select = ", ".join(f'CAST("{c}" AS TEXT) AS "{c}"' for c in columns)
    marks = ", ".join(["{}"] * len(ids))
    rows = await db.fetch(f'SELECT {select} FROM "{table}" WHERE id IN ({marks}) ORDER BY id', *ids)
    return [tuple(row[c] for c in columns) for row in rows]


async def test_tuples_are_stored_as_piccolo_stores_them(database_url):
    details = json.dumps({"note": "Zoë „quoted“", "n": 1}, ensure_ascii=False)
    for at in STAMPS:
        await Event.insert(Event(at=at, actor_kind="job", actor_name="Ünïcödé", kind="k", message="m", details=details))
    async with db.transaction():
        await EVENTS.rows([(None, at, "job", "Ünïcödé", "k", "m", details) for at in STAMPS])
    rows = await Event.select().order_by(Event.id)
    by_piccolo, by_bulk = rows[:3], rows[3:]
    assert [{**r, "id": 0} for r in by_bulk] == [{**r, "id": 0} for r in by_piccolo]
    assert [r["at"] for r in by_bulk] == STAMPS
    columns = ["order", "order_line", "at", "actor_kind", "actor_name", "kind", "message", "details"]
    assert await stored("event", [r["id"] for r in by_bulk], columns) == await stored(
        "event", [r["id"] for r in by_piccolo], columns
    )


async def test_defaults_of_columns_not_given_are_piccolos(database_url):
    insert = bulk.TableInsert(
        OutboxMessage, ("target_kind", "target_id", "action", "idempotency_key", "next_attempt_at", "created_at")
    )
    stamp = now()
    await OutboxMessage.insert(
        OutboxMessage(
            target_kind="channel",
            target_id=1,
            action="accept",
            idempotency_key="a",
            next_attempt_at=stamp,
            created_at=stamp,
        )
    )
    async with db.transaction():
        await insert.rows([("channel", 1, "accept", "b", stamp, stamp)])
    first, second = await OutboxMessage.select().order_by(OutboxMessage.id)
    assert {**second, "id": 0, "idempotency_key": ""} == {**first, "id": 0, "idempotency_key": ""}
    assert second["ambiguous"] is False
    assert second["payload"] == "{}"
    columns = ["payload", "state", "attempts", "lease_owner", "lease_until", "ambiguous", "last_error", "done_at"]
    assert await stored("outbox_message", [second["id"]], columns) == await stored(
        "outbox_message", [first["id"]], columns
    )


def test_a_column_without_a_fixed_default_must_be_given():
    with pytest.raises(ValueError, match="placed_at"):
        bulk.TableInsert(Order, ("channel", "channel_order_id", "status", "imported_at", "updated_at"))
    with pytest.raises(ValueError, match="no column"):
        bulk.TableInsert(Event, ("at", "nonsense"))


async def test_bulk_writes_need_a_transaction(database_url):
    with pytest.raises(RuntimeError, match="transaction"):
        await EVENTS.rows([(None, now(), "job", "x", "k", "m", "{}")])


async def test_returning_spans_statements_and_a_failure_rolls_everything_back(database_url, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_PARAMETERS", 50)  # 7 columns: 7 rows per statement
    rows = [(None, now(), "job", f"actor {i}", "k", "m", "{}") for i in range(30)]
    async with db.transaction():
        returned = await EVENTS.rows(rows, returning=("id", "actor_name"))
    assert sorted(name for _, name in returned) == sorted(f"actor {i}" for i in range(30))
    assert len({event_id for event_id, _ in returned}) == 30
    assert await Event.count() == 30

    await Channel.insert(Channel(name="Shop", kind="demo", created_at=now()))
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error type differs per engine
        async with db.transaction():
            await EVENTS.rows(rows)
            await bulk.execute("UPDATE channel SET name = {}", "Renamed")
            await EVENTS.rows([(10**6, now(), "job", "x", "k", "m", "{}")])  # no such order
    assert await Event.count() == 30
    assert await Channel.exists().where(Channel.name == "Shop")


async def test_fetch_and_execute_use_portable_placeholders(database_url):
    await Channel.insert(Channel(name="A", kind="demo", created_at=now()))
    await Channel.insert(Channel(name="B", kind="demo", created_at=now()))
    async with db.transaction():
        await bulk.execute(f"UPDATE channel SET kind = {{}} WHERE name IN ({bulk.in_list(2)})", "mirakl", "A", "B")
        rows = await bulk.fetch("SELECT name, kind FROM channel WHERE kind = {} ORDER BY name", "mirakl")
    assert rows == [("A", "mirakl"), ("B", "mirakl")]


async def test_rows_without_returning_span_statements(database_url, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_PARAMETERS", 50)  # 7 columns: 7 rows per statement
    async with db.transaction():
        await EVENTS.rows([(None, now(), "job", f"actor {i}", "k", "m", "{}") for i in range(30)])
    assert sorted(r["actor_name"] for r in await Event.select(Event.actor_name)) == sorted(
        f"actor {i}" for i in range(30)
    )


async def test_queued_writes_run_in_order_and_a_failure_rolls_everything_back(database_url):
    await Channel.insert(Channel(name="Shop", kind="demo", created_at=now()))
    async with db.transaction(), bulk.queued_writes() as writes:
        for batch in range(3):
            await writes.insert(EVENTS, [(None, now(), "job", f"batch {batch}", "k", "m", "{}")])
    assert [r["actor_name"] for r in await Event.select(Event.actor_name).order_by(Event.id)] == [
        "batch 0",
        "batch 1",
        "batch 2",
    ]

    with pytest.raises(Exception):  # noqa: B017 - the driver's own error type differs per engine
        async with db.transaction(), bulk.queued_writes() as writes:
            await writes.insert(EVENTS, [(None, now(), "job", "kept?", "k", "m", "{}")])
            await writes.insert(EVENTS, [(10**6, now(), "job", "x", "k", "m", "{}")])  # no such order
            await writes.insert(EVENTS, [(None, now(), "job", "after the failure", "k", "m", "{}")])
    assert await Event.count() == 3


async def test_an_instant_converted_once_is_stored_as_the_datetime_would_be(database_url):
    async with db.transaction():
        await EVENTS.rows([(None, at, "job", "as datetime", "k", "m", "{}") for at in STAMPS])
        await EVENTS.rows([(None, bulk.stored_instant(at), "job", "converted", "k", "m", "{}") for at in STAMPS])
    rows = await Event.select().order_by(Event.id)
    assert [r["at"] for r in rows] == STAMPS + STAMPS
    ids = [r["id"] for r in rows]
    assert await stored("event", ids[3:], ["at"]) == await stored("event", ids[:3], ["at"])


async def test_a_started_insert_gives_its_ids_while_later_inserts_follow_it(database_url):
    async with db.transaction(), bulk.queued_writes() as writes:
        first = [(None, now(), "job", f"first {i}", "k", "m", "{}") for i in range(3)]
        started = await writes.start(EVENTS, first, ("id", "actor_name"))
        await writes.insert(EVENTS, [(None, now(), "job", "after", "k", "m", "{}")])
        ids = {name: event_id for event_id, name in await started}
    rows = await Event.select(Event.id, Event.actor_name).order_by(Event.id)
    assert [r["actor_name"] for r in rows] == ["first 0", "first 1", "first 2", "after"]
    assert ids == {r["actor_name"]: r["id"] for r in rows[:3]}


def test_the_collector_pause_nests_and_leaves_a_collector_turned_off_alone():
    assert gc.isenabled()
    with bulk.collector_paused():
        with bulk.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # turned off by someone else: stays off
    finally:
        gc.enable()
