"""Shipping: Add tracking records a parcel ready to ship, Mark as shipped ships it and tells the channel.

The domain rules against the real database, then the whole way to each marketplace sandbox over HTTP.
"""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.sandbox.backmarket import BackMarketSandbox
from connectors.sandbox.mall import MallSandbox
from connectors.sandbox.mirakl import MiraklSandbox
from jobs.dispatcher import dispatch_channel_order_now, dispatch_due
from jobs.importer import sync_channel
from models.accounts import credentials
from models.core.actors import Actor
from models.core.clock import now
from models.core.errors import DomainError, FieldErrors, NotFound, OrderFinal
from models.db.tables import Channel, Order, OrderLine, Shipment
from models.fulfilment.carriers import CarrierForm, create_carrier
from models.fulfilment.shipping import add_shipment, add_tracking, channel_report, mark_shipped, remove_tracking
from models.orders.acceptance import accept_order
from models.orders.edits import set_line_quantity
from models.orders.lifecycle import OrderStatus, TransitionRefused
from models.orders.queries import OrderFilter, list_orders, order_detail
from tests.integration.support import event_kinds, order_events, order_row, outbox_for
from tests.integration.test_operations import line_ids, order_in, snapshot

S = OrderStatus
OPERATOR = Actor.user("operator")


@pytest.fixture
async def dhl(channel) -> dict:
    carrier_id = await create_carrier(
        CarrierForm(
            name="DHL",
            tracking_url_pattern="https://track.example/{tracking}",
            tracking_number_pattern=r"\d{10}",
            codes={channel["id"]: "DHL_EXPRESS"},
        )
    )
    return {"id": carrier_id, "name": "DHL"}


def channel_messages(rows: list[dict]) -> list[tuple[str, dict]]:
    """The shipping messages queued for the channel (the acceptance sent before is left out)."""
    return [
        (row["action"], json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"])
        for row in rows
        if row["target_kind"] == "channel" and row["action"] in ("tracking", "ship")
    ]


# Add tracking ------------------------------------------------------------------------------------


async def test_add_tracking_records_a_ready_parcel_and_tells_the_channel_nothing(channel, dhl):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, _ = await line_ids(order_id)
    outbox_before = await outbox_for(order_id)
    shipment_id = await add_tracking(order_id, {first: 1}, OPERATOR, carrier_id=dhl["id"], tracking_number="1234567890")
    order = await order_row(order_id)
    assert order["status"] == S.AWAITING_FULFILLMENT, "a parcel not shipped yet changes no status"
    assert order["shipped_at"] is None
    assert await outbox_for(order_id) == outbox_before, "nothing goes to the channel before Mark as shipped"
    shipment = await Shipment.select().where(Shipment.id == shipment_id).first()
    assert shipment["state"] == "ready"
    assert shipment["tracking_url"] == "https://track.example/1234567890"
    last = (await order_events(order_id))[-1]
    assert last["kind"] == "tracking_added"
    assert last["message"] == "Tracking added (DHL 1234567890): SKU-1 × 1. Not shipped yet."
    summary = (await order_detail(order_id)).shipping
    assert [(line.sku, line.shipped, line.ready, line.left) for line in summary.lines] == [
        ("SKU-1", 0, 1, 1),
        ("SKU-2", 0, 0, 1),
    ]


async def test_a_parcel_never_holds_more_than_is_left_counting_parcels_waiting_to_ship(channel):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    await add_tracking(order_id, {first: 1}, OPERATOR, no_tracking=True)
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as refused:
        await add_tracking(order_id, {first: 2, second: 1}, OPERATOR, no_tracking=True)
    assert refused.value.message == "A shipment can never hold more than the accepted quantity."
    assert refused.value.errors == {
        f"qty_{first}": "SKU-1: at most 1 left to ship. 1 more already has tracking waiting for Mark as shipped."
    }
    assert await snapshot(order_id) == before, "the valid line of a refused parcel is not recorded either"


async def test_every_problem_of_a_parcel_is_reported_at_once_and_nothing_is_saved(channel, dhl):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as refused:
        await add_tracking(order_id, {first: 5, second: -1}, OPERATOR, carrier_id=dhl["id"], tracking_number="ABC")
    assert refused.value.message == "Please correct the fields marked below; nothing was saved."
    assert refused.value.errors == {
        "tracking_number": "“ABC” does not look like a DHL tracking number. Check it for typos, "
        "or choose another carrier.",
        f"qty_{first}": "SKU-1: at most 2 left to ship.",
        f"qty_{second}": "SKU-2: enter a quantity of 0 or more.",
    }
    assert await snapshot(order_id) == before


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({}, {"carrier", "tracking_number"}),
        ({"tracking_number": "1234567890"}, {"carrier"}),
        ({"no_tracking": True, "tracking_number": "1234567890"}, {"tracking_number"}),
        ({"carrier_id": 999_999, "tracking_number": "1234567890"}, {"carrier"}),
        ({"no_tracking": True, "quantities": {}}, {"quantities"}),
    ],
    ids=["nothing", "no-carrier", "number-and-no-tracking", "unknown-carrier", "no-items"],
)
async def test_tracking_input_is_checked_field_by_field(channel, kwargs, errors):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, _ = await line_ids(order_id)
    quantities = kwargs.pop("quantities", {first: 1})
    before = await snapshot(order_id)
    with pytest.raises(FieldErrors) as refused:
        await add_tracking(order_id, quantities, OPERATOR, **kwargs)
    assert set(refused.value.errors) == errors
    assert all(message.endswith(".") for message in refused.value.errors.values())
    assert await snapshot(order_id) == before


