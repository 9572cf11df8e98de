"""Every JSON API action on an order answers the same way: the order's state after it (`order_id`, `status`,
`version`, `channel_status`) and what happened (`message`, `level`), so a client chains `version` from one
action's answer into the next without reading the order again."""

from __future__ import annotations

from models.accounts.users import create_api_token
from models.db.tables import User
from tests.conftest import import_one, make_order
from tests.integration.support import order_row

COMMON = ("order_id", "status", "version", "channel_status", "message", "level")


async def operator_token() -> dict[str, str]:
    user = await User.select(User.id).where(User.username == "operator").first()
    return {"Authorization": f"Bearer {await create_api_token(user['id'], 'results tests')}"}


async def assert_answers_the_order(answer, order_id: int) -> dict:
    assert answer.status_code in (200, 201), answer.text
    body = answer.json()
    row = await order_row(order_id)
    assert {k: body[k] for k in COMMON[:4]} == {
        "order_id": order_id,
        "status": row["status"],
        "version": row["version"],
        "channel_status": row["channel_status"],
    }
    assert body["message"] and body["level"] in ("success", "info", "warn", "error", "sending")
    return body


async def test_accept_ship_and_deliver_chain_the_version_from_each_answer(client, users, channel):
    auth = await operator_token()
    order_id = await import_one(channel, make_order("RES-1", payment_method="on_account"))
    version = (await order_row(order_id))["version"]

    accepted = await assert_answers_the_order(
        await client.post(f"/api/v1/orders/{order_id}/accept?wait=true", json={"version": version}, headers=auth),
        order_id,
    )
    assert accepted["status"] == "awaiting_fulfillment" and accepted["channel_outcome"] == accepted["level"]

    paid = await assert_answers_the_order(
        await client.post(f"/api/v1/orders/{order_id}/mark-paid", json={"version": accepted["version"]}, headers=auth),
        order_id,
    )
    assert (paid["message"], paid["level"], paid["id"]) == ("Marked as paid.", "success", order_id)

    parcel = await assert_answers_the_order(
        await client.post(
            f"/api/v1/orders/{order_id}/shipments",
            json={"no_tracking": True, "version": paid["version"]},
            headers=auth,
        ),
        order_id,
    )
    assert parcel["level"] == "success" and parcel["parcel_id"]

    shipped = await assert_answers_the_order(
        await client.post(f"/api/v1/orders/{order_id}/ship", json={"version": parcel["version"]}, headers=auth),
        order_id,
    )
    assert shipped["status"] == "shipped"

    stale = await client.post(f"/api/v1/orders/{order_id}/ship", json={"version": parcel["version"]}, headers=auth)
    assert stale.status_code in (409, 422) and stale.json()["detail"]


async def test_a_plain_read_of_the_shipping_says_nothing_happened(client, users, channel):
    auth = await operator_token()
    order_id = await import_one(channel, make_order("RES-2"))
    body = (await client.get(f"/api/v1/orders/{order_id}/shipping", headers=auth)).json()
    assert (body["order_id"], body["message"], body["level"]) == (order_id, "", "")
