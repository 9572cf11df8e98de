"""ShipBob, fulfilment warehouse: orders go to ShipBob's API and ship from its fulfilment centres.

API version 2026-01 (ShipBob's dated versions; the legacy `1.0`/`2.0` paths are deprecated and end on
31 July 2026). Paths are relative to https://api.shipbob.com (or https://sandbox-api.shipbob.com):

- `POST /2026-01/order`: create an order. Body: `reference_id` (our idempotency key, unique within the
  ShipBob account), `order_number`, `type` "DTC", `shipping_method` (free text the merchant maps to a
  ship option), `recipient` {name, address {address1, address2, company_name, city, state, country,
  zip_code}, email, phone_number}, `products` [{reference_id (the SKU), quantity}]. A product whose
  reference_id ShipBob does not know needs a `name`, else the order is refused (400); Waybill sends no
  names, so an unknown SKU is refused instead of creating an empty product. 201 answers the order.
  422 means the reference_id already exists (body e.g. `{"": ["Cannot insert order with existing
  ReferenceId"]}`): the existing order is looked up and reported as `AlreadyExists`.
- `GET /2026-01/order?ReferenceIds=a,b`: orders by our reference (a JSON list).
- `GET /2026-01/order/{orderId}`: one order with its `shipments`; each shipment has a `status`
  (Processing, OnHold / "On Hold", Exception, Completed, Cancelled), `status_details` [{id, name,
  description, extra_information {validation_messages}}] (e.g. 401 InvalidAddress, 303 OutOfStock) and,
  once shipped, `tracking` {carrier, tracking_number, tracking_url}.
- `PUT /2026-01/shipment/{shipmentId}:updateAddress`: a new delivery address for one shipment; ShipBob
  verifies it again, and a shipment on hold for an invalid address goes back to Processing.
- `POST /2026-01/order/{orderId}:cancel`: cancel every shipment not yet picked.
- `GET /2026-01/product?SKU=...`: the product catalogue, used by `check()` to find unknown SKUs.

Every call carries `Authorization: Bearer <personal access token>` and the `shipbob_channel_id` header
(the channel that owns the orders, from `GET /channel`). ShipBob has no wallet and no preflight: `check()`
looks for what ShipBob would refuse (unknown SKUs, missing address fields) before anything is created.
Sources: developer.shipbob.com (orders guide, API reference 2026-01, status reference, errors, versioning).
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from connectors import json_fields
from connectors.base import DEFAULT_TIMEOUT, SupplierConnector
from models.core.quoting import quoted
from models.ports import (
    AlreadyExists,
    CheckResult,
    RemoteError,
    SupplierAddress,
    SupplierOrderRequest,
    SupplierOrderState,
    SupplierProblem,
    SupplierRefused,
    SupplierTracking,
)

API_VERSION = "2026-01"
DEFAULT_SHIPPING_METHOD = "Standard"
#: Quantities beyond this are not something a warehouse ships; the answer is not understood.
MAX_QUANTITY = 1_000_000

#: Shipment status (spaces and case ignored: "On Hold" and "OnHold" are the same) → Waybill's view.
SHIPMENT_STATUSES = {
    "processing": "processed",
    "labeledcreated": "processed",
    "completed": "shipped",
    "onhold": "on_hold",
    "exception": "error",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "importreview": "pending",
    "none": "pending",
}
#: Order status (derived by ShipBob from its shipments) → Waybill's view, used when no shipment is listed.
ORDER_STATUSES = {
    "processing": "processed",
    "partiallyfulfilled": "processed",
    "fulfilled": "shipped",
    "exception": "error",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "importreview": "pending",
}
STATUS_LABELS = {"on_hold": "On hold", "error": "Exception"}


class ShipBobResponseError(ValueError):
    """A ShipBob answer that cannot be understood at all; the message says why."""


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ShipmentView:
    """What Waybill reads from one ShipBob shipment."""

    shipment_id: str
    status: str  # one of SUPPLIER_STATUSES
    label: str  # ShipBob's own status text
    reasons: tuple[str, ...] = ()
    tracking: SupplierTracking | None = None


@dataclass(frozen=True)
class ShipBobOrder:
    order_id: str
    reference_id: str
    status_text: str
    shipments: tuple[ShipmentView, ...] = field(default_factory=tuple)

    @property
    def open_shipment_ids(self) -> list[str]:
        """Shipments whose address may still change: not shipped, not cancelled."""
        return [s.shipment_id for s in self.shipments if s.status not in ("shipped", "cancelled")]


def parse_order(data: Any) -> ShipBobOrder:
    """One ShipBob order (as `GET /order/{id}` or `POST /order` answer it). Raises `ShipBobResponseError`."""
    if not isinstance(data, Mapping):
        raise ShipBobResponseError(f"A ShipBob order must be a JSON object, got {_kind(data)}.")
    order_id = _identifier(data.get("id"), "The order id")
    where = f"ShipBob order {order_id}"
    raw_shipments = data.get("shipments")
    if raw_shipments is None:
        raw_shipments = []
    if not isinstance(raw_shipments, list):
        raise ShipBobResponseError(f"{where}: shipments should be a list, got {_kind(raw_shipments)}.")
    return ShipBobOrder(
        order_id=order_id,
        reference_id=_text(data.get("reference_id"), f"{where}: reference_id"),
        status_text=_text(data.get("status"), f"{where}: status"),
        shipments=tuple(_parse_shipment(raw, index, where) for index, raw in enumerate(raw_shipments, 1)),
    )


def parse_state(data: Any) -> SupplierOrderState:
    """One ShipBob order → Waybill's view: status, the on-hold / exception reasons, and tracking."""
    order = parse_order(data)
    status, message = overall_status(order)
    trackings = [s.tracking for s in order.shipments if s.status == "shipped" and s.tracking is not None]
    return SupplierOrderState(order.order_id, order.reference_id, status, message, trackings)