async def test_no_tracking_needed_needs_no_carrier_and_a_carrier_without_format_takes_any_number(channel):
    order_id = await order_in(channel, S.PROCESSING)
    first, second = await line_ids(order_id)
    await add_tracking(order_id, {first: 2}, OPERATOR, no_tracking=True)
    post = await create_carrier(CarrierForm(name="Local post"))
    await add_tracking(order_id, {second: 1}, OPERATOR, carrier_id=post, tracking_number="any thing 42")
    result = await mark_shipped(order_id, OPERATOR)
    assert result.status == S.SHIPPED and result.parcels == 2
    sent = channel_messages(await outbox_for(order_id))
    assert [action for action, _ in sent] == ["tracking", "ship"], "a parcel without tracking sends no tracking"
    assert sent[0][1]["carrier_name"] == "Local post" and sent[0][1]["carrier_code"] == ""


@pytest.mark.parametrize("status", [s for s in OrderStatus], ids=str)
async def test_add_tracking_and_mark_as_shipped_only_while_the_order_can_ship(channel, status):
    order_id = await order_in(channel, status)
    lines = await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.position)
    second = lines[1]["id"]  # quantity 1, never shipped by `order_in` before the order is shipped
    before = await snapshot(order_id)
    if status in (S.AWAITING_FULFILLMENT, S.PROCESSING, S.PARTIALLY_SHIPPED):
        await add_tracking(order_id, {second: 1}, OPERATOR, no_tracking=True)
        await mark_shipped(order_id, OPERATOR)
        assert (await order_row(order_id))["status"] in (S.PARTIALLY_SHIPPED, S.SHIPPED)
        return
    for attempt in (
        lambda: add_tracking(order_id, {second: 1}, OPERATOR, no_tracking=True),
        lambda: mark_shipped(order_id, OPERATOR),
    ):
        # A delivered order is refused as final (OrderFinal), the others by the lifecycle (TransitionRefused).
        with pytest.raises(OrderFinal if status == S.DELIVERED else TransitionRefused) as refused:
            await attempt()
        assert str(refused.value).endswith(".") and S(status).label.lower() in str(refused.value)
    assert await snapshot(order_id) == before


# Mark as shipped ---------------------------------------------------------------------------------


