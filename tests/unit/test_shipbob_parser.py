"""The ShipBob answer parsers: any JSON gives a result or a `ShipBobResponseError` with a message."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sandbox.shipbob import ShipBobSandbox
from connectors.shipbob import (
    ShipBobResponseError,
    error_messages,
    order_payload,
    parse_created_id,
    parse_order_list,
    parse_products,
    parse_state,
    refusal_problems,
)
from models.ports import SUPPLIER_STATUSES, SupplierAddress, SupplierLine, SupplierOrderRequest

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
ADDRESS = SupplierAddress("Zoë", "Dvořák", "12 rue de la Paix", "75002", "Paris", "FR")


def sample_orders() -> list[dict[str, Any]]:
    """Orders as the sandbox answers them, in every shipment status."""
    sandbox = ShipBobSandbox(seed=5, clock=lambda: dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC))
    sandbox.set_inventory({"SB-0999": 1})
    lines = (SupplierLine("BB-1001", 2, 1), SupplierLine("SB-0420", 1, 2))
    bodies = [
        order_payload(SupplierOrderRequest("P-1", ADDRESS, lines)),
        order_payload(SupplierOrderRequest("H-1", SupplierAddress(**{**ADDRESS.__dict__, "postcode": "7500"}), lines)),
        order_payload(SupplierOrderRequest("E-1", ADDRESS, (SupplierLine("SB-0999", 4),))),
        order_payload(SupplierOrderRequest("S-1", ADDRESS, lines)),
        order_payload(SupplierOrderRequest("C-1", ADDRESS, lines)),
    ]
    for body in bodies:
        assert sandbox.create_order(body).status_code == 201
    sandbox.ship(sandbox.by_reference["S-1"], "UPS", "1Z1")
    sandbox.cancel_order(sandbox.orders[sandbox.by_reference["C-1"]])
    return json.loads(json.dumps(list(sandbox.orders.values())))


SAMPLES = sample_orders()


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    document = copy.deepcopy(document)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def parses_or_refuses(data: Any) -> None:
    try:
        state = parse_state(data)
    except ShipBobResponseError as exc:
        assert str(exc).strip(), "a refusal must say why"
        return
    assert state.supplier_order_id and state.status in SUPPLIER_STATUSES
    assert isinstance(state.message, str)
    for tracking in state.trackings:
        assert tracking.tracking_number and all(isinstance(q, int) and q > 0 for q in tracking.skus.values())


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_is_an_order_state_or_a_refusal_with_a_message(data: Any) -> None:
    parses_or_refuses(data)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_real_order_with_any_one_field_broken_is_parsed_or_refused(data: st.DataObject) -> None:
    order = data.draw(st.sampled_from(SAMPLES))
    path = data.draw(st.sampled_from(paths(order)))
    parses_or_refuses(replace(order, path, data.draw(json_values)))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_real_order_with_a_field_removed_is_parsed_or_refused(data: st.DataObject) -> None:
    order = copy.deepcopy(data.draw(st.sampled_from(SAMPLES)))
    path = data.draw(st.sampled_from(paths(order)))
    target = order
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    parses_or_refuses(order)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values | st.lists(st.sampled_from(SAMPLES) | json_values, max_size=3))
def test_order_lists_products_and_created_ids_parse_or_refuse(data: Any) -> None:
    for parse in (parse_order_list, parse_products, parse_created_id):
        try:
            result = parse(data)
        except ShipBobResponseError as exc:
            assert str(exc).strip()
            continue
        if parse is parse_created_id:
            assert isinstance(result, str) and result
        elif parse is parse_products:
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())
        else:
            assert isinstance(result, list)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values | st.dictionaries(st.sampled_from(["errors", "title", "message", "", "status"]), json_values))
def test_any_error_body_gives_messages_and_never_raises(body: Any) -> None:
    pairs = error_messages(body)
    assert all(isinstance(key, str) and isinstance(message, str) for key, message in pairs)
    order = SupplierOrderRequest("R", ADDRESS, (SupplierLine("A", 1),))
    problems = refusal_problems(pairs, order)
    assert problems and all(p.code and p.message for p in problems)


def test_every_sample_status() -> None:
    states = {state.internal_reference: state for state in map(parse_state, SAMPLES)}
    assert states["P-1"].status == "processed" and states["P-1"].message == ""
    assert states["H-1"].status == "on_hold" and "not a valid postal code for FR" in states["H-1"].message
    assert states["E-1"].status == "error" and states["E-1"].message.startswith("Exception — No Stock On Hand")
    assert states["S-1"].status == "shipped"
    assert [(t.carrier, t.tracking_number, dict(t.skus)) for t in states["S-1"].trackings] == [
        ("UPS", "1Z1", {"BB-1001": 2, "SB-0420": 1})
    ]
    assert states["C-1"].status == "cancelled"


def order(*shipments: dict[str, Any], status: str = "Processing") -> dict[str, Any]:
    return {"id": 7, "reference_id": "R-7", "status": status, "shipments": list(shipments)}


@pytest.mark.parametrize(
    ("shipment_status", "expected"),
    [
        ("Processing", "processed"),
        ("OnHold", "on_hold"),
        ("On Hold", "on_hold"),
        ("Exception", "error"),
        ("Completed", "shipped"),
        ("Cancelled", "cancelled"),
        ("ImportReview", "pending"),
        ("LabeledCreated", "processed"),
    ],
)
def test_shipment_statuses_map_to_supplier_statuses(shipment_status: str, expected: str) -> None:
    assert parse_state(order({"id": 1, "status": shipment_status})).status == expected


def test_holds_win_over_exceptions_and_several_shipments_are_named() -> None:
    held = {
        "id": 1,
        "status": "OnHold",
        "status_details": [{"name": "InvalidAddress", "description": "Invalid Address"}],
    }
    short = {"id": 2, "status": "Exception", "status_details": [{"name": "OutOfStock"}]}
    shipped = {"id": 3, "status": "Completed", "tracking": {"carrier": "DHL", "tracking_number": "D1"}}
    state = parse_state(order(held, short, shipped))
    assert state.status == "on_hold"
    assert state.message == "Shipment 1: On hold — Invalid Address. Shipment 2: Exception — OutOfStock."
    assert [t.tracking_number for t in state.trackings] == ["D1"]
    assert parse_state(order(shipped, {"id": 4, "status": "Processing"})).status == "processed"
    assert parse_state(order(shipped, {"id": 4, "status": "Cancelled"})).status == "shipped"


def test_without_shipments_the_order_status_decides_and_unknown_ones_are_said() -> None:
    assert parse_state(order(status="Fulfilled")).status == "shipped"
    assert parse_state(order(status="Cancelled")).status == "cancelled"
    state = parse_state(order(status="Teleported"))
    assert state.status == "pending" and "Teleported" in state.message
    weird = parse_state(order({"id": 1, "status": "CleanSweeped"}))
    assert weird.status == "pending" and "CleanSweeped" in weird.message


def test_error_bodies_in_shipbobs_shapes() -> None:
    assert error_messages({"": ["Cannot insert order with existing ReferenceId"]}) == [
        ("", "Cannot insert order with existing ReferenceId")
    ]
    validation = {
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": {"products[1].name": ["No product with reference_id “X” exists; a name is required to create it."]},
    }
    pairs = error_messages(validation)
    assert pairs == [("products[1].name", "No product with reference_id “X” exists; a name is required to create it.")]
    lines = (SupplierLine("A", 1), SupplierLine("X", 1))
    [problem] = refusal_problems(pairs, SupplierOrderRequest("R", ADDRESS, lines))
    assert (problem.code, problem.sku) == ("unknown_sku", "X")
    assert error_messages({"title": "Not Found", "status": 404, "detail": "Order 9 was not found."}) == [
        ("", "Order 9 was not found.")
    ]
    assert error_messages({"message": "Authorization has been denied for this request."}) == [
        ("", "Authorization has been denied for this request.")
    ]
    assert error_messages("") == [] and error_messages("Bad gateway") == [("", "Bad gateway")]


def test_order_payload_follows_shipbobs_create_order_model() -> None:
    body = order_payload(
        SupplierOrderRequest(
            "WB-9-1",
            SupplierAddress("Zoë", "Dvořák", "Václavské náměstí 19", "110 00", "Praha", "cz", company="ACME"),
            (SupplierLine("BB-1001", 2, 5), SupplierLine("SB-0007", 1)),
        )
    )
    assert body["reference_id"] == body["order_number"] == "WB-9-1"
    assert body["type"] == "DTC" and body["shipping_method"] == "Standard"
    assert body["recipient"]["name"] == "Zoë Dvořák"
    assert body["recipient"]["address"] == {
        "address1": "Václavské náměstí 19",
        "address2": None,
        "company_name": "ACME",
        "city": "Praha",
        "state": None,
        "country": "CZ",
        "zip_code": "110 00",
    }
    assert body["products"] == [
        {"reference_id": "BB-1001", "quantity": 2, "external_line_id": 5},
        {"reference_id": "SB-0007", "quantity": 1},
    ]