def parse_order_list(data: Any) -> list[SupplierOrderState]:
    """`GET /order` answers a JSON list of orders (newer listings wrap it in `{"items": [...]}`)."""
    items = _items(data, "The order list")
    return [parse_state(item) for item in items]


def parse_created_id(data: Any) -> str:
    """The id of the order `POST /order` created."""
    if not isinstance(data, Mapping):
        raise ShipBobResponseError(f"The created order must be a JSON object, got {_kind(data)}.")
    return _identifier(data.get("id"), "The created order id")


def parse_products(data: Any) -> dict[str, str]:
    """`GET /product`: SKU → variant status ("Active", "Inactive", …) for every variant listed.

    Products of the 2025-07+ catalogue have `variants` [{sku, status}]; older ones carry their own
    `reference_id` / `sku`.
    """
    found: dict[str, str] = {}
    for index, product in enumerate(_items(data, "The product list"), 1):
        if not isinstance(product, Mapping):
            raise ShipBobResponseError(f"Product {index} should be a JSON object, got {_kind(product)}.")
        variants = product.get("variants")
        if variants is None:
            variants = [product]
        if not isinstance(variants, list):
            raise ShipBobResponseError(f"Product {index}: variants should be a list, got {_kind(variants)}.")
        for variant in variants:
            if not isinstance(variant, Mapping):
                raise ShipBobResponseError(f"Product {index}: a variant should be a JSON object, got {_kind(variant)}.")
            sku = _text(variant.get("sku"), f"Product {index}: sku") or _text(
                variant.get("reference_id"), f"Product {index}: reference_id"
            )
            if sku:
                active = variant.get("is_active")
                status = "Inactive" if active is False else "Active"
                found[sku] = _text(variant.get("status"), f"Product {index}: status") or status
    return found


def overall_status(order: ShipBobOrder) -> tuple[str, str]:
    """Waybill's status of the whole order, and a message naming the reasons for holds and exceptions.

    A shipment on hold wins (the merchant can fix it, e.g. by correcting the address), then an exception,
    then: everything shipped → shipped; anything still moving → processed.
    """
    if not order.shipments:
        key = _status_key(order.status_text)
        if key in ORDER_STATUSES:
            return ORDER_STATUSES[key], ""
        return "pending", _unknown_status(order.status_text)
    live = [s for s in order.shipments if s.status != "cancelled"]
    if not live:
        return "cancelled", ""
    several = len(live) > 1
    statuses = {s.status for s in live}
    for wanted in ("on_hold", "error"):
        if wanted in statuses:
            parts = [_reason_text(s, several) for s in live if s.status in ("on_hold", "error")]
            return wanted, " ".join(parts)
    unknown = [
        _unknown_status(s.label)
        for s in live
        if s.status == "pending" and _status_key(s.label) not in SHIPMENT_STATUSES
    ]
    if statuses == {"shipped"}:
        return "shipped", ""
    if statuses & {"processed", "shipped"}:
        return "processed", " ".join(unknown)
    return "pending", " ".join(unknown)