async def test_two_partial_shipments_go_partially_shipped_then_shipped(channel, dhl):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    parcel_1 = await add_tracking(order_id, {first: 1}, OPERATOR, carrier_id=dhl["id"], tracking_number="1111111111")
    result = await mark_shipped(order_id, OPERATOR)
    assert result.status == S.PARTIALLY_SHIPPED
    assert result.left == [("SKU-1", 1), ("SKU-2", 1)]
    order = await order_row(order_id)
    assert order["status"] == S.PARTIALLY_SHIPPED and order["shipped_at"] is None
    sent = channel_messages(await outbox_for(order_id))
    assert [action for action, _ in sent] == ["tracking"]
    assert sent[0][1]["tracking_number"] == "1111111111"
    assert sent[0][1]["carrier_code"] == "DHL_EXPRESS", "the carrier's code on this channel"
    assert sent[0][1]["tracking_url"] == "https://track.example/1111111111"
    assert sent[0][1]["skus"] == {"SKU-1": 1}

    await add_tracking(order_id, {first: 1, second: 1}, OPERATOR, carrier_id=dhl["id"], tracking_number="2222222222")
    result = await mark_shipped(order_id, OPERATOR)
    assert result.status == S.SHIPPED and result.left == []
    order = await order_row(order_id)
    assert order["status"] == S.SHIPPED and order["shipped_at"] is not None
    sent = channel_messages(await outbox_for(order_id))
    assert [action for action, _ in sent] == ["tracking", "tracking", "ship"], "tracking goes before the ship step"
    assert sent[1][1]["skus"] == {"SKU-1": 1, "SKU-2": 1}
    shipments = await Shipment.select().where(Shipment.order == order_id).order_by(Shipment.id)
    assert [(s["id"] == parcel_1, s["state"]) for s in shipments] == [(True, "shipped"), (False, "shipped")]
    assert (await event_kinds(order_id))[-6:] == [
        "tracking_added",
        "shipment_shipped",
        "status_changed",
        "tracking_added",
        "shipment_shipped",
        "status_changed",
    ]
    found = await list_orders(OrderFilter(q="2222222222"))
    assert [row["id"] for row in found.rows] == [order_id], "shipped tracking numbers are searchable"


async def test_mark_as_shipped_ships_every_parcel_waiting_at_once(channel, dhl):
    order_id = await order_in(channel, S.PROCESSING)
    first, second = await line_ids(order_id)
    await add_tracking(order_id, {first: 2}, OPERATOR, carrier_id=dhl["id"], tracking_number="3333333333")
    await add_tracking(order_id, {second: 1}, OPERATOR, carrier_id=dhl["id"], tracking_number="4444444444")
    result = await mark_shipped(order_id, OPERATOR)
    assert (result.parcels, result.status) == (2, S.SHIPPED)
    assert len(result.channel_keys) == 3
    again = await snapshot(order_id)
    with pytest.raises(TransitionRefused, match="while the order is shipped"):
        await mark_shipped(order_id, OPERATOR)
    assert await snapshot(order_id) == again


async def test_mark_as_shipped_with_nothing_added_explains_what_to_do(channel):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match="use Add tracking first"):
        await mark_shipped(order_id, OPERATOR)
    assert await snapshot(order_id) == before


async def test_a_parcel_waiting_to_ship_can_be_removed_a_shipped_one_cannot(channel, dhl):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, second = await line_ids(order_id)
    wrong = await add_tracking(order_id, {first: 2}, OPERATOR, carrier_id=dhl["id"], tracking_number="5555555555")
    assert await remove_tracking(order_id, wrong, OPERATOR) == "DHL 5555555555: SKU-1 × 2"
    assert not await Shipment.exists().where(Shipment.id == wrong)
    assert (await event_kinds(order_id))[-1] == "tracking_removed"
    shipped = await add_tracking(order_id, {second: 1}, OPERATOR, no_tracking=True)
    await mark_shipped(order_id, OPERATOR)
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match="has shipped and the channel was told"):
        await remove_tracking(order_id, shipped, OPERATOR)
    with pytest.raises(NotFound):
        await remove_tracking(order_id, shipped + 1000, OPERATOR)
    assert await snapshot(order_id) == before


async def test_a_parcel_that_no_longer_fits_is_refused_at_mark_as_shipped(channel):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, _ = await line_ids(order_id)
    await add_tracking(order_id, {first: 2}, OPERATOR, no_tracking=True)
    await set_line_quantity(order_id, first, 1, OPERATOR)  # only part was in stock after all
    before = await snapshot(order_id)
    with pytest.raises(DomainError, match=r"holds 2, but only 1 is left to ship\. Remove that tracking"):
        await mark_shipped(order_id, OPERATOR)
    assert await snapshot(order_id) == before


