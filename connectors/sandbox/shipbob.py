"""An emulator of ShipBob's API (version 2026-01), mounted at /sandbox/shipbob.

It keeps products with stock, orders (by id and by reference_id) and their shipments, and enforces
ShipBob's rules: `Authorization: Bearer <token>` and the `shipbob_channel_id` header on every call
(required on changes); a reference_id used twice → 422 with ShipBob's body
`{"": ["Cannot insert order with existing ReferenceId"]}`; a product reference_id ShipBob does not know,
sent without a name → 400 (ASP.NET validation problem, field `products[i].name`). An accepted order gets
one shipment: On Hold (status detail 401 InvalidAddress, with the reasons in
`extra_information.validation_messages`) when its address does not verify (a postcode that does not fit
the country, a street containing "INVALID"), Exception (303 OutOfStock) when stock is short, else
Processing with the stock committed. `PUT /shipment/{id}:updateAddress` verifies the new address: a
shipment on hold for its address goes back to Processing (or Exception if stock is short meanwhile).

Control interface (never faulted, no token needed):

- `GET  _control/orders/{id_or_reference}`: status, shipments, tracking and operation counts.
- `POST _control/orders/{id}/ship`: `{"carrier", "tracking_number"}`: Processing shipments are Completed
  with that tracking.
- `POST _control/orders/{id}/hold`: `{"reason", "detail"?}`: open shipments go On Hold (default detail
  InvalidAddress; a later address update releases it).
- `POST _control/orders/{id}/exception`: `{"reason", "detail"?}`: open shipments go to Exception
  (default OutOfStock; new stock through `_control/inventory` releases it).
- `GET 2026-01/inventory-level?PageSize=&Page=`: quantities per item (`sku`, `total_on_hand_quantity`,
  `total_committed_quantity`, `total_fulfillable_quantity`…), with a `next` link.
- `POST _control/inventory`: `{"BB-1001": 12, ...}` sets on-hand stock (new SKUs become products);
  shipments in exception for stock are allocated again. `GET _control/inventory` shows stock.
- `POST _control/faults` / `GET _control/faults`: fault injection settings (see `faults.Faults`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get, post, put

from connectors.sandbox.common import Sandbox
from connectors.sandbox.fake_orders import PRODUCTS
from connectors.shipbob import API_VERSION
from models.core.clock import now
from models.orders.validation import POSTCODE_FORMATS

DEFAULT_TOKEN = "sandbox-shipbob-token"
DEFAULT_CHANNEL_ID = "1"
DEFAULT_STOCK = 40
OPERATIONS = ("create", "update_address", "cancel")

#: ShipBob's shipment statuses as its API writes them.
PROCESSING, ON_HOLD, EXCEPTION, COMPLETED, CANCELLED = "Processing", "OnHold", "Exception", "Completed", "Cancelled"
#: Status details from ShipBob's status reference: name → (id, description).
HOLD_DETAILS = {
    "PaymentDeclined": (400, "Payment Failure"),
    "InvalidAddress": (401, "Invalid Address"),
    "ReserveDateNotMet": (402, "Wait For Pick Date"),
    "MissingTarriffInformation": (404, "Missing Customs Info"),
}
EXCEPTION_DETAILS = {
    "InactiveSku": (302, "Shipment Contains an inactive sku"),
    "OutOfStock": (303, "No Stock On Hand For Sku"),
    "UnknownSku": (304, "No Sku History"),
    "InventoryPartiallyCommitted": (308, "Shipment is partially allocated"),
}
IN_TRANSIT = {"id": 201, "name": "InTransit", "description": "Shipment In Transit"}
TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "DHL": "https://www.dhl.com/en/express/tracking.html?AWB={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "FEDEX": "https://www.fedex.com/fedextrack/?trknbr={}",
}
CARRIERS = ("UPS", "DHL", "USPS", "FedEx")
LOCATION = {"id": 8, "name": "Cicero (IL)"}


class ControlError(ValueError):
    """A request the sandbox cannot take; the message says why."""


def problem(status: int, title: str, detail: str = "", errors: dict[str, list[str]] | None = None) -> Response:
    """An ASP.NET problem-details body, the shape ShipBob's .NET API answers errors in."""
    body: dict[str, Any] = {"type": "https://tools.ietf.org/html/rfc9110", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(content=body, status_code=status)


def validation(errors: dict[str, list[str]]) -> Response:
    return problem(400, "One or more validation errors occurred.", errors=errors)


def address_reasons(address: dict[str, Any]) -> list[str]:
    """Why the sandbox's address verification fails for this address (empty: it verifies)."""
    reasons = []
    streets = " ".join(str(address.get(key) or "") for key in ("address1", "address2"))
    if "INVALID" in streets.upper():
        reasons.append("The street address could not be found by the carrier's address verification.")
    country = str(address.get("country") or "").upper()
    postcode = str(address.get("zip_code") or "").strip().upper()
    fmt = POSTCODE_FORMATS.get(country)
    if fmt and not re.fullmatch(fmt[0], postcode):
        shown = f"“{postcode}”" if postcode else "An empty postal code"
        reasons.append(f"{shown} is not a valid postal code for {country} (expected e.g. {fmt[1]}).")
    return reasons


class ShipBobSandbox(Sandbox):
    name = "shipbob"

    def __init__(
        self,
        seed: int | None = None,
        token: str = DEFAULT_TOKEN,
        channel_id: str = DEFAULT_CHANNEL_ID,
        clock: Callable[[], dt.datetime] = now,
        hold_rate: float = 0.0,
    ) -> None:
        super().__init__(seed)
        self.token = token
        self.channel_id = channel_id
        self.clock = clock
        #: Share of orders with a good address put on hold anyway ("could not verify"), for the demo.
        self.hold_rate = hold_rate
        #: SKU → product in the 2026-01 catalogue shape.
        self.products: dict[str, dict[str, Any]] = {}
        #: SKU → {"on_hand", "committed"}; fulfillable = on_hand - committed.
        self.stock: dict[str, dict[str, int]] = {}
        #: order id → the order as ShipBob answers it (shipments inside).
        self.orders: dict[int, dict[str, Any]] = {}
        self.by_reference: dict[str, int] = {}
        self.shipment_orders: dict[int, int] = {}
        self._next = {"order": 300_001, "shipment": 700_001, "product": 1_001, "inventory": 5_001}
        for sku, title, _price in PRODUCTS:
            self.add_product(sku, title, DEFAULT_STOCK)

    # -- state -----------------------------------------------------------------------------------

    def _id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] += 1
        return value

    def _stamp(self) -> str:
        return self.clock().replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def add_product(self, sku: str, name: str, on_hand: int = 0) -> dict[str, Any]:
        if sku in self.products:
            self.stock[sku]["on_hand"] = on_hand
            return self.products[sku]
        product_id, inventory_id = self._id("product"), self._id("inventory")
        product = {
            "id": product_id,
            "name": name,
            "type": "Regular",
            "created_on": self._stamp(),
            "variants": [
                {
                    "id": product_id * 10,
                    "name": name,
                    "sku": sku,
                    "status": "Active",
                    "inventory": {"inventory_id": inventory_id, "name": name},
                }
            ],
        }
        self.products[sku] = product
        self.stock[sku] = {"on_hand": on_hand, "committed": 0}
        return product

    def inventory_id(self, sku: str) -> int:
        return self.products[sku]["variants"][0]["inventory"]["inventory_id"]

    def generate_orders(self, count: int) -> list[str]:
        return []  # ShipBob is a supplier: orders come from Waybill, not from the sandbox.

    def advance(self) -> list[int]:
        """Move the oldest Processing shipment along (shipped with tracking), for the demo; returns its order id."""
        for order in self.orders.values():
            for shipment in order["shipments"]:
                if shipment["status"] == PROCESSING and self.rng.random() < 0.5:
                    carrier = self.rng.choice(CARRIERS)
                    number = f"{carrier[:2].upper()}{self.rng.randint(10**9, 10**10 - 1)}"
                    self.ship(order["id"], carrier, number)
                    return [order["id"]]
        return []

    def find(self, id_or_reference: str) -> dict[str, Any] | None:
        if id_or_reference.isdigit() and int(id_or_reference) in self.orders:
            return self.orders[int(id_or_reference)]
        order_id = self.by_reference.get(id_or_reference)
        return self.orders.get(order_id) if order_id is not None else None

    def _refresh(self, order: dict[str, Any]) -> None:
        """The order status ShipBob derives from its shipments."""
        statuses = [s["status"] for s in order["shipments"]]
        live = [s for s in statuses if s != CANCELLED]
        if not live:
            order["status"] = CANCELLED
        elif EXCEPTION in live:
            order["status"] = EXCEPTION
        elif all(s == COMPLETED for s in live):
            order["status"] = "Fulfilled"
        elif COMPLETED in live:
            order["status"] = "PartiallyFulfilled"
        else:
            order["status"] = PROCESSING

    def _set(self, shipment: dict[str, Any], status: str, details: list[dict[str, Any]] | None = None) -> None:
        shipment["status"] = status
        shipment["status_details"] = details or []
        shipment["last_update_at"] = self._stamp()

    @staticmethod
    def _detail(table: dict[str, tuple[int, str]], name: str, reasons: list[str]) -> dict[str, Any]:
        detail_id, description = table[name]
        detail: dict[str, Any] = {"id": detail_id, "name": name, "description": description}
        detail["extra_information"] = {"validation_messages": reasons} if reasons else None
        return detail

    def _allocate(self, shipment: dict[str, Any]) -> None:
        """Commit stock for a shipment, or put it in exception for the SKUs that are short."""
        needed = {p["reference_id"]: sum(i["quantity"] for i in p["inventory_items"]) for p in shipment["products"]}
        short = {sku: qty for sku, qty in needed.items() if self._fulfillable(sku) < qty}
        if short:
            reasons = [f"{sku}: {self._fulfillable(sku)} available, {qty} needed." for sku, qty in short.items()]
            detail = self._detail(EXCEPTION_DETAILS, "OutOfStock", reasons)
            detail["inventory_id"] = self.inventory_id(next(iter(short)))
            self._set(shipment, EXCEPTION, [detail])
            return
        for sku, qty in needed.items():
            self.stock[sku]["committed"] += qty
        self._set(shipment, PROCESSING)

    def _release(self, shipment: dict[str, Any]) -> None:
        """Give back stock committed to a shipment that will not ship."""
        if shipment["status"] != PROCESSING:
            return
        for product in shipment["products"]:
            qty = sum(i["quantity"] for i in product["inventory_items"])
            self.stock[product["reference_id"]]["committed"] -= qty

    def _fulfillable(self, sku: str) -> int:
        stock = self.stock.get(sku)
        return stock["on_hand"] - stock["committed"] if stock else 0

    def _verify(self, shipment: dict[str, Any], *, first: bool) -> None:
        """ShipBob's address verification, then stock allocation."""
        reasons = address_reasons(shipment["recipient"]["address"])
        if not reasons and first and self.hold_rate and self.rng.random() < self.hold_rate:
            reasons = ["The carrier could not verify this address: confirm it (or correct it) to release the order."]
        if reasons:
            self._set(shipment, ON_HOLD, [self._detail(HOLD_DETAILS, "InvalidAddress", reasons)])
        else:
            self._allocate(shipment)

    # -- API -------------------------------------------------------------------------------------

    def create_order(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return validation({"": ["A non-empty request body is required."]})
        errors: dict[str, list[str]] = {}

        def text(value: Any) -> str:
            return value.strip() if isinstance(value, str) else ""

        reference = text(body.get("reference_id"))
        if not reference:
            errors["reference_id"] = ["The reference_id field is required."]
        if not text(body.get("shipping_method")):
            errors["shipping_method"] = ["The shipping_method field is required."]
        recipient = body.get("recipient")
        address = recipient.get("address") if isinstance(recipient, dict) else None
        if not isinstance(recipient, dict) or not isinstance(address, dict):
            errors["recipient"] = ["The recipient field with an address is required."]
        else:
            if not text(recipient.get("name")):
                errors["recipient.name"] = ["The name field is required."]
            for key in ("address1", "city", "country"):
                if not text(address.get(key)):
                    errors[f"recipient.address.{key}"] = [f"The {key} field is required."]
        products = body.get("products")
        lines: list[tuple[str, int, Any]] = []
        if not isinstance(products, list) or not products:
            errors["products"] = ["At least one product is required."]
        else:
            for index, product in enumerate(products):
                where = f"products[{index}]"
                if not isinstance(product, dict):
                    errors[where] = ["A product must be an object."]
                    continue
                sku, quantity = text(product.get("reference_id")), product.get("quantity")
                if not sku:
                    errors[f"{where}.reference_id"] = ["The reference_id field is required."]
                elif sku not in self.products and not text(product.get("name")):
                    errors[f"{where}.name"] = [
                        f"No product with reference_id “{sku}” exists; a name is required to create it."
                    ]
                if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                    errors[f"{where}.quantity"] = ["The quantity must be a whole number of at least 1."]
                lines.append((sku, quantity if isinstance(quantity, int) else 0, product))
        if errors:
            return validation(errors)
        assert isinstance(recipient, dict) and isinstance(address, dict)
        if reference in self.by_reference:
            return Response(content={"": ["Cannot insert order with existing ReferenceId"]}, status_code=422)
        for sku, _quantity, product in lines:
            if sku not in self.products:  # ShipBob creates a product it will not have stock for
                self.add_product(sku, text(product.get("name")), 0)
        order = self._new_order(body, reference, recipient, address, lines)
        self.record("create", str(order["id"]), reference_id=reference)
        return Response(content=order, status_code=201)

    def _new_order(
        self,
        body: dict[str, Any],
        reference: str,
        recipient: dict[str, Any],
        address: dict[str, Any],
        lines: list[tuple[str, int, Any]],
    ) -> dict[str, Any]:
        order_id, stamp = self._id("order"), self._stamp()
        recipient_view = {
            "name": recipient.get("name"),
            "address": {
                key: address.get(key)
                for key in ("address1", "address2", "company_name", "city", "state", "country", "zip_code")
            },
            "email": recipient.get("email"),
            "phone_number": recipient.get("phone_number"),
        }
        quantities: dict[str, int] = {}
        for sku, quantity, _ in lines:
            quantities[sku] = quantities.get(sku, 0) + quantity
        order_products = [
            {
                "id": self.products[sku]["id"],
                "reference_id": sku,
                "sku": sku,
                "quantity": quantity,
                "quantity_unit_of_measure_code": "EA",
                "external_line_id": product.get("external_line_id"),
                "gtin": None,
                "upc": None,
                "unit_price": product.get("unit_price"),
            }
            for sku, quantity, product in lines
        ]
        shipment = {
            "id": self._id("shipment"),
            "order_id": order_id,
            "reference_id": reference,
            "recipient": json.loads(json.dumps(recipient_view)),
            "created_date": stamp,
            "last_update_at": stamp,
            "last_tracking_update_at": None,
            "status": PROCESSING,
            "status_details": [],
            "location": dict(LOCATION),
            "ship_option": body.get("shipping_method"),
            "tracking": None,
            "products": [
                {
                    "id": self.products[sku]["id"],
                    "reference_id": sku,
                    "name": self.products[sku]["name"],
                    "sku": sku,
                    "inventory_items": [
                        {
                            "id": self.inventory_id(sku),
                            "name": self.products[sku]["name"],
                            "quantity": quantity,
                            "quantity_committed": quantity,
                        }
                    ],
                }
                for sku, quantity in quantities.items()
            ],
            "require_signature": False,
            "is_tracking_uploaded": False,
            "actual_fulfillment_date": None,
            "delivery_date": None,
        }
        order = {
            "id": order_id,
            "created_date": stamp,
            "purchase_date": None,
            "reference_id": reference,
            "order_number": body.get("order_number") or reference,
            "status": PROCESSING,
            "type": body.get("type") or "DTC",
            "channel": {"id": int(self.channel_id), "name": "Waybill"},
            "shipping_method": body.get("shipping_method"),
            "recipient": recipient_view,
            "products": order_products,
            "tags": body.get("tags") if isinstance(body.get("tags"), list) else [],
            "shipments": [shipment],
            "gift_message": body.get("gift_message"),
            "financials": {"total_price": None},
        }
        self.orders[order_id] = order
        self.by_reference[reference] = order_id
        self.shipment_orders[shipment["id"]] = order_id
        self._verify(shipment, first=True)
        self._refresh(order)
        return order

    def list_orders(self, query: dict[str, str]) -> Response:
        problems: dict[str, list[str]] = {}
        found = list(self.orders.values())
        references = query.get("ReferenceIds")
        if references:
            wanted = {r.strip() for r in references.split(",") if r.strip()}
            found = [o for o in found if o["reference_id"] in wanted]
        ids = query.get("IDs")
        if ids:
            parts = [p.strip() for p in ids.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                problems["IDs"] = ["IDs must be comma-separated whole numbers."]
            else:
                found = [o for o in found if str(o["id"]) in parts]
        page, limit = query.get("Page", "1"), query.get("Limit", "50")
        if not page.isdigit() or int(page) < 1:
            problems["Page"] = ["Page must be a whole number of at least 1."]
        if not limit.isdigit() or not 1 <= int(limit) <= 250:
            problems["Limit"] = ["Limit must be between 1 and 250."]
        if problems:
            return validation(problems)
        start = (int(page) - 1) * int(limit)
        return Response(content=found[start : start + int(limit)], headers={"total-count": str(len(found))})

    def list_products(self, query: dict[str, str]) -> Response:
        found = list(self.products.values())
        sku = query.get("SKU")
        if sku:
            found = [p for p in found if any(v["sku"] == sku for v in p["variants"])]
        search = (query.get("Search") or "").lower()
        if search:
            found = [
                p
                for p in found
                if search in p["name"].lower() or any(search in v["sku"].lower() for v in p["variants"])
            ]
        return Response(content={"items": found, "first": None, "prev": None, "next": None, "last": None})

    def update_address(self, shipment_id: int, body: Any) -> Response:
        order = self.orders[self.shipment_orders[shipment_id]]
        shipment = next(s for s in order["shipments"] if s["id"] == shipment_id)
        if not isinstance(body, dict):
            return validation({"": ["A non-empty request body is required."]})
        errors = {
            key: [f"The {key} field is required."]
            for key in ("street_address1", "city")
            if not (isinstance(body.get(key), str) and body[key].strip())
        }
        for key, value in body.items():
            if value is not None and not isinstance(value, str | bool):
                errors[key] = [f"The {key} field must be text."]
        if errors:
            return validation(errors)
        if shipment["status"] in (COMPLETED, CANCELLED):
            return problem(
                422,
                "Shipment cannot be updated",
                f"Shipment {shipment_id} is {shipment['status']}; its address can no longer change.",
            )
        address = shipment["recipient"]["address"]
        mapping = {
            "street_address1": "address1",
            "street_address2": "address2",
            "company_name": "company_name",
            "city": "city",
            "state": "state",
            "zip_code": "zip_code",
            "country_code": "country",
        }
        for key, target in mapping.items():
            if key in body:
                address[target] = body[key]
        for key in ("email", "phone_number"):
            if key in body:
                shipment["recipient"][key] = body[key]
        held_for_address = shipment["status"] == ON_HOLD and any(
            d.get("name") == "InvalidAddress" for d in shipment["status_details"]
        )
        if held_for_address:
            if body.get("override_verification") is True:
                self._allocate(shipment)
            else:
                self._verify(shipment, first=False)
        shipment["last_update_at"] = self._stamp()
        self._refresh(order)
        self.record("update_address", str(order["id"]), shipment_id=shipment_id, address=dict(address))
        return Response(content=shipment, status_code=200)

    def cancel_order(self, order: dict[str, Any]) -> Response:
        results = []
        for shipment in order["shipments"]:
            if shipment["status"] in (COMPLETED, CANCELLED):
                results.append(
                    {
                        "shipment_id": shipment["id"],
                        "action": "Cancel",
                        "is_success": False,
                        "reason": f"Shipment is {shipment['status']}",
                    }
                )
                continue
            self._release(shipment)
            self._set(shipment, CANCELLED)
            results.append({"shipment_id": shipment["id"], "action": "Cancel", "is_success": True, "reason": None})
        self._refresh(order)
        if any(r["is_success"] for r in results):
            self.record("cancel", str(order["id"]))
        return Response(content={"order": order, "canceled_shipment_results": results}, status_code=200)

    # -- control ---------------------------------------------------------------------------------

    def ship(self, order_id: int, carrier: Any, tracking_number: Any) -> dict[str, Any]:
        if not isinstance(carrier, str) or not carrier.strip():
            raise ControlError("carrier is required (e.g. “UPS”).")
        if not isinstance(tracking_number, str) or not tracking_number.strip():
            raise ControlError("tracking_number is required.")
        order = self.orders[order_id]
        ready = [s for s in order["shipments"] if s["status"] == PROCESSING]
        if not ready:
            states = ", ".join(s["status"] for s in order["shipments"])
            raise ControlError(f"Order {order_id} has no Processing shipment to ship (shipments: {states}).")
        carrier, number = carrier.strip(), tracking_number.strip()
        url = TRACKING_URLS.get(carrier.upper(), "https://track.example/{}").format(number)
        for shipment in ready:
            self._release(shipment)
            for product in shipment["products"]:
                qty = sum(i["quantity"] for i in product["inventory_items"])
                self.stock[product["reference_id"]]["on_hand"] -= qty
            self._set(shipment, COMPLETED, [dict(IN_TRANSIT)])
            shipment["tracking"] = {
                "carrier": carrier,
                "tracking_number": number,
                "carrier_service": order.get("shipping_method"),
                "tracking_url": url,
                "shipping_date": self._stamp(),
                "bol": None,
                "pro_number": None,
                "scac": None,
            }
            shipment["actual_fulfillment_date"] = self._stamp()
            shipment["last_tracking_update_at"] = self._stamp()
        self._refresh(order)
        return order

    def hold(self, order_id: int, reason: Any, detail: Any, *, exception: bool = False) -> dict[str, Any]:
        table, default = (EXCEPTION_DETAILS, "OutOfStock") if exception else (HOLD_DETAILS, "InvalidAddress")
        name = default if detail is None else detail
        if name not in table:
            raise ControlError(f"Unknown detail “{name}”; use one of {', '.join(table)}.")
        if reason is not None and not isinstance(reason, str):
            raise ControlError("reason must be text.")
        order = self.orders[order_id]
        open_shipments = [s for s in order["shipments"] if s["status"] not in (COMPLETED, CANCELLED)]
        if not open_shipments:
            raise ControlError(f"Order {order_id} has no shipment left to hold: all are shipped or cancelled.")
        reasons = [reason.strip()] if isinstance(reason, str) and reason.strip() else []
        for shipment in open_shipments:
            self._release(shipment)
            self._set(shipment, EXCEPTION if exception else ON_HOLD, [self._detail(table, name, reasons)])
        self._refresh(order)
        return order

    def set_inventory(self, body: Any) -> list[str]:
        if not isinstance(body, dict) or not body:
            raise ControlError('The body must be an object of SKU → on-hand quantity, e.g. {"BB-1001": 12}.')
        refused = [
            f"{sku}: quantity must be a whole number ≥ 0"
            for sku, qty in body.items()
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0
        ]
        refused += [f"“{sku}”: a SKU must be non-empty text" for sku in body if not sku.strip()]
        if refused:
            raise ControlError("Refused: " + "; ".join(refused) + ".")
        for sku, qty in body.items():
            if sku in self.stock and qty < self.stock[sku]["committed"]:
                refused.append(f"{sku}: {self.stock[sku]['committed']} are committed to open shipments")
        if refused:
            raise ControlError("Refused: " + "; ".join(refused) + ".")
        for sku, qty in body.items():
            self.add_product(sku, sku, qty)
        for order in self.orders.values():  # ShipBob releases stock exceptions by itself
            for shipment in order["shipments"]:
                if shipment["status"] == EXCEPTION and any(
                    d.get("name") == "OutOfStock" for d in shipment["status_details"]
                ):
                    self._allocate(shipment)
            self._refresh(order)
        return sorted(body)

    def inventory_levels(self, query: dict[str, str], path: str) -> Response:
        """`GET /inventory-level`: network-wide quantities per inventory item, `PageSize` at a time,
        with a `next` link while more follow."""
        try:
            size = min(max(int(query.get("PageSize", "250")), 1), 250)
            page = max(int(query.get("Page", "1")), 1)
        except ValueError:
            return validation({"PageSize": ["The value is not valid."]})
        skus = sorted(self.stock)
        items = []
        for sku in skus[(page - 1) * size : page * size]:
            stock = self.stock[sku]
            fulfillable = stock["on_hand"] - stock["committed"]
            items.append(
                {
                    "inventory_id": self.inventory_id(sku),
                    "sku": sku,
                    "name": sku,
                    "total_on_hand_quantity": stock["on_hand"],
                    "total_committed_quantity": stock["committed"],
                    "total_fulfillable_quantity": fulfillable,
                    "total_sellable_quantity": fulfillable,
                    "total_awaiting_quantity": 0,
                    "total_backordered_quantity": 0,
                    "total_exception_quantity": 0,
                    "total_internal_transfer_quantity": 0,
                }
            )
        more = page * size < len(skus)
        link = f"{path}?PageSize={size}&Page={page + 1}" if more else None
        return Response(content={"items": items, "first": None, "prev": None, "next": link, "last": None})

    def inventory_view(self) -> dict[str, Any]:
        return {
            sku: {**stock, "fulfillable": stock["on_hand"] - stock["committed"]} for sku, stock in self.stock.items()
        }

    def view(self, order: dict[str, Any]) -> dict[str, Any]:
        order_id = str(order["id"])
        shipments = [
            {
                "id": s["id"],
                "status": s["status"],
                "status_details": s["status_details"],
                "address": s["recipient"]["address"],
                "tracking": s["tracking"],
            }
            for s in order["shipments"]
        ]
        return {
            "id": order["id"],
            "reference_id": order["reference_id"],
            "status": order["status"],
            "shipments": shipments,
            "tracking": next((s["tracking"] for s in order["shipments"] if s["tracking"]), None),
            "operations": {op: self.operation_count(op, order_id) for op in OPERATIONS},
        }

    # -- HTTP ------------------------------------------------------------------------------------

    def _refuse(self, request: Request, *, change: bool) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(content={"message": "Authorization has been denied for this request."}, status_code=401)
        channel = request.headers.get("shipbob_channel_id")
        if channel is None:
            if change:
                return validation({"shipbob_channel_id": ["The shipbob_channel_id header is required."]})
            return None
        if channel != self.channel_id:
            return problem(403, "Forbidden", f"Channel {channel} does not belong to this token.")
        return None

    def route_handlers(self) -> list[Any]:
        sandbox = self
        base = f"/{API_VERSION}"

        async def json_body(request: Request) -> tuple[Any, Response | None]:
            raw = await request.body()
            if not raw.strip():
                return None, None
            try:
                return json.loads(raw), None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return None, validation({"": [f"The request body is not valid JSON: {exc}."]})

        def not_found(what: str) -> Response:
            return problem(404, "Not Found", f"{what} was not found.")

        def split(segment: str, action: str) -> int | None:
            """`123:cancel` → 123 (ShipBob's custom-method paths)."""
            number, _, verb = segment.partition(":")
            return int(number) if number.isdigit() and verb == action else None

        @get(f"{base}/channel", sync_to_thread=False)
        def get_channels(request: Request) -> Response:
            refused = sandbox._refuse(request, change=False)
            if refused:
                return refused
            channel = {
                "id": int(sandbox.channel_id),
                "name": "Waybill",
                "application_name": "SMA",
                "scopes": ["orders_read", "orders_write", "products_read"],
            }
            return Response(content={"items": [channel]})

        @get(f"{base}/product", sync_to_thread=False)
        def get_products(request: Request) -> Response:
            refused = sandbox._refuse(request, change=False)
            return refused or sandbox.list_products(dict(request.query_params))

        @get(f"{base}/inventory-level", sync_to_thread=False)
        def get_inventory_levels(request: Request) -> Response:
            refused = sandbox._refuse(request, change=False)
            return refused or sandbox.inventory_levels(dict(request.query_params), request.url.path)

        @get(f"{base}/order", sync_to_thread=False)
        def get_orders(request: Request) -> Response:
            refused = sandbox._refuse(request, change=False)
            return refused or sandbox.list_orders(dict(request.query_params))

        @post(f"{base}/order")
        async def create_order(request: Request) -> Response:
            refused = sandbox._refuse(request, change=True)
            if refused:
                return refused
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                return sandbox.create_order(body)

        @get(f"{base}/order/{{order_ref:str}}", sync_to_thread=False)
        def get_order(request: Request) -> Response:
            order_ref = request.path_params["order_ref"]
            refused = sandbox._refuse(request, change=False)
            if refused:
                return refused
            order = sandbox.orders.get(int(order_ref)) if order_ref.isdigit() else None
            return Response(content=order) if order else not_found(f"Order {order_ref}")

        @post(f"{base}/order/{{order_ref:str}}")
        async def cancel_order(request: Request) -> Response:
            order_ref = request.path_params["order_ref"]
            refused = sandbox._refuse(request, change=True)
            if refused:
                return refused
            order_id = split(order_ref, "cancel")
            if order_id is None:
                return not_found(f"The action {order_ref}")
            async with sandbox.lock:
                order = sandbox.orders.get(order_id)
                return sandbox.cancel_order(order) if order else not_found(f"Order {order_id}")

        @get(f"{base}/order/{{order_ref:str}}/shipment", sync_to_thread=False)
        def get_order_shipments(request: Request) -> Response:
            order_ref = request.path_params["order_ref"]
            refused = sandbox._refuse(request, change=False)
            if refused:
                return refused
            order = sandbox.orders.get(int(order_ref)) if order_ref.isdigit() else None
            return Response(content=order["shipments"]) if order else not_found(f"Order {order_ref}")

        @get(f"{base}/shipment/{{shipment_ref:str}}", sync_to_thread=False)
        def get_shipment(request: Request) -> Response:
            shipment_ref = request.path_params["shipment_ref"]
            refused = sandbox._refuse(request, change=False)
            if refused:
                return refused
            order_id = sandbox.shipment_orders.get(int(shipment_ref)) if shipment_ref.isdigit() else None
            if order_id is None:
                return not_found(f"Shipment {shipment_ref}")
            return Response(
                content=next(s for s in sandbox.orders[order_id]["shipments"] if s["id"] == int(shipment_ref))
            )

        @put(f"{base}/shipment/{{shipment_ref:str}}")
        async def update_address(request: Request) -> Response:
            shipment_ref = request.path_params["shipment_ref"]
            refused = sandbox._refuse(request, change=True)
            if refused:
                return refused
            shipment_id = split(shipment_ref, "updateAddress")
            if shipment_id is None:
                return not_found(f"The action {shipment_ref}")
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                if shipment_id not in sandbox.shipment_orders:
                    return not_found(f"Shipment {shipment_id}")
                return sandbox.update_address(shipment_id, body)

        # -- control --

        def control_error(message: str, status: int = 400, **extra: Any) -> Response:
            return Response(content={"status": status, "message": message, **extra}, status_code=status)

        @get("/_control/orders/{key:str}", sync_to_thread=False)
        def control_view(request: Request) -> Response:
            key = request.path_params["key"]
            order = sandbox.find(key)
            if order is None:
                return control_error(f"No order with id or reference_id “{key}”.", 404)
            return Response(content=sandbox.view(order))

        async def control_change(request: Request, key: str, action: str) -> Response:
            body, bad = await json_body(request)
            if bad:
                return bad
            body = body if body is not None else {}
            if not isinstance(body, dict):
                return control_error("The body must be a JSON object.")
            async with sandbox.lock:
                order = sandbox.find(key)
                if order is None:
                    return control_error(f"No order with id or reference_id “{key}”.", 404)
                try:
                    if action == "ship":
                        sandbox.ship(order["id"], body.get("carrier"), body.get("tracking_number"))
                    else:
                        sandbox.hold(
                            order["id"], body.get("reason"), body.get("detail"), exception=action == "exception"
                        )
                except ControlError as exc:
                    return control_error(str(exc))
                return Response(content=sandbox.view(order), status_code=200)

        @post("/_control/orders/{key:str}/ship")
        async def control_ship(request: Request) -> Response:
            key = request.path_params["key"]
            return await control_change(request, key, "ship")

        @post("/_control/orders/{key:str}/hold")
        async def control_hold(request: Request) -> Response:
            key = request.path_params["key"]
            return await control_change(request, key, "hold")

        @post("/_control/orders/{key:str}/exception")
        async def control_exception(request: Request) -> Response:
            key = request.path_params["key"]
            return await control_change(request, key, "exception")

        @post("/_control/inventory")
        async def control_set_inventory(request: Request) -> Response:
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                try:
                    sandbox.set_inventory(body)
                except ControlError as exc:
                    return control_error(str(exc), inventory=sandbox.inventory_view())
                return Response(content=sandbox.inventory_view(), status_code=200)

        @get("/_control/inventory", sync_to_thread=False)
        def control_get_inventory() -> Response:
            return Response(content=sandbox.inventory_view())

        return [
            get_channels,
            get_products,
            get_inventory_levels,
            get_orders,
            create_order,
            get_order,
            cancel_order,
            get_order_shipments,
            get_shipment,
            update_address,
            control_view,
            control_ship,
            control_hold,
            control_exception,
            control_set_inventory,
            control_get_inventory,
        ]