def _reason_text(shipment: ShipmentView, several: bool) -> str:
    label = STATUS_LABELS.get(shipment.status, shipment.label)
    text = f"{label} — {'; '.join(shipment.reasons)}" if shipment.reasons else f"{label} (ShipBob gave no reason)"
    text = text if text.endswith(".") else text + "."
    return f"Shipment {shipment.shipment_id}: {text}" if several else text


def _unknown_status(label: str) -> str:
    return f"ShipBob reports the status “{label}”, which Waybill does not know." if label else ""


def _parse_shipment(raw: Any, index: int, where: str) -> ShipmentView:
    if not isinstance(raw, Mapping):
        raise ShipBobResponseError(f"{where}: shipment {index} should be a JSON object, got {_kind(raw)}.")
    shipment_id = _identifier(raw.get("id"), f"{where}: shipment {index} id")
    what = f"{where}, shipment {shipment_id}"
    label = _text(raw.get("status"), f"{what}: status")
    if not label:
        raise ShipBobResponseError(f"{what} has no status.")
    key = _status_key(label)
    status = SHIPMENT_STATUSES.get(key, "pending")
    reasons = _reasons(raw.get("status_details"), what)
    tracking = _tracking(raw.get("tracking"), raw.get("products"), what)
    return ShipmentView(shipment_id, status, label, tuple(reasons), tracking)