async def test_a_stale_version_is_a_conflict_and_changes_nothing(channel):
    order_id = await order_in(channel, S.AWAITING_FULFILLMENT)
    first, _ = await line_ids(order_id)
    seen = (await order_row(order_id))["version"]
    await add_tracking(order_id, {first: 1}, OPERATOR, no_tracking=True, expected_version=seen)
    before = await snapshot(order_id)
    from models.core.errors import Conflict

    with pytest.raises(Conflict, match="changed by operator while you were working on it"):
        await add_tracking(order_id, {first: 1}, Actor.user("someone"), no_tracking=True, expected_version=seen)
    with pytest.raises(Conflict):
        await mark_shipped(order_id, Actor.user("someone"), expected_version=seen)
    assert await snapshot(order_id) == before


async def test_supplier_parcels_still_ship_at_once_and_match_the_list_by_name(channel, dhl):
    order_id = await order_in(channel, S.PROCESSING)
    first, second = await line_ids(order_id)
    await add_shipment(
        order_id, {first: 2, second: 1}, Actor("supplier", "BigBuy"), carrier_name="dhl", tracking_number="6666666666"
    )
    order = await order_row(order_id)
    assert order["status"] == S.SHIPPED
    sent = channel_messages(await outbox_for(order_id))
    assert [action for action, _ in sent] == ["tracking", "ship"]
    assert sent[0][1]["carrier_code"] == "DHL_EXPRESS" and sent[0][1]["carrier_name"] == "DHL"


# To the marketplaces, over HTTP -------------------------------------------------------------------


async def make_channel(kind: str, base_url: str, creds: dict[str, str], currency: str = "EUR") -> dict:
    await Channel.insert(
        Channel(
            name=f"{kind} sandbox",
            kind=kind,
            base_url=base_url,
            credentials=credentials.encrypt(creds),
            currency=currency,
            created_at=now(),
        )
    )
    return await Channel.select().where(Channel.kind == kind).first()


ADDRESS_FR = {"street_1": "12 rue de la Paix", "zip_code": "75002", "city": "Paris", "country_iso_code": "FRA"}


def mirakl_order(order_id: str) -> dict:
    person = {"firstname": "Zoë", "lastname": "Dvořák"}
    return {
        "order_id": order_id,
        "order_state": "WAITING_ACCEPTANCE",
        "currency_iso_code": "EUR",
        "customer": {**person, "shipping_address": {**person, **ADDRESS_FR}},
        "order_lines": [
            {"order_line_id": f"{order_id}-1", "offer_sku": "BB-1001", "quantity": 2, "price_unit": 19.9},
            {"order_line_id": f"{order_id}-2", "offer_sku": "BB-1002", "quantity": 1, "price_unit": 9.9},
        ],
    }


async def accepted_from(channel: dict, client: httpx.AsyncClient, channel_order_id: str) -> int:
    """Import the order, accept it and let the channel know, as a merchant would before shipping."""
    await sync_channel(channel["id"], client)
    order = await Order.select(Order.id).where(Order.channel_order_id == channel_order_id).first()
    await accept_order(order["id"], OPERATOR)
    await dispatch_due(client)
    return order["id"]


async def ship_in_two_parcels(order_id: int, client: httpx.AsyncClient, carrier: int, numbers: tuple[str, str]):
    first, second = await line_ids(order_id)
    first_qty = (await OrderLine.select(OrderLine.quantity).where(OrderLine.id == first).first())["quantity"]
    await add_tracking(order_id, {first: first_qty}, OPERATOR, carrier_id=carrier, tracking_number=numbers[0])
    result = await mark_shipped(order_id, OPERATOR)
    assert result.status == S.PARTIALLY_SHIPPED
    await dispatch_channel_order_now(order_id, client)
    report_1 = await channel_report(result.channel_keys, "The marketplace")
    await add_tracking(order_id, {second: 1}, OPERATOR, carrier_id=carrier, tracking_number=numbers[1])
    result = await mark_shipped(order_id, OPERATOR)
    assert result.status == S.SHIPPED
    await dispatch_channel_order_now(order_id, client)
    report_2 = await channel_report(result.channel_keys, "The marketplace")
    return report_1, report_2


