"""The JSON API's closing steps over HTTP, against the MALL and ShipBob sandboxes over real HTTP:
mark paid, deliver (a final state the API then refuses to change), return, cancel."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from connectors.sandbox.mall import MallSandbox
from connectors.sandbox.shipbob import ShipBobSandbox
from models.accounts.users import create_api_token
from models.core.actors import Actor
from models.core.app_settings import merchant_timezone
from models.core.clock import now
from models.db.tables import Order, OutboxMessage, SupplierOrder, User
from models.orders.acceptance import accept_order
from tests.closing_world import ClosingWorld, closing_world
from tests.conftest import import_one, make_order

pytestmark = pytest.mark.usefixtures("users")


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def mall() -> MallSandbox:
    return MallSandbox(seed=4)


@pytest.fixture
def shipbob() -> ShipBobSandbox:
    return ShipBobSandbox(seed=4)


@pytest.fixture
async def world(client, mall, shipbob, serve_sandbox) -> ClosingWorld:
    # `client` first: creating the app configures the key credentials are encrypted with.
    return await closing_world(serve_sandbox(mall), serve_sandbox(shipbob))


async def token_for(username: str) -> dict[str, str]:
    user = await User.select(User.id).where(User.username == username).first()
    return {"Authorization": f"Bearer {await create_api_token(user['id'], 'closing tests')}"}


@pytest.fixture
async def operator() -> dict[str, str]:
    return await token_for("operator")


async def order_row(order_id: int) -> dict:
    return await Order.select().where(Order.id == order_id).first()


async def local_today() -> str:
    return now().astimezone(await merchant_timezone()).date().isoformat()


# Mark as paid ---------------------------------------------------------------------------------------


async def test_mark_paid_for_an_order_on_account(client, channel, operator):
    order_id = await import_one(channel, make_order("PAY-1", payment_method="on_account"))
    answer = await client.post(f"/api/v1/orders/{order_id}/mark-paid", headers=operator)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["payment_status"], body["message"], body["status"]) == (
        "paid",
        "Marked as paid.",
        "awaiting_acceptance",
    )
    again = await client.post(f"/api/v1/orders/{order_id}/mark-paid", headers=operator, json={})
    assert again.status_code == 422
    assert again.json()["detail"] == "This order is already paid."


async def test_card_orders_are_not_marked_paid(client, channel, operator):
    order_id = await import_one(channel, make_order("PAY-2"))
    answer = await client.post(f"/api/v1/orders/{order_id}/mark-paid", headers=operator)
    assert answer.status_code == 422
    assert answer.json()["detail"] == "This order is already paid."


async def test_a_stale_version_is_a_conflict(client, channel, operator):
    order_id = await import_one(channel, make_order("PAY-3", payment_method="on_account"))
    await accept_order(order_id, Actor.user("alice"))
    version = (await order_row(order_id))["version"]
    stale = await client.post(f"/api/v1/orders/{order_id}/mark-paid", headers=operator, json={"version": version - 1})
    assert stale.status_code == 409
    assert "Nothing was saved" in stale.json()["detail"]
    fresh = await client.post(f"/api/v1/orders/{order_id}/mark-paid", headers=operator, json={"version": version})
    assert fresh.status_code == 200
    assert fresh.json()["version"] == version + 1


async def test_a_viewer_token_reads_but_cannot_change(client, channel):
    order_id = await import_one(channel, make_order("PAY-4", payment_method="on_account"))
    viewer = await token_for("viewer")
    assert (await client.get(f"/api/v1/orders/{order_id}", headers=viewer)).status_code == 200
    answer = await client.post(f"/api/v1/orders/{order_id}/mark-paid", headers=viewer)
    assert answer.status_code == 403
    assert "can view orders but not change them" in answer.json()["detail"]
    assert (await order_row(order_id))["payment_status"] == "unpaid"


async def test_unknown_order_and_missing_token(client, operator):
    assert (
        await client.post("/api/v1/orders/424242/cancel", headers=operator, json={"reason": "x"})
    ).status_code == 404
    assert (await client.post("/api/v1/orders/1/cancel", json={"reason": "x"})).status_code == 401


# Delivered is final ---------------------------------------------------------------------------------


async def test_deliver_with_a_date_then_the_api_refuses_every_change(client, world, http, mall, operator):
    order_id = await world.shipped(http, "PPL-DEL-1")
    mall_id = (await order_row(order_id))["channel_order_id"]
    assert mall.orders[int(mall_id)]["status"] == "shipped"

    missing = await client.post(f"/api/v1/orders/{order_id}/deliver", headers=operator, json={})
    assert missing.status_code == 422
    assert missing.json()["errors"] == {"delivered_at": "Enter the delivery date."}
    future = (now() + dt.timedelta(days=3)).date().isoformat()
    ahead = await client.post(f"/api/v1/orders/{order_id}/deliver", headers=operator, json={"delivered_at": future})
    assert ahead.json() == {
        "status_code": 422,
        "detail": "Not marked as delivered: the delivery date cannot be in the future.",
        "errors": {"delivered_at": "The delivery date cannot be in the future."},
    }
    early = await client.post(
        f"/api/v1/orders/{order_id}/deliver", headers=operator, json={"delivered_at": "2020-01-02"}
    )
    assert early.status_code == 422
    assert early.json()["errors"]["delivered_at"].startswith("The delivery date cannot be before the order shipped (")
    garbled = await client.post(f"/api/v1/orders/{order_id}/deliver", headers=operator, json={"delivered_at": "soon"})
    assert garbled.json()["errors"] == {"delivered_at": "“soon” is not a date: use YYYY-MM-DD, e.g. 2026-05-12."}
    assert (await order_row(order_id))["status"] == "shipped", "refused input changes nothing"

    day = await local_today()
    answer = await client.post(f"/api/v1/orders/{order_id}/deliver", headers=operator, json={"delivered_at": day})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "delivered"
    assert body["level"] == "success"
    assert body["message"].endswith(". MALL confirmed it (now delivered).")
    assert body["message"].startswith("Marked as delivered on ")
    assert body["delivered_at"]
    assert body["channel_status"] == "delivered"
    at_mall = mall.orders[int(mall_id)]
    assert at_mall["status"] == "delivered" and at_mall["delivered_at"]

    before = await order_row(order_id)
    for path, payload in (
        ("deliver", {"delivered_at": day}),
        ("return", {"note": "came back"}),
        ("cancel", {"reason": "customer asked"}),
        ("mark-paid", {}),
    ):
        refused = await client.post(f"/api/v1/orders/{order_id}/{path}", headers=operator, json=payload)
        assert refused.status_code == 422, path
        detail = refused.json()["detail"]
        assert f"Order {mall_id} was delivered on " in detail
        assert "A delivered order is final: nothing about it can change any more." in detail
    assert await order_row(order_id) == before
    assert (await client.get(f"/api/v1/orders/{order_id}", headers=operator)).status_code == 200


# Returned -------------------------------------------------------------------------------------------


async def test_mark_returned_from_shipped_tells_mall(client, world, http, mall, operator):
    accepted = await world.accepted(http)
    too_early = await client.post(f"/api/v1/orders/{accepted}/return", headers=operator, json={"note": "x"})
    assert too_early.status_code == 422
    assert too_early.json()["detail"].startswith("Mark as returned is not possible while the order is awaiting")

    order_id = await world.shipped(http, "PPL-RET-1")
    answer = await client.post(f"/api/v1/orders/{order_id}/return", headers=operator, json={"note": "address unknown"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["channel_status"]) == ("returned", "returned")
    assert body["message"] == "Marked as returned. MALL confirmed it (now returned)."
    assert mall.orders[int(body["channel_order_id"])]["status"] == "returned"


# Cancel ---------------------------------------------------------------------------------------------


async def test_cancel_before_shipping_cancels_at_shipbob_and_on_mall(client, world, http, mall, shipbob, operator):
    order_id = await world.at_shipbob(http)
    shipbob_id = await world.shipbob_id(order_id)
    no_reason = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=operator, json={"reason": " "})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"] == {"reason": "Give a reason for cancelling, e.g. the customer asked."}

    answer = await client.post(
        f"/api/v1/orders/{order_id}/cancel", headers=operator, json={"reason": "Customer asked to cancel"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "cancelled"
    assert body["level"] == "success", body["message"]
    assert body["message"] == (
        f"Order cancelled. ShipBob: Cancelled at ShipBob (order {shipbob_id}). MALL confirmed it (now cancelled)."
    )
    assert mall.orders[int(body["channel_order_id"])]["status"] == "cancelled"
    assert shipbob.orders[int(shipbob_id)]["shipments"][0]["status"] == "Cancelled"
    row = await SupplierOrder.select().where(SupplierOrder.order == order_id).first()
    assert row["status"] == "cancelled"
    pending = await OutboxMessage.count().where((OutboxMessage.order == order_id) & (OutboxMessage.state != "done"))
    assert pending == 0


async def test_cancel_is_refused_once_shipped_and_changes_nothing(client, world, http, mall, operator):
    order_id = await world.shipped(http, "PPL-CAN-1")
    before = await order_row(order_id)
    answer = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=operator, json={"reason": "too late"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "Cancel order is not possible while the order is shipped; it is only possible when the order is "
        "pending review, awaiting acceptance, awaiting fulfillment, processing."
    )
    assert await order_row(order_id) == before
    assert mall.orders[int(before["channel_order_id"])]["status"] == "shipped"


async def test_cancel_while_partly_shipped_is_refused(client, world, http, operator):
    order_id = await world.accepted(http, quantity=2)
    await world.ship(order_id, http, "PPL-PART-1", quantity=1)
    assert (await order_row(order_id))["status"] == "partially_shipped"
    answer = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=operator, json={"reason": "x"})
    assert answer.status_code == 422
    assert "while the order is partially shipped" in answer.json()["detail"]


async def test_the_schema_documents_the_closing_steps(client, operator):
    from tests.conftest import login

    await login(client, "viewer")
    schema = (await client.get("/schema/openapi.json")).json()
    for step in ("mark-paid", "deliver", "return", "cancel"):
        operation = schema["paths"][f"/api/v1/orders/{{order_id}}/{step}"]["post"]
        assert {"200", "409", "422"} <= set(operation["responses"]), step
    deliver = schema["components"]["schemas"]["DeliverRequest"]["properties"]["delivered_at"]
    assert "YYYY-MM-DD" in deliver["description"]