def _reasons(raw: Any, what: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ShipBobResponseError(f"{what}: status_details should be a list, got {_kind(raw)}.")
    reasons = []
    for detail in raw:
        if not isinstance(detail, Mapping):
            raise ShipBobResponseError(f"{what}: a status detail should be a JSON object, got {_kind(detail)}.")
        text = _text(detail.get("description"), f"{what}: status detail description") or _text(
            detail.get("name"), f"{what}: status detail name"
        )
        extra = detail.get("extra_information")
        messages: list[str] = []
        if extra is not None:
            if not isinstance(extra, Mapping):
                raise ShipBobResponseError(f"{what}: extra_information should be an object, got {_kind(extra)}.")
            raw_messages = extra.get("validation_messages")
            if raw_messages is not None:
                if not isinstance(raw_messages, list):
                    raise ShipBobResponseError(
                        f"{what}: validation_messages should be a list, got {_kind(raw_messages)}."
                    )
                messages = [m for m in (_text(m, f"{what}: validation message") for m in raw_messages) if m]
        if messages:
            text = f"{text}: {' '.join(messages)}" if text else " ".join(messages)
        if text:
            reasons.append(text)
    return reasons


def _tracking(raw: Any, products: Any, what: str) -> SupplierTracking | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ShipBobResponseError(f"{what}: tracking should be a JSON object, got {_kind(raw)}.")
    number = _text(raw.get("tracking_number"), f"{what}: tracking_number")
    if not number:
        return None
    return SupplierTracking(
        carrier=_text(raw.get("carrier"), f"{what}: carrier"),
        tracking_number=number,
        tracking_url=_text(raw.get("tracking_url"), f"{what}: tracking_url"),
        skus=_shipped_skus(products, what),
    )


def _shipped_skus(raw: Any, what: str) -> dict[str, int]:
    """SKU → quantity in this parcel, from the shipment's products and their inventory items."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ShipBobResponseError(f"{what}: products should be a list, got {_kind(raw)}.")
    skus: dict[str, int] = {}
    for product in raw:
        if not isinstance(product, Mapping):
            raise ShipBobResponseError(f"{what}: a product should be a JSON object, got {_kind(product)}.")
        sku = _text(product.get("reference_id"), f"{what}: product reference_id") or _text(
            product.get("sku"), f"{what}: product sku"
        )
        items = product.get("inventory_items")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise ShipBobResponseError(f"{what}: inventory_items should be a list, got {_kind(items)}.")
        quantity = 0
        for item in items:
            if not isinstance(item, Mapping):
                raise ShipBobResponseError(f"{what}: an inventory item should be a JSON object, got {_kind(item)}.")
            quantity += _quantity(item.get("quantity"), f"{what}: inventory item quantity")
        if sku and quantity:
            skus[sku] = skus.get(sku, 0) + quantity
    return skus


def _items(data: Any, what: str) -> list[Any]:
    if isinstance(data, Mapping) and "items" in data:
        data = data["items"]
        if data is None:
            return []
    if not isinstance(data, list):
        raise ShipBobResponseError(f"{what} should be a JSON list, got {_kind(data)}.")
    return data


def _status_key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _quantity(value: Any, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShipBobResponseError(f"{what} is not a whole number ({_show(value)}).")
    if not 0 <= value <= MAX_QUANTITY:
        raise ShipBobResponseError(f"{what} {_show(value)} is not a plausible quantity.")
    return value


def _identifier(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ShipBobResponseError(f"{what} is not a ShipBob id ({_show(value)}).")
        return _number_text(value, what)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ShipBobResponseError(f"{what} is missing or not an id ({_show(value)}).")


def _text(value: Any, what: str) -> str:
    return json_fields.text(value, what, ShipBobResponseError)


def _number_text(value: int | float, what: str) -> str:
    return json_fields.number_text(value, what, ShipBobResponseError)


_kind = json_fields.kind
_show = json_fields.show


# --------------------------------------------------------------------------- errors


def error_messages(body: Any) -> list[tuple[str, str]]:
    """(field, message) pairs from a ShipBob error body; never raises.

    ShipBob answers errors as ASP.NET validation problems (`{"title", "status", "errors": {field:
    [messages]}}`), as model-state dictionaries (`{"": ["Cannot insert order with existing ReferenceId"]}`),
    as `{"message": ...}`, or as plain text.
    """
    found: list[tuple[str, str]] = []
    if body is None:
        return found
    if isinstance(body, str):
        return [("", body.strip())] if body.strip() else found
    if isinstance(body, list):
        for item in body:
            found += _messages_in("", item)
        return found
    if not isinstance(body, Mapping):
        return [("", _show(body))]
    if "errors" in body:
        errors = body["errors"]
        if isinstance(errors, Mapping):
            for key, value in errors.items():
                found += _messages_in(str(key), value)
        else:
            found += _messages_in("", errors)
    if not found:
        for key in ("message", "detail", "error_description", "error", "title"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return [("", value.strip())]
    if not found and "errors" not in body and "status" not in body:
        for key, value in body.items():
            found += _messages_in(str(key), value)
    return found or [("", _show(body))]


def _messages_in(key: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(key, value.strip())] if value.strip() else []
    if isinstance(value, list):
        found: list[tuple[str, str]] = []
        for item in value:
            found += _messages_in(key, item)
        return found
    if isinstance(value, Mapping):
        message = value.get("message") or value.get("error_message") or value.get("description")
        where = value.get("field") or value.get("property_name") or key
        if isinstance(message, str) and message.strip():
            return [(str(where) if isinstance(where, str) else key, message.strip())]
        return [(key, _show(value))]
    if value is None:
        return []
    return [(key, _show(value))]


def error_text(pairs: list[tuple[str, str]]) -> str:
    return "; ".join(f"{key}: {message}" if key else message for key, message in pairs)


def refusal_problems(pairs: list[tuple[str, str]], order: SupplierOrderRequest) -> list[SupplierProblem]:
    """A 400 on create → review problems: products[i] → unknown_sku, recipient → address_error."""
    problems = []
    for key, message in pairs:
        lowered = key.lower()
        if lowered.startswith("products"):
            index = _index(lowered)
            sku = order.lines[index].sku if index is not None and index < len(order.lines) else ""
            code = "invalid_quantity" if lowered.endswith("quantity") else "unknown_sku"
            problems.append(SupplierProblem(code, message, sku=sku))
        elif lowered.startswith("recipient"):
            problems.append(SupplierProblem("address_error", message))
        else:
            problems.append(SupplierProblem("supplier_refused", f"{key}: {message}" if key else message))
    return problems or [SupplierProblem("supplier_refused", "ShipBob refused the order without saying why.")]


def _index(key: str) -> int | None:
    start, end = key.find("["), key.find("]")
    if start < 0 or end <= start + 1:
        return None
    digits = key[start + 1 : end]
    return int(digits) if digits.isdigit() and len(digits) < 6 else None


# --------------------------------------------------------------------------- requests


def recipient_name(address: SupplierAddress) -> str:
    return " ".join(part for part in (address.first_name.strip(), address.last_name.strip()) if part)


def recipient_payload(order: SupplierOrderRequest) -> dict[str, Any]:
    address = order.address
    return {
        "name": recipient_name(address),
        "address": {
            "address1": address.street1,
            "address2": address.street2 or None,
            "company_name": address.company or None,
            "city": address.city,
            "state": address.region or None,
            "country": address.country.upper(),
            "zip_code": address.postcode,
        },
        "email": address.email or None,
        "phone_number": address.phone or None,
    }


def order_payload(order: SupplierOrderRequest) -> dict[str, Any]:
    """The `POST /order` body. Products go by reference_id (our SKU), never by ShipBob product id."""
    products: list[dict[str, Any]] = []
    for line in order.lines:
        product: dict[str, Any] = {"reference_id": line.sku, "quantity": line.quantity}
        if line.order_line_id > 0:
            product["external_line_id"] = line.order_line_id
        products.append(product)
    return {
        "reference_id": order.internal_reference,
        "order_number": order.internal_reference,
        "type": "DTC",
        "shipping_method": order.shipping_method or DEFAULT_SHIPPING_METHOD,
        "recipient": recipient_payload(order),
        "products": products,
    }


def address_payload(address: SupplierAddress) -> dict[str, Any]:
    """The `PUT /shipment/{id}:updateAddress` body (ShipBob's Orders.UpdateAddressRequest)."""
    return {
        "street_address1": address.street1,
        "street_address2": address.street2 or None,
        "company_name": address.company or None,
        "city": address.city,
        "state": address.region or None,
        "zip_code": address.postcode,
        "country_code": address.country.upper(),
        "email": address.email or None,
        "phone_number": address.phone or None,
        "override_verification": False,
    }


def address_problems(address: SupplierAddress) -> list[SupplierProblem]:
    """What ShipBob needs in every delivery address: recipient name, address1, city and an ISO country."""
    problems = []
    if not recipient_name(address):
        problems.append(SupplierProblem("address_error", "ShipBob needs the recipient's name: add it to the address."))
    if not address.street1.strip():
        problems.append(SupplierProblem("address_error", "ShipBob needs a street address (address line 1)."))
    if not address.city.strip():
        problems.append(SupplierProblem("address_error", "ShipBob needs the city of the delivery address."))
    country = address.country.strip()
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        problems.append(
            SupplierProblem("address_error", f"ShipBob needs a two-letter ISO country code (e.g. FR), not “{country}”.")
        )
    return problems


class _BearerToken(httpx.Auth):
    """ShipBob's `Authorization: Bearer <token>`. Keeps the last response, so that error bodies can be
    read in ShipBob's own shapes (field-level validation messages) after `ApiClient` translated them."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.response: httpx.Response | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        self.response = yield request


class ShipBobRejected(RemoteError):
    """ShipBob refused a request (4xx other than 429); `errors` holds its (field, message) pairs."""

    def __init__(self, message: str, status_code: int, errors: list[tuple[str, str]]) -> None:
        super().__init__(message, retryable=False, status_code=status_code)
        self.errors = errors


class ShipBobConnector(SupplierConnector):
    kind: ClassVar[str] = "shipbob"
    label: ClassVar[str] = "ShipBob"
    sandbox_name: ClassVar[str] = "shipbob"
    credential_fields: ClassVar[tuple[tuple[str, str], ...]] = (
        ("token", "Personal access token"),
        ("channel_id", "Channel id"),
    )
    visible_credentials: ClassVar[frozenset[str]] = frozenset({"channel_id"})
    default_base_url: ClassVar[str] = "https://api.shipbob.com"
    prepaid: ClassVar[bool] = False
    api_version: ClassVar[str] = API_VERSION
    #: Per-request timeout; tests may change it on the instance.
    timeout: httpx.Timeout = DEFAULT_TIMEOUT

    @classmethod
    def credential_problem(cls, key: str, value: str) -> str:
        if key == "channel_id" and not value.isdigit():
            return (
                "The ShipBob channel id is a number (the channel with orders_write access, as ShipBob lists it "
                f"under GET /channel), not {quoted(value)}."
            )
        return ""

    # -- plumbing --------------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return "/" + "/".join((self.api_version, *parts))

    def _credentials(self) -> tuple[str, str]:
        token = self.credentials.get("token", "").strip()
        if not token:
            raise RemoteError(
                "The ShipBob supplier has no personal access token: create one in ShipBob under "
                "Integrations > API Tokens and add it on the supplier page.",
                retryable=False,
            )
        channel = self.credentials.get("channel_id", "").strip()
        if not channel.isdigit():
            raise RemoteError(
                f"The ShipBob channel id must be a number (the id of the channel with orders_write access, "
                f"as listed by ShipBob's GET /channel), not “{channel}”: correct it on the supplier page.",
                retryable=False,
            )
        return token, channel

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token, channel = self._credentials()
        auth = _BearerToken(token)
        headers = {"Accept": "application/json", "shipbob_channel_id": channel}
        try:
            return await self.request(method, path, auth=auth, headers=headers, timeout=self.timeout, **kwargs)
        except RemoteError as exc:
            status, response = exc.status_code, auth.response
            if status is None or response is None or not 400 <= status < 500 or status == 429:
                raise
            pairs = error_messages(_body(response))
            message = error_text(pairs)
            if status == 401:
                message = (
                    f"ShipBob refused the access token (401): {message} "
                    "Check the personal access token on the supplier page."
                )
            elif status == 403:
                message = (
                    f"ShipBob refused access (403): {message} The token or channel id lacks the needed "
                    "scope (orders_read, orders_write, products_read)."
                )
            raise ShipBobRejected(message, status, pairs) from exc

    def _decode(self, response: httpx.Response, *, applied: bool = False) -> Any:
        try:
            return self.json(response)
        except RemoteError as exc:
            exc.ambiguous = applied  # a change answered with garbage may still have been made
            raise

    # -- protocol --------------------------------------------------------------------------------

    async def stock(self) -> dict[str, int]:
        """`GET /inventory-level`, following `next`: the fulfillable quantity (on hand minus committed) per SKU."""
        levels: dict[str, int] = {}
        path: str | None = self._path("inventory-level") + f"?PageSize={INVENTORY_PAGE_SIZE}"
        while path:
            body = self._decode(await self._call("GET", path))
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise RemoteError(f"ShipBob sent no inventory items: {str(body)[:200]}", retryable=True)
            for item in items:
                sku = item.get("sku") if isinstance(item, dict) else None
                quantity = item.get("total_fulfillable_quantity") if isinstance(item, dict) else None
                if isinstance(sku, str) and sku and type(quantity) is int:
                    levels[sku] = levels.get(sku, 0) + max(0, quantity)
            path = _relative(body.get("next"), self.base_url)
        return levels

    async def check(self, order: SupplierOrderRequest) -> CheckResult:
        """ShipBob has no preflight: refuse locally what ShipBob would refuse on create."""
        problems = address_problems(order.address)
        for line in order.lines:
            if line.quantity < 1:
                problems.append(
                    SupplierProblem(
                        "invalid_quantity", f"ShipBob needs a quantity of at least 1 for {line.sku}.", line.sku
                    )
                )
        for sku in dict.fromkeys(line.sku for line in order.lines):
            status = await self._product_status(sku)
            if status is None:
                problems.append(
                    SupplierProblem(
                        "unknown_sku",
                        f"ShipBob has no product with SKU “{sku}”: create it in ShipBob (or correct the catalog) "
                        "before sending this order.",
                        sku,
                    )
                )
            elif status.lower() != "active":
                problems.append(
                    SupplierProblem(
                        "unknown_sku", f"The ShipBob product with SKU “{sku}” is {status}: activate it in ShipBob.", sku
                    )
                )
        return CheckResult(problems=problems, total_cost=None, currency=order.currency)

    async def _product_status(self, sku: str) -> str | None:
        if not sku.strip():
            return None
        response = await self._call("GET", self._path("product"), params={"SKU": sku})
        try:
            products = parse_products(self._decode(response))
        except ShipBobResponseError as exc:
            raise RemoteError(f"ShipBob sent a product list Waybill cannot read: {exc}", retryable=True) from exc
        return products.get(sku)

    async def create(self, order: SupplierOrderRequest) -> str:
        if not order.lines:
            raise RemoteError("Nothing to send to ShipBob: the supplier order has no lines.", retryable=False)
        if "," in order.internal_reference or not order.internal_reference.strip():
            raise RemoteError(
                f"“{order.internal_reference}” cannot be a ShipBob reference_id (empty, or it has a comma).",
                retryable=False,
            )
        try:
            response = await self._call("POST", self._path("order"), json=order_payload(order))
        except ShipBobRejected as exc:
            if exc.status_code == 422:
                raise await self._already_exists(order.internal_reference, exc.message) from exc
            if exc.status_code == 400:
                raise SupplierRefused(refusal_problems(exc.errors, order), status_code=400) from exc
            raise
        try:
            return parse_created_id(self._decode(response, applied=True))
        except ShipBobResponseError as exc:
            raise RemoteError(
                f"ShipBob created the order but its answer cannot be read: {exc}", retryable=True, ambiguous=True
            ) from exc

    async def _already_exists(self, reference: str, message: str) -> AlreadyExists:
        try:
            existing = await self.find_by_reference(reference)
        except RemoteError:
            existing = None
        order_id = existing.supplier_order_id if existing else ""
        return AlreadyExists(f"ShipBob already has an order with reference {reference}: {message}", order_id)

    async def find_by_reference(self, internal_reference: str) -> SupplierOrderState | None:
        if not internal_reference.strip() or "," in internal_reference:
            return None
        response = await self._call("GET", self._path("order"), params={"ReferenceIds": internal_reference})
        try:
            orders = parse_order_list(self._decode(response))
        except ShipBobResponseError as exc:
            raise RemoteError(f"ShipBob sent an order list Waybill cannot read: {exc}", retryable=True) from exc
        for state in orders:
            if state.internal_reference == internal_reference:
                return state
        return None

    async def _order(self, supplier_order_id: str) -> Any:
        order_id = supplier_order_id.strip()
        if not order_id.isdigit():
            raise RemoteError(f"“{supplier_order_id}” is not a ShipBob order id (a number).", retryable=False)
        response = await self._call("GET", self._path("order", order_id))
        return self._decode(response)

    async def fetch_state(self, supplier_order_id: str) -> SupplierOrderState:
        data = await self._order(supplier_order_id)
        try:
            return parse_state(data)
        except ShipBobResponseError as exc:
            raise RemoteError(f"ShipBob sent an order Waybill cannot read: {exc}", retryable=True) from exc

    # -- beyond the protocol ---------------------------------------------------------------------

    async def update_address(self, supplier_order_id: str, address: SupplierAddress) -> None:
        """Send a corrected delivery address to every shipment of the order that has not shipped.

        ShipBob verifies it again: a shipment on hold for an invalid address goes back to Processing.
        """
        problems = address_problems(address)
        if problems:
            raise SupplierRefused(problems)
        data = await self._order(supplier_order_id)
        try:
            order = parse_order(data)
        except ShipBobResponseError as exc:
            raise RemoteError(f"ShipBob sent an order Waybill cannot read: {exc}", retryable=True) from exc
        shipment_ids = order.open_shipment_ids
        if not shipment_ids:
            raise RemoteError(
                f"ShipBob order {order.order_id} has no shipment whose address can still change "
                "(all are shipped or cancelled).",
                retryable=False,
            )
        body = address_payload(address)
        for shipment_id in shipment_ids:
            path = self._path("shipment", f"{quote(shipment_id, safe='')}:updateAddress")
            await self._call("PUT", path, json=body)

    async def cancel(self, supplier_order_id: str) -> None:
        """Cancel the order's shipments that ShipBob has not started to pick."""
        order_id = supplier_order_id.strip()
        if not order_id.isdigit():
            raise RemoteError(f"“{supplier_order_id}” is not a ShipBob order id (a number).", retryable=False)
        response = await self._call("POST", self._path("order", f"{order_id}:cancel"))
        body = self._decode(response, applied=True)
        results = body.get("canceled_shipment_results") if isinstance(body, Mapping) else None
        if isinstance(results, list):
            failed = [r for r in results if isinstance(r, Mapping) and r.get("is_success") is False]
            if failed and len(failed) == len(results):
                reasons = "; ".join(str(r.get("reason") or "no reason given") for r in failed)
                raise RemoteError(f"ShipBob did not cancel order {order_id}: {reasons}", retryable=False)


#: Inventory items per page (ShipBob's largest).
INVENTORY_PAGE_SIZE = 250


def _relative(link: Any, base_url: str) -> str | None:
    """ShipBob's `next` link (a full URL or a path) as a path under the connector's base URL."""
    if not isinstance(link, str) or not link:
        return None
    parts = urlsplit(link)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    base_path = urlsplit(base_url).path.rstrip("/")
    return path[len(base_path) :] if base_path and path.startswith(base_path + "/") else path


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:500] or f"HTTP {response.status_code}"