async def test_mirakl_gets_each_tracking_then_the_ship_step(database_url, serve_sandbox):
    sandbox = MiraklSandbox(seed=2)
    sandbox.add_order(mirakl_order("MK-SHIP-1"))
    channel = await make_channel("mirakl", serve_sandbox(sandbox), {"api_key": "sandbox-mirakl-key"})
    carrier = await create_carrier(CarrierForm(name="Colissimo", codes={channel["id"]: "COLI"}))
    async with httpx.AsyncClient() as client:
        order_id = await accepted_from(channel, client, "MK-SHIP-1")
        reports = await ship_in_two_parcels(order_id, client, carrier, ("6A0000000001", "6A0000000002"))
    assert reports == (
        ("The marketplace confirmed the tracking.", "success"),
        ("The marketplace confirmed the tracking and that the order shipped.", "success"),
    )
    trackings = [d for op, oid, d in sandbox.operations if op == "tracking" and oid == "MK-SHIP-1"]
    assert [(t["carrier_code"], t["tracking_number"]) for t in trackings] == [
        ("COLI", "6A0000000001"),
        ("COLI", "6A0000000002"),
    ]
    view = sandbox.view("MK-SHIP-1")
    assert view["order_state"] == "SHIPPED" and view["operations"]["ship"] == 1
    assert (await order_row(order_id))["channel_status"] == "SHIPPED"


async def test_back_market_ships_each_line_with_its_own_tracking(database_url, serve_sandbox):
    sandbox = BackMarketSandbox(seed=2)
    order = sandbox.add_order(
        {
            "state": 1,
            "shipping_address": {
                "first_name": "Hélène",
                "last_name": "Dvořák",
                "street": "12 rue de la Paix",
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
            "orderlines": [
                {"listing": "IPH-13-128-BLK", "quantity": 1, "price": "489.00"},
                {"listing": "CASE-13-CLR", "quantity": 1, "price": "19.00"},
            ],
        }
    )
    bm_id = str(order["order_id"])
    channel = await make_channel("backmarket", serve_sandbox(sandbox), {"token": "sandbox-backmarket-token"})
    carrier = await create_carrier(CarrierForm(name="UPS", codes={channel["id"]: "UPS Standard"}))
    async with httpx.AsyncClient() as client:
        order_id = await accepted_from(channel, client, bm_id)
        await ship_in_two_parcels(order_id, client, carrier, ("1Z0000000000000001", "1Z0000000000000002"))
    view = sandbox.view(bm_id)
    assert view["state"] == 9
    assert [(line["tracking"]["tracking_number"], line["tracking"]["shipper"]) for line in view["lines"]] == [
        ("1Z0000000000000001", "UPS Standard"),
        ("1Z0000000000000002", "UPS Standard"),
    ]


async def test_mall_ships_with_the_first_tracking_and_updates_it_with_the_second(database_url, serve_sandbox):
    sandbox = MallSandbox(seed=2)
    order = sandbox.add_order(
        {
            "status": "open",
            "address": {
                "name": "Jiří Dvořák",
                "street": "Masarykova 12",
                "city": "Brno",
                "zip": "60200",
                "country": "CZ",
            },
            "items": [
                {"id": "SB-0007", "title": "Yoga mat", "quantity": 1, "price": 799},
                {"id": "SB-0008", "title": "Yoga block", "quantity": 1, "price": 199},
            ],
        }
    )
    mall_id = str(order["id"])
    channel = await make_channel("mall", serve_sandbox(sandbox), {"client_id": "sandbox-mall-client"}, "CZK")
    carrier = await create_carrier(CarrierForm(name="PPL", tracking_url_pattern="https://ppl.example/{tracking}"))
    async with httpx.AsyncClient() as client:
        order_id = await accepted_from(channel, client, mall_id)
        await ship_in_two_parcels(order_id, client, carrier, ("PPL-0001", "PPL-0002"))
    view = sandbox.control_view(sandbox.orders[int(mall_id)])
    assert view["status"] == "shipped"
    assert view["tracking"] == {"tracking_number": "PPL-0002", "tracking_url": "https://ppl.example/PPL-0002"}
    shipped = [d for op, oid, d in sandbox.operations if op == "shipped" and oid == mall_id]
    updated = [d for op, oid, d in sandbox.operations if op == "tracking" and oid == mall_id]
    assert [d["tracking_number"] for d in shipped] == ["PPL-0001"], "the first parcel ships the order on MALL"
    assert [d["tracking_number"] for d in updated] == ["PPL-0002"]
    assert (await order_row(order_id))["status"] == S.SHIPPED


async def test_a_supplier_parcel_is_recorded_even_when_its_tracking_does_not_match_the_carrier_format(channel, dhl):
    """The format check helps a merchant typing a number; a supplier's own tracking is taken as it is."""
    order_id = await order_in(channel, S.PROCESSING)
    quantities = {line["id"]: line["quantity"] for line in await line_ids_and_quantities(order_id)}
    shipment_id = await add_shipment(
        order_id, quantities, Actor("supplier", "BigBuy"), carrier_name="DHL", tracking_number="JD0146000031"
    )
    shipment = await Shipment.select().where(Shipment.id == shipment_id).first()
    assert shipment["tracking_number"] == "JD0146000031" and shipment["carrier_name"] == "DHL"
    assert (await order_row(order_id))["status"] == S.SHIPPED


async def line_ids_and_quantities(order_id: int) -> list[dict]:
    return await OrderLine.select(OrderLine.id, OrderLine.quantity).where(OrderLine.order == order_id)


MALL_ORDER = {
    "status": "open",
    "address": {"name": "Jiří Dvořák", "street": "Masarykova 12", "city": "Brno", "zip": "60200", "country": "CZ"},
    "items": [{"id": "SB-0007", "title": "Yoga mat", "quantity": 1, "price": 799}],
}


@pytest.mark.parametrize(
    "poison",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "https://a.example/x\r\ny",
        "//x",
    ],
)
async def test_a_supplier_tracking_link_that_is_not_a_web_address_is_never_kept_shown_or_forwarded(
    database_url, serve_sandbox, poison
):
    sandbox = MallSandbox(seed=3)
    mall_id = str(sandbox.add_order(MALL_ORDER)["id"])
    channel = await make_channel("mall", serve_sandbox(sandbox), {"client_id": "sandbox-mall-client"}, "CZK")
    await create_carrier(CarrierForm(name="PPL", tracking_url_pattern="https://ppl.example/{tracking}"))
    async with httpx.AsyncClient() as client:
        order_id = await accepted_from(channel, client, mall_id)
        quantities = {line["id"]: line["quantity"] for line in await line_ids_and_quantities(order_id)}
        shipment_id = await add_shipment(
            order_id,
            quantities,
            Actor("supplier", "BigBuy"),
            carrier_name="PPL",
            tracking_number="PPL-0009",
            tracking_url=poison,
        )
        await dispatch_channel_order_now(order_id, client)
    shipment = await Shipment.select().where(Shipment.id == shipment_id).first()
    assert shipment["tracking_url"] == "https://ppl.example/PPL-0009", "the carrier's own page instead"
    view = sandbox.control_view(sandbox.orders[int(mall_id)])
    assert view["tracking"]["tracking_url"] == "https://ppl.example/PPL-0009"


