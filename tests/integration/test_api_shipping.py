"""Shipping over HTTP: the JSON API with tokens, and the order page and Settings forms without JavaScript."""

from __future__ import annotations

import pytest

from models.accounts.users import create_api_token
from models.core.actors import Actor
from models.db.tables import Carrier, OrderLine, Shipment, User
from models.fulfilment.carriers import CarrierForm, create_carrier
from tests.conftest import csrf_from, login
from tests.integration.support import order_row
from tests.integration.test_operations import line_ids, order_in, snapshot
from web.pages import forget_timezone

S_AF = "awaiting_fulfillment"


@pytest.fixture(autouse=True)
def fresh_timezone_cache():
    forget_timezone()
    yield
    forget_timezone()


async def token_for(username: str) -> dict[str, str]:
    user = await User.select(User.id).where(User.username == username).first()
    return {"Authorization": f"Bearer {await create_api_token(user['id'], 'shipping tests')}"}


@pytest.fixture
async def dhl(channel) -> int:
    return await create_carrier(
        CarrierForm(
            name="DHL",
            tracking_url_pattern="https://track.example/{tracking}",
            tracking_number_pattern=r"\d{10}",
            codes={channel["id"]: "DHL_EXPRESS"},
        )
    )


async def test_api_adds_two_parcels_and_ships_them(client, users, channel, dhl):
    from models.orders.lifecycle import OrderStatus

    order_id = await order_in(channel, OrderStatus.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    auth = await token_for("operator")

    carriers = (await client.get("/api/v1/carriers", headers=auth)).json()
    assert carriers == [
        {
            "id": dhl,
            "name": "DHL",
            "codes": [{"channel_id": channel["id"], "channel_name": "Test Marketplace", "code": "DHL_EXPRESS"}],
            "tracking_url_pattern": "https://track.example/{tracking}",
            "tracking_number_pattern": r"\d{10}",
        }
    ]

    version = (await order_row(order_id))["version"]
    added = await client.post(
        f"/api/v1/orders/{order_id}/shipments",
        json={
            "lines": [{"line_id": first, "quantity": 1}],
            "carrier_id": dhl,
            "tracking_number": "1234567890",
            "version": version,
        },
        headers=auth,
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["status"] == S_AF and body["version"] == version + 1
    assert body["message"] == "Tracking added. Mark as shipped to send it to Test Marketplace."
    [parcel] = body["parcels"]
    assert parcel["id"] == body["parcel_id"]
    assert (parcel["state"], parcel["carrier"], parcel["tracking_number"], parcel["shipped_at"]) == (
        "ready",
        "DHL",
        "1234567890",
        None,
    )
    assert parcel["lines"] == [{"line_id": first, "sku": "SKU-1", "quantity": 1}]
    assert [(x["sku"], x["accepted"], x["shipped"], x["ready"], x["left"]) for x in body["lines"]] == [
        ("SKU-1", 2, 0, 1, 1),
        ("SKU-2", 1, 0, 0, 1),
    ]

    order = (await client.get(f"/api/v1/orders/{order_id}", headers=auth)).json()
    assert [(s["tracking_number"], s["state"]) for s in order["shipments"]] == [("1234567890", "ready")]

    shipped = await client.post(f"/api/v1/orders/{order_id}/ship", json={"version": body["version"]}, headers=auth)
    assert shipped.status_code == 200, shipped.text
    body = shipped.json()
    assert body["status"] == "partially_shipped"
    assert body["message"].startswith("Marked as shipped: 1 parcel. Still to ship: SKU-1 × 1, SKU-2 × 1.")
    assert body["parcels"][0]["state"] == "shipped" and body["parcels"][0]["shipped_at"]

    # Without lines, the parcel holds everything left to ship; without a body, ship takes no version check.
    rest = await client.post(
        f"/api/v1/orders/{order_id}/shipments", json={"carrier_id": dhl, "tracking_number": "0987654321"}, headers=auth
    )
    assert rest.status_code == 201, rest.text
    assert rest.json()["parcels"][1]["lines"] == [
        {"line_id": first, "sku": "SKU-1", "quantity": 1},
        {"line_id": second, "sku": "SKU-2", "quantity": 1},
    ]
    shipped = await client.post(f"/api/v1/orders/{order_id}/ship", headers=auth)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    assert shipped.json()["message"].startswith("Marked as shipped: 1 parcel. Everything accepted has shipped.")

    detail = (await client.get(f"/api/v1/orders/{order_id}/shipping", headers=auth)).json()
    assert [p["tracking_number"] for p in detail["parcels"]] == ["1234567890", "0987654321"]
    assert all(x["left"] == 0 for x in detail["lines"])


async def test_api_refusals_name_the_field_and_change_nothing(client, users, channel, dhl):
    from models.orders.lifecycle import OrderStatus

    order_id = await order_in(channel, OrderStatus.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    auth = await token_for("operator")
    before = await snapshot(order_id)

    wrong = await client.post(
        f"/api/v1/orders/{order_id}/shipments",
        json={"lines": [{"line_id": first, "quantity": 3}], "carrier_id": dhl, "tracking_number": "ABC"},
        headers=auth,
    )
    assert wrong.status_code == 422
    assert wrong.json() == {
        "status_code": 422,
        "detail": "Please correct the fields marked below; nothing was saved.",
        "errors": {
            "tracking_number": "“ABC” does not look like a DHL tracking number. Check it for typos, "
            "or choose another carrier.",
            f"lines.{first}": "SKU-1: at most 2 left to ship.",
        },
    }
    missing = await client.post(f"/api/v1/orders/{order_id}/shipments", json={"lines": []}, headers=auth)
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"carrier_id", "tracking_number", "lines"}
    nothing = await client.post(f"/api/v1/orders/{order_id}/ship", headers=auth)
    assert nothing.status_code == 422
    assert "use Add tracking first" in nothing.json()["detail"]
    not_a_line = await client.post(
        f"/api/v1/orders/{order_id}/shipments",
        json={"lines": [{"line_id": 999_999, "quantity": 1}], "no_tracking": True},
        headers=auth,
    )
    assert not_a_line.status_code == 404
    assert "is not part of order" in not_a_line.json()["detail"]
    bad_type = await client.post(
        f"/api/v1/orders/{order_id}/shipments", json={"lines": [{"line_id": "x", "quantity": 1}]}, headers=auth
    )
    assert bad_type.status_code == 400
    assert await snapshot(order_id) == before

    stale = (await order_row(order_id))["version"]
    ok = await client.post(
        f"/api/v1/orders/{order_id}/shipments",
        json={"lines": [{"line_id": second, "quantity": 1}], "no_tracking": True, "version": stale},
        headers=auth,
    )
    assert ok.status_code == 201
    conflict = await client.post(f"/api/v1/orders/{order_id}/ship", json={"version": stale}, headers=auth)
    assert conflict.status_code == 409
    assert "Nothing was saved" in conflict.json()["detail"]

    parcel = ok.json()["parcel_id"]
    removed = await client.delete(f"/api/v1/orders/{order_id}/shipments/{parcel}", headers=auth)
    assert removed.status_code == 200, removed.text
    assert removed.json()["parcels"] == []
    assert removed.json()["message"] == (
        "Tracking removed (no tracking: SKU-2 × 1). Nothing had been sent to the channel."
    )


async def test_api_refuses_shipping_where_the_lifecycle_does_not_allow_it(client, users, channel):
    from models.orders.lifecycle import OrderStatus

    order_id = await order_in(channel, OrderStatus.DELIVERED)
    first, _ = await line_ids(order_id)
    auth = await token_for("operator")
    refused = await client.post(
        f"/api/v1/orders/{order_id}/shipments",
        json={"lines": [{"line_id": first, "quantity": 1}], "no_tracking": True},
        headers=auth,
    )
    assert refused.status_code == 422
    assert refused.json()["detail"].endswith("A delivered order is final: nothing about it can change any more.")
    ship = await client.post(f"/api/v1/orders/{order_id}/ship", headers=auth)
    assert ship.status_code == 422 and "A delivered order is final" in ship.json()["detail"]


async def test_api_viewers_and_missing_tokens_cannot_ship(client, users, channel):
    from models.orders.lifecycle import OrderStatus

    order_id = await order_in(channel, OrderStatus.AWAITING_FULFILLMENT)
    viewer = await token_for("viewer")
    assert (await client.get(f"/api/v1/orders/{order_id}/shipping", headers=viewer)).status_code == 200
    denied = await client.post(f"/api/v1/orders/{order_id}/shipments", json={"no_tracking": True}, headers=viewer)
    assert denied.status_code == 403
    assert "can view orders but not change them" in denied.json()["detail"]
    assert (await client.post(f"/api/v1/orders/{order_id}/ship")).status_code == 401
    assert not await Shipment.exists()


async def test_openapi_lists_the_shipping_endpoints(client, users):
    await login(client, "viewer")
    schema = (await client.get("/schema/openapi.json")).json()
    for path in (
        "/api/v1/carriers",
        "/api/v1/orders/{order_id}/shipping",
        "/api/v1/orders/{order_id}/shipments",
        "/api/v1/orders/{order_id}/shipments/{shipment_id}",
        "/api/v1/orders/{order_id}/ship",
    ):
        assert path in schema["paths"], path
    assert schema["paths"]["/api/v1/orders/{order_id}/ship"]["post"]["summary"] == "Mark as shipped"


# The order page without JavaScript ---------------------------------------------------------------


async def test_add_tracking_and_mark_as_shipped_as_plain_forms(client, users, channel, dhl):
    from models.orders.lifecycle import OrderStatus

    order_id = await order_in(channel, OrderStatus.PROCESSING)
    first, second = await line_ids(order_id)
    await login(client, "operator")
    page = await client.get(f"/orders/{order_id}")
    assert "Add tracking" in page.text
    form = await client.get(f"/orders/{order_id}/shipping/add")
    assert form.status_code == 200
    assert f'name="qty_{first}"' in form.text and 'value="2"' in form.text, "what is left to ship is filled in"
    csrf = csrf_from(form.text)
    version = (await order_row(order_id))["version"]

    data = {
        "_csrf_token": csrf,
        "version": str(version),
        f"qty_{first}": "2",
        f"qty_{second}": "one",
        "carrier": str(dhl),
        "tracking_number": "12345",
    }
    refused = await client.post(f"/orders/{order_id}/shipping/tracking", data=data)
    assert refused.status_code == 422
    assert "Enter a whole number of items, 0 or more." in refused.text
    assert 'value="12345"' in refused.text and 'value="one"' in refused.text, "nothing typed is lost"

    data[f"qty_{second}"] = "0"
    refused = await client.post(f"/orders/{order_id}/shipping/tracking", data=data)
    assert refused.status_code == 422
    assert "does not look like a DHL tracking number" in refused.text
    assert not await Shipment.exists()

    data["tracking_number"] = "1234567890"
    added = await client.post(f"/orders/{order_id}/shipping/tracking", data=data)
    assert added.status_code == 200
    assert "Tracking added. Mark as shipped to send it to Test Marketplace." in added.text
    assert "Ready to ship" in added.text
    version = (await order_row(order_id))["version"]
    shipped = await client.post(
        f"/orders/{order_id}/shipping/mark-shipped", data={"_csrf_token": csrf, "version": str(version)}
    )
    assert shipped.status_code == 200
    assert "Marked as shipped: 1 parcel. Still to ship: SKU-2 × 1." in shipped.text
    assert (await order_row(order_id))["status"] == "partially_shipped"


async def test_a_viewer_sees_no_shipping_controls_and_cannot_post(client, users, channel):
    from models.orders.lifecycle import OrderStatus

    order_id = await order_in(channel, OrderStatus.AWAITING_FULFILLMENT)
    first, _ = await line_ids(order_id)
    await login(client, "viewer")
    page = await client.get(f"/orders/{order_id}")
    assert "Add tracking" not in page.text
    denied = await client.post(
        f"/orders/{order_id}/shipping/tracking",
        data={"_csrf_token": csrf_from(page.text), f"qty_{first}": "1", "no_tracking": "on"},
    )
    assert denied.status_code == 403
    assert not await Shipment.exists()


# Settings › Carriers without JavaScript ----------------------------------------------------------


async def test_a_tracking_format_that_could_stall_the_server_is_refused_with_a_message(client, users):
    await login(client, "admin")
    csrf = csrf_from((await client.get("/settings")).text)
    form = {"_csrf_token": csrf, "name": "Slow Post", "tracking_number_pattern": "(a|aa)+$"}
    refused = await client.post("/settings/carriers", data=form)
    assert refused.status_code == 422
    assert "takes too long to check some tracking numbers" in refused.text
    assert not await Carrier.exists()


async def test_admin_manages_carriers_with_field_messages(client, users, channel):
    from models.core.clock import now
    from models.db.tables import Channel

    await Channel.insert(Channel(name="Fnac", kind="mirakl", created_at=now()))
    channel = await Channel.select().where(Channel.name == "Fnac").first()
    await login(client, "admin")
    settings = await client.get("/settings")
    assert 'id="carriers"' in settings.text and "Add carrier" in settings.text
    csrf = csrf_from(settings.text)
    bad = {
        "_csrf_token": csrf,
        "name": "Colissimo",
        "tracking_url_pattern": "laposte.fr/suivi",
        "tracking_number_pattern": "[0-9A-Z{11,15}",
        f"code_{channel['id']}": "COLI",
    }
    refused = await client.post("/settings/carriers", data=bad)
    assert refused.status_code == 422
    assert "Enter a web address starting with https://" in refused.text
    assert "This is not a valid regular expression" in refused.text
    assert 'value="[0-9A-Z{11,15}"' in refused.text and 'value="COLI"' in refused.text, "nothing typed is lost"
    assert not await Carrier.exists()

    good = {
        **bad,
        "tracking_url_pattern": "https://laposte.example/{tracking}",
        "tracking_number_pattern": "[0-9A-Z]{11,15}",
    }
    added = await client.post("/settings/carriers", data=good)
    assert added.status_code == 200 and "Carrier Colissimo added." in added.text
    carrier = await Carrier.select().first()
    assert carrier["channel_codes"] == f'{{"{channel["id"]}": "COLI"}}'

    again = await client.post("/settings/carriers", data={**good, "name": " colissimo "})
    assert again.status_code == 422 and "A carrier named “colissimo” already exists." in again.text

    edit = await client.get(f"/settings/carriers/{carrier['id']}/edit")
    assert "Edit carrier Colissimo" in edit.text
    saved = await client.post(
        f"/settings/carriers/{carrier['id']}", data={**good, "name": "Colissimo Expert", f"code_{channel['id']}": ""}
    )
    assert saved.status_code == 200 and "Carrier Colissimo Expert saved." in saved.text
    stored = await Carrier.select().where(Carrier.id == carrier["id"]).first()
    assert (stored["name"], stored["channel_codes"]) == ("Colissimo Expert", "{}")

    deleted = await client.post(f"/settings/carriers/{carrier['id']}/delete", data={"_csrf_token": csrf})
    assert deleted.status_code == 200 and "Carrier Colissimo Expert deleted." in deleted.text
    assert not await Carrier.exists()


async def test_only_admins_change_carriers(client, users, channel):
    await create_carrier(CarrierForm(name="GLS"))
    await login(client, "operator")
    settings = await client.get("/settings")
    assert "GLS" in settings.text and "Add carrier" not in settings.text
    denied = await client.post("/settings/carriers", data={"_csrf_token": csrf_from(settings.text), "name": "UPS"})
    assert denied.status_code == 403
    assert await Carrier.count() == 1


async def test_a_deleted_carrier_leaves_shipments_their_name(client, users, channel, dhl):
    from models.fulfilment.shipping import add_tracking, mark_shipped
    from models.orders.lifecycle import OrderStatus

    order_id = await order_in(channel, OrderStatus.AWAITING_FULFILLMENT)
    first, _ = await line_ids(order_id)
    operator = Actor.user("operator")
    await add_tracking(order_id, {first: 1}, operator, carrier_id=dhl, tracking_number="1234567890")
    await Carrier.delete().where(Carrier.id == dhl)
    await mark_shipped(order_id, operator)
    shipment = await Shipment.select().first()
    assert (shipment["carrier"], shipment["carrier_name"], shipment["state"]) == (None, "DHL", "shipped")
    assert await OrderLine.count() == 2
