"""BigBuy answer parsing: any input is read or refused with a message; real answers keep every detail."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.bigbuy import (
    BigBuyFormatError,
    ErrorBody,
    existing_order_id,
    format_amount,
    map_status,
    order_body,
    parse_amount,
    parse_carriers,
    parse_check,
    parse_error,
    parse_location,
    parse_order,
    parse_purse,
    parse_reference_answer,
    parse_trackings,
    problems_for,
)
from connectors.sandbox.bigbuy import BigBuySandbox
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


def parse_any_amount(value: Any) -> int:
    return parse_amount(value, "An amount")


PARSERS = [
    parse_any_amount,
    parse_purse,
    parse_check,
    parse_order,
    parse_reference_answer,
    parse_trackings,
    parse_carriers,
    parse_location,
]


def reads_or_refuses(parser: Any, data: Any) -> Any:
    try:
        return parser(data)
    except BigBuyFormatError as exc:
        assert str(exc).strip(), "a refusal must say why"
        return None


def sample_answers() -> dict[str, Any]:
    """Real answers, as the sandbox writes them (the shapes BigBuy uses)."""
    sandbox = BigBuySandbox(seed=3)
    body = order_body(request("WB-1", ("BB-1001", 2), ("SB-0999", 1)))
    failure, priced = sandbox._evaluate(body)
    assert failure is None
    check = sandbox._check_answer(priced)
    order_id = sandbox._place(priced)
    sandbox.ship(order_id, {"carrier": "GLS", "tracking_number": "GLS-1"})
    return {
        "check": json.loads(json.dumps(check)),
        "order": json.loads(json.dumps(sandbox.orders[order_id])),
        "trackings": json.loads(json.dumps(sandbox.trackings_of([order_id]))),
        "reference": {"id": order_id, "totalPaidTaxIncl": f"{sandbox.orders[order_id]['totalPaidTaxIncl']:.2f}"},
        "carriers": [{"id": str(c.id), "name": c.name} for c in sandbox.carriers],
    }


def error_answers() -> list[dict[str, Any]]:
    sandbox = BigBuySandbox(seed=3, wallet="12.40")
    bodies = [
        order_body(request("WB-1", ("XX-1", 1))),
        order_body(request("WB-1", ("BB-1001", 500))),
        order_body(request("WB-1", postcode="7500")),
        order_body(request("WB-1", country="JP")),
        order_body(request("WB-1", ("SB-0999", 3))),
        order_body(request("WB-1", last_name="")),
    ]
    answers = []
    for body in bodies:
        failure, _ = sandbox._evaluate(body)
        assert failure is not None
        answers.append(json.loads(json.dumps(failure.content)))
    answers.append({"code": "ER008", "message": json.dumps({"info": "Order already exists.", "data": {"orderId": 7}})})
    answers.append(
        {
            "code": 409,
            "message": json.dumps({"info": "Products error.", "data": [{"sku": "S1", "message": "Inactive product."}]}),
        }
    )
    return answers


def request(
    reference: str, *lines: tuple[str, int], country: str = "FR", postcode: str = "75002", last_name: str = "Dubois"
) -> SupplierOrderRequest:
    return SupplierOrderRequest(
        internal_reference=reference,
        address=SupplierAddress("Inès", last_name, "4 place Bellecour", postcode, "Lyon", country, phone="+33 6"),
        lines=tuple(SupplierLine(sku, quantity) for sku, quantity in lines or [("BB-1001", 1)]),
    )


ANSWERS = sample_answers()
ERRORS = error_answers()


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


# -- any input -------------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PARSERS), json_values)
def test_any_json_is_read_or_refused_with_a_message(parser: Any, data: Any) -> None:
    reads_or_refuses(parser, data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_is_an_error_body_or_not_never_an_exception(data: Any) -> None:
    error = parse_error(data)
    if error is None:
        return
    assert isinstance(error, ErrorBody) and error.code and error.info.strip()
    for problem in problems_for(error):
        assert problem.code and problem.message.strip()
    existing_order_id(error)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(st.sampled_from(["ER001", "ER003", "ER004", "ER005", "ER008", "ER009", "ER010", "ER013"]), st.integers()),
    json_values,
    json_values,
)
def test_error_bodies_with_any_message_and_data_never_raise(code: Any, info: Any, data: Any) -> None:
    for message in (json.dumps({"info": info, "data": data}, default=str), info):
        error = parse_error({"code": code, "message": message, "errors": data})
        if error is not None:
            assert error.info.strip()
            for problem in problems_for(error):
                assert problem.code and problem.message.strip()
            existing_order_id(error)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_real_answer_with_any_one_field_broken_is_read_or_refused(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(ANSWERS)))
    answer = ANSWERS[name]
    parser = {
        "check": parse_check,
        "order": parse_order,
        "trackings": parse_trackings,
        "carriers": parse_carriers,
        "reference": parse_reference_answer,
    }
    path = data.draw(st.sampled_from(paths(answer)))
    reads_or_refuses(parser[name], replace(answer, path, data.draw(json_values)))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_real_error_with_any_one_field_broken_never_raises(data: st.DataObject) -> None:
    answer = data.draw(st.sampled_from(ERRORS))
    path = data.draw(st.sampled_from(paths(answer)))
    error = parse_error(replace(answer, path, data.draw(json_values)))
    if error is not None:
        problems_for(error)
        existing_order_id(error)


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_any_status_text_maps_to_a_supplier_status(text: str) -> None:
    assert map_status(text) in SUPPLIER_STATUSES


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_any_location_text_is_an_id_or_refused(text: str) -> None:
    order_id = reads_or_refuses(parse_location, text)
    if order_id is not None:
        assert order_id and "/" not in order_id


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(max_size=20),
    st.lists(
        st.tuples(st.sampled_from(["BB-1001", "SB-0007", " BB-1001 ", "X"]), st.integers(1, 5)), min_size=1, max_size=6
    ),
    st.text(max_size=20),
    st.text(max_size=3),
)
def test_order_body_is_json_and_adds_up_quantities(reference: str, lines: list, name: str, country: str) -> None:
    order = SupplierOrderRequest(
        reference,
        SupplierAddress(name, name, name, name, name, country, street2=name),
        tuple(SupplierLine(sku, quantity) for sku, quantity in lines),
        shipping_method=name,
    )
    body = json.loads(json.dumps(order_body(order)))["order"]
    assert body["internalReference"] == reference and body["paymentMethod"] == "moneybox"
    totals: dict[str, int] = {}
    for sku, quantity in lines:
        totals[sku.strip()] = totals.get(sku.strip(), 0) + quantity
    assert {p["reference"]: p["quantity"] for p in body["products"]} == totals
    assert all(carrier["name"].strip() for carrier in body["carriers"])


# -- real answers keep every detail -------------------------------------------------------------


def test_real_answers_are_read() -> None:
    sandbox_total = Decimal(repr(ANSWERS["check"]["total"]))
    assert parse_check(ANSWERS["check"]) == int(sandbox_total * 100)
    state = parse_order(ANSWERS["order"])
    assert (state.supplier_order_id, state.internal_reference, state.status) == ("10000001", "WB-1", "shipped")
    assert state.message == "BigBuy status: Shipped"
    [(order_id, [parcel])] = parse_trackings(ANSWERS["trackings"]).items()
    assert order_id == "10000001" and (parcel.carrier, parcel.tracking_number) == ("GLS", "GLS-1")
    assert parse_carriers(ANSWERS["carriers"]) == ["Standard Shipment", "GLS", "DHL", "Correos"]


@pytest.mark.parametrize(
    ("value", "cents"),
    [("100.00", 10000), (12.4, 1240), ("12.40", 1240), (0, 0), ("0.005", 1), (57.9, 5790), (Decimal("1.10"), 110)],
)
def test_amounts(value: Any, cents: int) -> None:
    assert parse_amount(value, "x") == cents
    assert parse_purse(value) == cents


@pytest.mark.parametrize("value", ["NaN", "12,40", "", None, True, [], {}, "1e400", 10**12, float("inf")])
def test_unreadable_amounts_are_refused(value: Any) -> None:
    with pytest.raises(BigBuyFormatError, match="amount"):
        parse_amount(value, "The wallet balance")


def test_format_amount() -> None:
    assert [format_amount(c) for c in (1240, 5, 0, -150)] == ["12.40", "0.05", "0.00", "-1.50"]


@pytest.mark.parametrize(
    ("header", "order_id"),
    [
        ("/rest/order/11958305", "11958305"),
        ("/rest/order/11958305.json", "11958305"),
        ("https://api.bigbuy.eu/rest/order/11958305/", "11958305"),
        ("/sandbox/bigbuy/rest/order/10000001?x=1", "10000001"),
    ],
)
def test_location_header(header: str, order_id: str) -> None:
    assert parse_location(header) == order_id


@pytest.mark.parametrize("header", [None, "", "/rest/order/", "/rest/orders", "nothing"])
def test_location_without_an_id_is_refused(header: Any) -> None:
    with pytest.raises(BigBuyFormatError):
        parse_location(header)


def test_error_codes_become_review_problems() -> None:
    codes = [[p.code for p in problems_for(parse_error(answer))] for answer in ERRORS]  # type: ignore[arg-type]
    assert codes == [
        ["unknown_sku"],
        ["out_of_stock"],
        ["invalid_postcode"],
        ["no_carrier"],
        ["wallet_insufficient"],
        ["missing_surname"],
        [],
        ["supplier_refused"],
    ]
    er008 = parse_error(ERRORS[6])
    assert er008 is not None and existing_order_id(er008) == "7" and er008.info == "Order already exists."
    [inactive] = problems_for(parse_error(ERRORS[7]))  # type: ignore[arg-type]
    assert inactive.sku == "S1" and inactive.message == "Products error. Inactive product."


def test_error_messages_fill_in_what_bigbuy_left_out() -> None:
    postcode = parse_error(
        {"code": "ER004", "message": json.dumps({"info": "Bad postcode.", "data": {"zipExample": "46005"}})}
    )
    assert postcode is not None
    assert problems_for(postcode)[0].message == "Bad postcode. Example of a valid postcode: 46005."
    wallet = parse_error(
        {
            "code": "ER005",
            "message": json.dumps(
                {"info": "Moneybox too low", "data": {"moneyBoxAmount": 12.4, "totalOrder": "57.90"}}
            ),
        }
    )
    assert wallet is not None
    assert problems_for(wallet)[0].message == "Insufficient wallet balance: 12.40 EUR available, 57.90 EUR needed."
    plain = parse_error({"code": "ER010", "message": "No carrier."})
    assert plain is not None and problems_for(plain)[0].message == "No carrier."


@pytest.mark.parametrize(
    "body",
    [{"id": 1, "status": "Shipped"}, {"code": 200, "message": "ok"}, {"code": "E1", "message": "x"}, [], "ER003", None],
)
def test_bodies_that_are_not_errors(body: Any) -> None:
    assert parse_error(body) is None


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Payment accepted", "processed"),
        ("Pending payment", "pending"),
        ("Cancelled", "cancelled"),
        ("REFUNDED", "cancelled"),
        ("Partially shipped", "shipped"),
        ("Stock incidence", "on_hold"),
        ("Payment error", "error"),
        ("Something new", "processed"),
    ],
)
def test_status_texts(text: str, status: str) -> None:
    assert map_status(text) == status


def test_order_body_follows_bigbuy() -> None:
    order = SupplierOrderRequest(
        "WB-9",
        SupplierAddress(
            "Zoë", "Dvořák", "Václavské náměstí 19", "110 00", "Praha", "cz", company="ACME", street2="3. patro"
        ),
        (SupplierLine("BB-1001", 1), SupplierLine("SB-0007", 2), SupplierLine("BB-1001", 2)),
        shipping_method="GLS, DHL",
    )
    assert order_body(order) == {
        "order": {
            "internalReference": "WB-9",
            "cashOnDelivery": 0,
            "language": "cs",
            "paymentMethod": "moneybox",
            "carriers": [{"name": "GLS"}, {"name": "DHL"}],
            "shippingAddress": {
                "firstName": "Zoë",
                "lastName": "Dvořák",
                "country": "CZ",
                "postcode": "110 00",
                "town": "Praha",
                "address": "Václavské náměstí 19, 3. patro",
                "phone": "",
                "email": "",
                "comment": "",
                "companyName": "ACME",
            },
            "products": [{"reference": "BB-1001", "quantity": 3}, {"reference": "SB-0007", "quantity": 2}],
        }
    }