async def test_a_stored_tracking_link_that_is_not_a_web_address_is_not_forwarded(database_url, serve_sandbox):
    """A parcel recorded before links were checked: the channel gets no link rather than a script."""
    sandbox = MiraklSandbox(seed=4)
    sandbox.add_order(mirakl_order("MK-POISON-1"))
    channel = await make_channel("mirakl", serve_sandbox(sandbox), {"api_key": "sandbox-mirakl-key"})
    carrier = await create_carrier(CarrierForm(name="Colissimo", codes={channel["id"]: "COLI"}))
    async with httpx.AsyncClient() as client:
        order_id = await accepted_from(channel, client, "MK-POISON-1")
        quantities = {line["id"]: line["quantity"] for line in await line_ids_and_quantities(order_id)}
        shipment_id = await add_tracking(order_id, quantities, OPERATOR, carrier_id=carrier, tracking_number="6A01")
        await Shipment.update({Shipment.tracking_url: "javascript:alert(1)"}).where(Shipment.id == shipment_id)
        await mark_shipped(order_id, OPERATOR)
        await dispatch_channel_order_now(order_id, client)
    trackings = [d for op, oid, d in sandbox.operations if op == "tracking" and oid == "MK-POISON-1"]
    assert [t["tracking_number"] for t in trackings] == ["6A01"]
    tracking = sandbox.view("MK-POISON-1")["tracking"]
    assert tracking["tracking_number"] == "6A01"
    assert tracking["carrier_url"] is None, "no script reaches the marketplace"
    assert all("javascript" not in json.dumps(t) for t in trackings)
