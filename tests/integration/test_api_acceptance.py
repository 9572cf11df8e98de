"""The acceptance actions of the JSON API: same rules and messages as the order page, conflicts as 409,
and many people (or scripts) deciding the same line at once over real HTTP: one wins."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connectors.sandbox.mirakl import MiraklSandbox
from models.accounts import credentials
from models.accounts.users import create_api_token
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import Channel, Event, OutboxMessage, User
from models.orders.acceptance import accept_order
from tests.conftest import import_one, login, make_order
from tests.integration.support import order_lines, order_row, served_app

API = "/api/v1/orders"


async def token_for(username: str) -> str:
    user = await User.select(User.id).where(User.username == username).first()
    return await create_api_token(user["id"], "tests")


@pytest.fixture
async def operator_api(users) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for('operator')}"}


async def new_order(channel: dict, name: str, **kwargs) -> tuple[int, list[int]]:
    order_id = await import_one(channel, make_order(name, **kwargs))
    return order_id, [line["id"] for line in await order_lines(order_id)]


async def test_accept_one_line_and_reject_the_other(client, channel, operator_api):
    order_id, (first, second) = await new_order(channel, "API-1")
    answer = await client.post(f"{API}/{order_id}/lines/{first}/accept", headers=operator_api)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "awaiting_acceptance"
    assert body["message"] == (
        "Line SKU-1 accepted. 1 line still to decide. "
        "Test Marketplace receives the decisions once every line is decided."
    )
    answer = await client.post(
        f"{API}/{order_id}/lines/{second}/reject",
        json={"reason": "other", "reason_text": "Discontinued", "version": body["version"]},
        headers=operator_api,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "awaiting_fulfillment"
    assert [(line["status"], line["rejection_reason"]) for line in body["lines"]] == [
        ("accepted", ""),
        ("rejected", "Discontinued"),
    ]
    assert body["message"].startswith("Line SKU-2 rejected (Discontinued). The order is awaiting fulfillment.")
    events = await Event.select(Event.actor_kind, Event.actor_name, Event.kind).where(Event.order == order_id)
    assert ("api", "operator", "line_rejected") in [(e["actor_kind"], e["actor_name"], e["kind"]) for e in events]


async def test_reject_order_needs_a_reason_named_per_field(client, channel, operator_api):
    order_id, _ = await new_order(channel, "API-2")
    missing = await client.post(f"{API}/{order_id}/reject", json={"reason": ""}, headers=operator_api)
    assert missing.status_code == 422
    assert missing.json() == {
        "status_code": 422,
        "detail": "Choose a rejection reason; nothing was rejected.",
        "errors": {"reason": "Choose a rejection reason."},
    }
    other = await client.post(f"{API}/{order_id}/reject", json={"reason": "other"}, headers=operator_api)
    assert other.status_code == 422
    assert other.json()["errors"] == {"reason_text": "Describe the reason for rejecting."}
    assert (await order_row(order_id))["version"] == 1, "nothing changed"

    done = await client.post(f"{API}/{order_id}/reject", json={"reason": "out_of_stock"}, headers=operator_api)
    assert done.status_code == 200
    assert done.json()["status"] == "rejected"
    again = await client.post(f"{API}/{order_id}/accept", headers=operator_api)
    assert again.status_code == 409
    assert again.json()["detail"] == (
        "Accept order is not possible: the order is rejected, which is final. Nothing changed."
    )


async def test_edit_lowers_a_quantity_and_never_raises_it(client, channel, operator_api):
    order_id, (first, _) = await new_order(channel, "API-3")
    raised = await client.post(f"{API}/{order_id}/lines/{first}/quantity", json={"quantity": 5}, headers=operator_api)
    assert raised.status_code == 422
    assert raised.json()["errors"] == {"quantity": "At most 2: a quantity can only be lowered, not raised."}
    lowered = await client.post(f"{API}/{order_id}/lines/{first}/quantity", json={"quantity": 1}, headers=operator_api)
    assert lowered.status_code == 200
    assert lowered.json()["message"] == "Quantity of SKU-1 lowered from 2 to 1. Accept or reject the line next."
    assert lowered.json()["lines"][0]["quantity"] == 1
    accepted = await client.post(f"{API}/{order_id}/accept", json={"version": 2}, headers=operator_api)
    assert accepted.json()["status"] == "awaiting_fulfillment"
    late = await client.post(f"{API}/{order_id}/lines/{first}/quantity", json={"quantity": 1}, headers=operator_api)
    assert late.status_code == 409


async def test_a_stale_version_or_a_line_already_decided_is_a_conflict(client, channel, operator_api):
    order_id, (first, _) = await new_order(channel, "API-4")
    await accept_order_line_as("alice", order_id, first)
    stale = await client.post(f"{API}/{order_id}/accept", json={"version": 1}, headers=operator_api)
    assert stale.status_code == 409
    assert stale.json()["detail"] == (
        "This order was changed by alice while you were working on it. "
        "Nothing was saved; review the latest version and try again."
    )
    twice = await client.post(
        f"{API}/{order_id}/lines/{first}/reject", json={"reason": "price_error"}, headers=operator_api
    )
    assert twice.status_code == 409
    assert twice.json()["detail"] == "Line SKU-1 was already accepted by alice. Nothing changed."


async def accept_order_line_as(username: str, order_id: int, line_id: int) -> None:
    from models.orders.acceptance import decide_line

    await decide_line(order_id, line_id, True, Actor.user(username))


async def test_unknown_orders_and_lines_are_404(client, channel, operator_api):
    order_id, _ = await new_order(channel, "API-5")
    _, (other_line, _) = await new_order(channel, "API-6")
    assert (await client.post(f"{API}/999999/accept", headers=operator_api)).status_code == 404
    wrong = await client.post(f"{API}/{order_id}/lines/{other_line}/accept", headers=operator_api)
    assert wrong.status_code == 404
    assert wrong.json()["detail"] == f"Line {other_line} is not part of order API-5."


async def test_viewers_and_anonymous_callers_change_nothing(client, channel, users):
    order_id, _ = await new_order(channel, "API-7")
    viewer = {"Authorization": f"Bearer {await token_for('viewer')}"}
    refused = await client.post(f"{API}/{order_id}/accept", headers=viewer)
    assert refused.status_code == 403
    assert "can view orders but not change them" in refused.json()["detail"]
    assert (await client.post(f"{API}/{order_id}/accept")).status_code == 401
    assert (await order_row(order_id))["status"] == "awaiting_acceptance"


async def test_a_channel_that_cannot_refuse_single_lines_says_so(client, operator_api):
    await Channel.insert(Channel(name="MALL API", kind="mall", currency="CZK", created_at=now()))
    mall = await Channel.select().where(Channel.name == "MALL API").first()
    order_id, (first, second) = await new_order(mall, "API-MALL")
    await client.post(f"{API}/{order_id}/lines/{first}/accept", headers=operator_api)
    refused = await client.post(
        f"{API}/{order_id}/lines/{second}/reject", json={"reason": "out_of_stock"}, headers=operator_api
    )
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("MALL cannot refuse single items")


async def mirakl_order_at_the_sandbox(serve_sandbox, remote_id: str) -> tuple[MiraklSandbox, int]:
    """A Mirakl channel on a served sandbox and one of its orders awaiting acceptance on both sides."""
    sandbox = MiraklSandbox(seed=4)
    await Channel.insert(
        Channel(
            name="Mirakl API",
            kind="mirakl",
            base_url=serve_sandbox(sandbox),
            credentials=credentials.encrypt({"api_key": "sandbox-mirakl-key"}),
            created_at=now(),
        )
    )
    mirakl = await Channel.select().where(Channel.name == "Mirakl API").first()
    order_id, _ = await new_order(mirakl, remote_id)
    sandbox.add_order(
        {
            "order_id": remote_id,
            "order_state": "WAITING_ACCEPTANCE",
            "order_lines": [
                {"order_line_id": f"{remote_id}-1", "offer_sku": "SKU-1", "quantity": 2, "price_unit": 19.9},
                {"order_line_id": f"{remote_id}-2", "offer_sku": "SKU-2", "quantity": 1, "price_unit": 45.0},
            ],
        }
    )
    return sandbox, order_id


async def test_waiting_for_the_channel_answers_with_what_it_said(client, operator_api, serve_sandbox):
    sandbox, order_id = await mirakl_order_at_the_sandbox(serve_sandbox, "FR-API-1")
    answer = await client.post(f"{API}/{order_id}/accept?wait=true", headers=operator_api)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["message"] == "Order accepted. The order is awaiting fulfillment. Mirakl API has the decision."
    assert (body["channel_outcome"], body["channel_status"]) == ("success", "SHIPPING")
    assert sandbox.view("FR-API-1")["operations"]["accept"] == 1


async def test_the_decision_is_answered_at_once_and_reaches_the_marketplace_after(settings, users, serve_sandbox):
    """Over real HTTP: the answer comes before the marketplace is called; the order follows once it
    confirmed, and the decision is sent exactly once."""
    headers = {"Authorization": f"Bearer {await token_for('operator')}"}
    async with served_app(settings) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        # After the app's start-up, which sets the key the channel's credentials are encrypted with.
        sandbox, order_id = await mirakl_order_at_the_sandbox(serve_sandbox, "FR-API-2")
        sandbox.faults.update({"latency_ms": 400})  # a slow marketplace holds up nothing
        answer = await http.post(f"{API}/{order_id}/accept", headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["message"] == (
            "Order accepted. The order is awaiting fulfillment. Sending the decision to Mirakl API…"
        )
        assert (body["status"], body["channel_outcome"]) == ("awaiting_fulfillment", "sending")
        assert body["channel_status"] != "SHIPPING"
        assert sandbox.view("FR-API-2")["operations"]["accept"] == 0, "answered before the marketplace was called"
        for _ in range(100):
            order = (await http.get(f"{API}/{order_id}", headers=headers)).json()
            if order["channel_status"] == "SHIPPING":
                break
            await asyncio.sleep(0.05)
        assert order["channel_status"] == "SHIPPING"
    assert sandbox.view("FR-API-2")["operations"]["accept"] == 1
    [message] = await OutboxMessage.select().where(OutboxMessage.order == order_id)
    assert (message["state"], message["attempts"]) == ("done", 1)


async def test_the_actions_are_in_the_openapi_schema(client, users):
    await login(client, "operator")
    schema = (await client.get("/schema/openapi.json")).json()
    for path in ("accept", "reject", "lines/{line_id}/accept", "lines/{line_id}/reject", "lines/{line_id}/quantity"):
        operation = schema["paths"][f"/api/v1/orders/{{order_id}}/{path}"]["post"]
        assert {"200", "404", "409", "422"} <= set(operation["responses"]), path
    assert schema["paths"]["/api/v1/orders/{order_id}/accept"]["post"]["summary"] == "Accept order"


# Concurrency over real HTTP --------------------------------------------------------------------------


async def test_twenty_concurrent_decisions_on_one_line_one_wins(settings, channel, operator_api):
    order_id, (first, _) = await new_order(channel, "API-RACE")
    async with served_app(settings) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def decide(n: int) -> httpx.Response:
            if n % 2:
                return await http.post(f"{API}/{order_id}/lines/{first}/accept", headers=operator_api)
            return await http.post(
                f"{API}/{order_id}/lines/{first}/reject", json={"reason": "out_of_stock"}, headers=operator_api
            )

        answers = await asyncio.gather(*(decide(n) for n in range(20)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] + [409] * 19, codes
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["detail"].startswith("Line SKU-1 was already ")
            assert answer.json()["detail"].endswith("Nothing changed.")
    [winner] = [answer.json() for answer in answers if answer.status_code == 200]
    line = (await order_lines(order_id))[0]
    assert line["status"] == winner["lines"][0]["status"]
    decisions = await Event.count().where(
        (Event.order_line == first) & Event.kind.is_in(["line_accepted", "line_rejected"])
    )
    assert decisions == 1
    order = await order_row(order_id)
    assert (order["status"], order["version"]) == ("awaiting_acceptance", 2)
    assert await OutboxMessage.count().where(OutboxMessage.order == order_id) == 0
    await accept_order(order_id, Actor.user("operator"))  # the order is still whole and usable
