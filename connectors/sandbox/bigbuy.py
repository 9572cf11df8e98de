"""An emulator of BigBuy's REST API (orders, tracking, wallet, carriers), mounted at /sandbox/bigbuy.

It keeps a catalog (SKU → stock and price), a prepaid wallet in EUR, carriers with the countries they
serve, and the orders placed, and enforces BigBuy's rules the way BigBuy answers them:

- the key in `Authorization: Bearer <key>`, else 401 `{"message": "Invalid Token"}`;
- form errors (blank last name, address over 70 characters, bad products…): 400 `Validation Failed`
  with BigBuy's nested `errors.children`;
- ER009 temporary error (when asked for), ER011 payment other than moneybox, ER008 an order with this
  `internalReference` already exists (`data.orderId`), ER001 unknown SKU, ER003 not enough stock,
  ER004 postcode not in the country's format (the message shows the format and an example), ER010
  no carrier for the country, ER005 wallet below the order total (both amounts in the message);
  one error at a time, in that order, as `{"code": "ER00x", "message": "{\"info\": …, \"data\": …}"}`
  with HTTP 409 — or 200 when "soft errors" are on, as BigBuy sometimes does;
- `order/check` prices an order (products + cheapest allowed carrier + 21 % VAT) and changes nothing;
  `order/create` debits the wallet and the stock, answers 201 with the id in `Location` only
  (`/rest/order/<id>`, as BigBuy writes it, whatever the mount path); both have a `…/multishipping`
  form answering `{"orders": […], "errors": []}`;
- `order/{id}` answers the order as BigBuy does (`totalPaidTaxIncl`, `products[].priceTaxExcl`…),
  `order/reference/{ref}` only `{"id", "totalPaidTaxIncl"}`; `order/orderstatuses`,
  `order/delivery-notes/{id}`, `tracking/order/{id}`, `tracking/orders`, `tracking/carriers`,
  `user/purse`, `user/auth/status`, `shipping/carriers`;
- the catalogue reads a stock sync or catalogue import uses: `catalog/productsstock`,
  `catalog/productsstockbyhandlingdays`, `catalog/productstockbyhandlingdays/{id}`,
  `catalog/products`, `catalog/product/{id}`, `catalog/productprices`, `catalog/productsinformation`,
  `catalog/productinformationbysku/{sku}` (paged by `page` and `pageSize`). BigBuy's other catalogue
  reads (taxonomies, attributes, tags, images…) and shipping quotes are not emulated: they answer 404.
  tests/contract/test_bigbuy_public_client.py drives all of this through the public client `pybigbuy`;
- optionally BigBuy's limit of one order/tracking/user/shipping call per second (429 with
  `X-RateLimit-*` headers and no `Retry-After`).

Control interface (never faulted, no key needed):

- `POST _control/faults` / `GET _control/faults`: fault injection settings (see `faults.Faults`).
- `POST _control/settings` / `GET _control/settings`: `{"soft_errors": true, "temporary_errors": 2,
  "rate_limit": true}` — errors inside 200 answers, the next N order calls answer ER009, rate limit.
- `GET  _control/wallet`; `POST _control/wallet/topup` `{"amount": "50.00"}`; `POST _control/wallet`
  `{"balance": "12.40"}` sets it.
- `GET  _control/catalog`; `POST _control/catalog` `{"products": [{"sku", "stock", "price", "name"}]}`
  changes or adds SKUs.
- `GET  _control/orders`: every order; `GET _control/orders/{id or internalReference}`: status, lines,
  tracking, total and how many times it was created.
- `POST _control/orders/{id or reference}/ship` `{"carrier": "GLS", "tracking_number": "…"}`: shipped,
  with a parcel (again for a second parcel).
- `POST _control/orders/{id or reference}/status` `{"status": "cancelled"}` (pending, processed,
  processing, shipped, delivered, cancelled, refunded, on_hold, error, or BigBuy's own status text);
  cancelling before shipping refunds the wallet and puts the stock back.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from connectors.bigbuy import CURRENCY, PAYMENT_METHOD, map_status
from connectors.sandbox.common import Sandbox
from connectors.sandbox.fake_orders import PRODUCTS
from models.core.clock import now

DEFAULT_API_KEY = "sandbox-bigbuy-key"
DEFAULT_WALLET = "100.00"
DEFAULT_STOCK = 100
#: Products per page of `catalog/productsstock`.
STOCK_PAGE_MAX = 1000
VAT_RATE = Decimal("0.21")
#: BigBuy's wholesale price is about this share of the shop's selling price.
WHOLESALE_SHARE = Decimal("0.55")
FIRST_ORDER_ID = 10_000_001
MAX_ADDRESS_LENGTH = 70
CENT = Decimal("0.01")

#: Postcode formats BigBuy checks, in its own notation (N digit, L letter), with a valid example.
POSTCODE_FORMATS: dict[str, tuple[str, str, str]] = {
    "FR": (r"\d{5}", "NNNNN", "75002"),
    "DE": (r"\d{5}", "NNNNN", "10117"),
    "ES": (r"\d{5}", "NNNNN", "28014"),
    "IT": (r"\d{5}", "NNNNN", "00186"),
    "FI": (r"\d{5}", "NNNNN", "00100"),
    "AT": (r"\d{4}", "NNNN", "1010"),
    "BE": (r"\d{4}", "NNNN", "1000"),
    "DK": (r"\d{4}", "NNNN", "1050"),
    "HU": (r"\d{4}", "NNNN", "1051"),
    "NL": (r"\d{4} ?[A-Z]{2}", "NNNN LL", "1016 GV"),
    "PT": (r"\d{4}-\d{3}", "NNNN-NNN", "1100-148"),
    "PL": (r"\d{2}-\d{3}", "NN-NNN", "00-029"),
    "CZ": (r"\d{3} ?\d{2}", "NNN NN", "110 00"),
    "SK": (r"\d{3} ?\d{2}", "NNN NN", "811 01"),
    "SE": (r"\d{3} ?\d{2}", "NNN NN", "111 22"),
}
#: Where BigBuy ships at all.
SERVED_COUNTRIES = frozenset(POSTCODE_FORMATS) | {
    "LU", "IE", "GR", "RO", "BG", "HR", "SI", "EE", "LV", "LT", "GB", "CH", "NO", "MT", "CY",
}  # fmt: skip

#: Waybill-style status words accepted by `_control/orders/{id}/status` → BigBuy's status text.
STATUS_TEXTS = {
    "pending": "Pending payment",
    "processed": "Payment accepted",
    "processing": "Processing in progress",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "on_hold": "Stock incidence",
    "error": "Payment error",
}
#: Statuses after which an order can no longer be cancelled.
SENT_STATUSES = frozenset({"Shipped", "Delivered"})
#: Statuses in which the wallet has been refunded and the stock put back.
REFUNDED_STATUSES = frozenset({"Cancelled", "Refunded"})
#: Calls counted by the optional rate limit, by path prefix (BigBuy: one per second each).
RATE_LIMITED = ("order", "tracking", "user", "shipping")


class ControlError(ValueError):
    """A `_control` request the sandbox cannot take; the message says why."""


@dataclass
class Product:
    id: int
    sku: str
    name: str
    price: Decimal
    stock: int


@dataclass(frozen=True)
class Carrier:
    id: int
    name: str
    cost: Decimal
    countries: frozenset[str]
    delay: str


def default_carriers() -> list[Carrier]:
    everywhere = SERVED_COUNTRIES
    main = frozenset({"FR", "DE", "ES", "IT", "NL", "BE", "AT", "PT", "PL", "CZ", "LU", "DK"})
    return [
        Carrier(1, "Standard Shipment", Decimal("5.90"), everywhere, "6-10 days"),
        Carrier(2, "GLS", Decimal("6.90"), main, "2-4 days"),
        Carrier(3, "DHL", Decimal("9.90"), everywhere, "1-2 days"),
        Carrier(4, "Correos", Decimal("3.90"), frozenset({"ES", "PT"}), "2-3 days"),
    ]


def default_catalog() -> dict[str, Product]:
    """Every SKU the fake orders use, at a wholesale price and with plenty of stock."""
    catalog = {}
    for index, (sku, title, retail_cents) in enumerate(PRODUCTS, 1):
        price = (Decimal(retail_cents).scaleb(-2) * WHOLESALE_SHARE).quantize(CENT, rounding=ROUND_HALF_UP)
        catalog[sku] = Product(100_000 + index, sku, title, price, DEFAULT_STOCK)
    return catalog


def money(value: Decimal) -> float:
    """A euro amount as BigBuy writes it in JSON: a number with two decimals."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def parse_euros(value: Any, what: str, *, positive: bool = False) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ControlError(f'{what} must be an amount such as "50.00".')
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except (InvalidOperation, ValueError):
        raise ControlError(f'{what} must be an amount such as "50.00", not {value!r}.') from None
    if not amount.is_finite() or abs(amount) > 10**9 or amount != amount.quantize(CENT):
        raise ControlError(f"{what} must be an amount in euros with at most two decimals, not {value!r}.")
    if amount < 0 or (positive and amount == 0):
        raise ControlError(f"{what} must be {'more than' if positive else 'at least'} 0.00.")
    return amount


def error(status: int, message: str, **extra: Any) -> Response:
    return Response(content={"code": status, "message": message, **extra}, status_code=status)


def stock_entry(product: Product) -> dict[str, Any]:
    """A product's stock as `catalog/productsstock` and `…stockbyhandlingdays` answer it (one warehouse)."""
    stocks = [{"quantity": product.stock, "minHandlingDays": 1, "maxHandlingDays": 2, "warehouse": 1}]
    return {"id": product.id, "sku": product.sku, "stocks": stocks}


def retail_price(product: Product) -> Decimal:
    return (product.price / WHOLESALE_SHARE).quantize(CENT, rounding=ROUND_HALF_UP)


def price_entry(product: Product) -> dict[str, Any]:
    retail = money(retail_price(product))
    return {"id": product.id, "sku": product.sku, "wholesalePrice": money(product.price), "retailPrice": retail,
            "inShopsPrice": retail}  # fmt: skip


def information_entry(product: Product) -> dict[str, Any]:
    return {"id": product.id, "sku": product.sku, "name": product.name, "description": product.name,
            "url": f"https://www.bigbuy.eu/en/{product.sku.lower()}.html", "isoCode": "en"}  # fmt: skip


def product_entry(product: Product) -> dict[str, Any]:
    """`catalog/product(s)`: the fields the sandbox can vouch for, with BigBuy's names and types."""
    return {
        **price_entry(product),
        "active": 1,
        "condition": "NEW",
        "attributes": False,
        "categories": False,
        "images": False,
        "tags": False,
        "category": 0,
        "manufacturer": 0,
        "taxonomy": 0,
        "taxId": 1,
        "taxRate": int(VAT_RATE * 100),
        "weight": 1.0,
        "width": 10.0,
        "height": 10.0,
        "depth": 10.0,
        "ean13": None,
        "intrastat": "",
        "logisticClass": "S",
        "video": "0",
        "priceLargeQuantities": [],
        "dateUpd": "2026-01-01 00:00:00",
    }


class BigBuySandbox(Sandbox):
    name = "bigbuy"

    def __init__(
        self,
        seed: int | None = None,
        api_key: str = DEFAULT_API_KEY,
        wallet: str = DEFAULT_WALLET,
        catalog: dict[str, Product] | None = None,
        clock: Callable[[], dt.datetime] = now,
    ) -> None:
        super().__init__(seed)
        self.api_key = api_key
        self.clock = clock
        self.balance = Decimal(wallet)
        self.catalog = catalog if catalog is not None else default_catalog()
        self.carriers = default_carriers()
        #: order id → the order in BigBuy's JSON (`GET order/{id}`), in creation order.
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_reference: dict[str, str] = {}
        #: order id → its parcels in BigBuy's tracking JSON.
        self.parcels: dict[str, list[dict[str, Any]]] = {}
        self.soft_errors = False
        self.temporary_errors = 0
        self.rate_limit = False
        self._last_call: dict[str, float] = {}
        self._next_id = FIRST_ORDER_ID

    def generate_orders(self, count: int) -> list[str]:
        """A supplier receives orders, it does not make them."""
        return []

    # -- BigBuy's answers ----------------------------------------------------------------------

    def _bigbuy_error(self, code: str, info: str, data: Any = None) -> Response:
        body = {"code": code, "message": json.dumps({"info": info, "data": data if data is not None else []})}
        return Response(content=body, status_code=200 if self.soft_errors else 409)

    def _validation_error(self, problems: list[tuple[str, str]]) -> Response:
        children: dict[str, Any] = {}
        for path, message in problems:
            node = children
            parts = path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {}).setdefault("children", {})
            node.setdefault(parts[-1], {}).setdefault("errors", []).append(message)
        body = {"code": 400, "message": "Validation Failed", "errors": {"children": children}}
        return Response(content=body, status_code=200 if self.soft_errors else 400)

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response(content={"message": "Invalid Token"}, status_code=401)
        return None

    def _limited(self, family: str) -> Response | None:
        """BigBuy's one-call-per-second limit per family of calls, when switched on."""
        if not self.rate_limit:
            return None
        moment = time.time()
        last = self._last_call.get(family)
        if last is not None and moment - last < 1.0:
            reset = math.ceil(last + 1.0)
            return Response(
                content=b"You exceeded the rate limit",
                status_code=429,
                media_type="text/plain",
                headers={"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
            )
        self._last_call[family] = moment
        return None

    # -- orders --------------------------------------------------------------------------------

    def _form_problems(self, body: Any) -> tuple[list[tuple[str, str]], dict[str, Any]]:
        """BigBuy's form validation of an order body: (field path, message) pairs, and the order."""
        blank = "This value should not be blank."
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            return [("order", 'The body must be {"order": {…}}.')], {}
        order = body["order"]
        problems: list[tuple[str, str]] = []

        def text(container: dict[str, Any], key: str, path: str, required: bool) -> str:
            value = container.get(key)
            if value is None or value == "":
                if required:
                    problems.append((path, blank))
                return ""
            if not isinstance(value, str):
                problems.append((path, "This value is not valid."))
                return ""
            if required and not value.strip():
                problems.append((path, blank))
            return value.strip()

        reference = text(order, "internalReference", "internalReference", True)
        if len(reference) > 50:
            problems.append(("internalReference", "This value is too long. It should have 50 characters or less."))
        text(order, "language", "language", True)
        text(order, "paymentMethod", "paymentMethod", True)
        if order.get("cashOnDelivery") not in (None, 0, 0.0, False, "0"):
            problems.append(("cashOnDelivery", "Cash on delivery is not available for dropshipping orders."))
        carriers = order.get("carriers", [])
        if carriers is None:
            carriers = []
        if not isinstance(carriers, list):
            problems.append(("carriers", "This value is not valid."))
        else:
            for index, carrier in enumerate(carriers):
                if not isinstance(carrier, dict) or not isinstance(carrier.get("name"), str):
                    problems.append((f"carriers.{index}.name", "This value is not valid."))
        address = order.get("shippingAddress")
        if not isinstance(address, dict):
            problems.append(("shippingAddress", blank))
        else:
            for key in ("firstName", "lastName", "country", "postcode", "town", "address"):
                text(address, key, f"shippingAddress.{key}", True)
            for key in ("phone", "email", "comment", "companyName", "vatNumber"):
                text(address, key, f"shippingAddress.{key}", False)
            street = address.get("address")
            if isinstance(street, str) and len(street.strip()) > MAX_ADDRESS_LENGTH:
                problems.append(
                    (
                        "shippingAddress.address",
                        f"This value is too long. It should have {MAX_ADDRESS_LENGTH} characters or less.",
                    )
                )
            country = address.get("country")
            if isinstance(country, str) and country.strip() and not re.fullmatch(r"[A-Za-z]{2}", country.strip()):
                problems.append(("shippingAddress.country", "This value is not a valid country."))
        products = order.get("products")
        if not isinstance(products, list) or not products:
            problems.append(("products", "This collection should contain 1 element or more."))
        else:
            for index, product in enumerate(products):
                if not isinstance(product, dict):
                    problems.append((f"products.{index}", "This value is not valid."))
                    continue
                text(product, "reference", f"products.{index}.reference", True)
                quantity = product.get("quantity")
                if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 10_000:
                    problems.append((f"products.{index}.quantity", "This value should be a whole number from 1."))
        return problems, order

    def _evaluate(self, body: Any) -> tuple[Response | None, dict[str, Any]]:
        """Check an order the way BigBuy does; (error answer or None, the priced order)."""
        problems, order = self._form_problems(body)
        if problems:
            return self._validation_error(problems), {}
        if self.temporary_errors > 0:
            self.temporary_errors -= 1
            return self._bigbuy_error("ER009", "Temporary error, please try again in a few minutes."), {}
        payment = order["paymentMethod"].strip()
        if payment != PAYMENT_METHOD:
            info = f"Invalid payment method “{payment}”: this account pays its orders from the moneybox."
            return self._bigbuy_error("ER011", info), {}
        reference = order["internalReference"].strip()
        if reference in self.by_reference:
            existing = self.by_reference[reference]
            info = f"The order with reference {reference} already exists (order {existing})."
            return self._bigbuy_error("ER008", info, {"orderId": int(existing)}), {}

        wanted: dict[str, int] = {}
        for product in order["products"]:
            sku = product["reference"].strip()
            wanted[sku] = wanted.get(sku, 0) + product["quantity"]
        unknown = [sku for sku in wanted if sku not in self.catalog]
        if unknown:
            info = f"Product{'s' if len(unknown) > 1 else ''} not found: {', '.join(unknown)}."
            return self._bigbuy_error("ER001", info, {"skus": unknown}), {}
        short = [sku for sku, quantity in wanted.items() if self.catalog[sku].stock < quantity]
        if short:
            detail = "; ".join(f"{sku}: {self.catalog[sku].stock} available, {wanted[sku]} requested" for sku in short)
            return self._bigbuy_error("ER003", f"Not enough stock. {detail}.", {"skus": short}), {}

        address = order["shippingAddress"]
        country = address["country"].strip().upper()
        postcode = address["postcode"].strip().upper()
        fmt = POSTCODE_FORMATS.get(country)
        if fmt and not re.fullmatch(fmt[0], postcode):
            info = (
                f"Invalid postcode format. Valid format for the selected country is '{fmt[1]}' "
                f"(for example {fmt[2]}); “{postcode}” does not match it."
            )
            return self._bigbuy_error("ER004", info, {"zipExample": fmt[2]}), {}

        requested = [c["name"].strip().lower() for c in order.get("carriers") or [] if c["name"].strip()]
        allowed = [c for c in self.carriers if not requested or c.name.lower() in requested]
        serving = sorted((c for c in allowed if country in c.countries), key=lambda c: (c.cost, c.id))
        if not serving:
            names = ", ".join(c["name"] for c in order.get("carriers") or []) or "any carrier"
            info = f"No carrier available: {names} cannot deliver this order to {country}."
            return self._bigbuy_error("ER010", info), {}
        carrier = serving[0]

        lines = []
        subtotal = Decimal(0)
        for sku, quantity in wanted.items():
            product = self.catalog[sku]
            subtotal += product.price * quantity
            lines.append(
                {
                    "id": product.id,
                    "reference": sku,
                    "quantity": quantity,
                    "name": product.name,
                    "price": money(product.price),
                }
            )
        without_taxes = subtotal + carrier.cost
        total = (without_taxes * (1 + VAT_RATE)).quantize(CENT, rounding=ROUND_HALF_UP)
        if total > self.balance:
            info = (
                f"Insufficient wallet balance: {self.balance:.2f} {CURRENCY} available, {total:.2f} {CURRENCY} needed."
            )
            data = {"moneyBoxAmount": money(self.balance), "totalOrder": money(total)}
            return self._bigbuy_error("ER005", info, data), {}
        priced = {
            "internalReference": reference,
            "language": order["language"].strip(),
            "paymentMethod": payment,
            "shippingAddress": {
                key: (value.strip() if isinstance(value, str) else value) for key, value in address.items()
            },
            "carrier": carrier,
            "products": lines,
            "wanted": wanted,
            "shippingCost": carrier.cost,
            "totalWithoutTaxes": without_taxes,
            "total": total,
        }
        return None, priced

    def _check_answer(self, priced: dict[str, Any]) -> dict[str, Any]:
        carrier = priced["carrier"]
        products_only = priced["totalWithoutTaxes"] - priced["shippingCost"]
        return {
            "totalWithoutTaxesAndWithoutShippingCost": money(products_only),
            "totalWithoutTaxes": money(priced["totalWithoutTaxes"]),
            "total": money(priced["total"]),
            "shippingCost": money(priced["shippingCost"]),
            "orders": [
                {
                    "warehouse": 1,
                    "products": priced["products"],
                    "carriers": [{"id": carrier.id, "name": carrier.name, "shippingCost": money(carrier.cost)}],
                    "shippingCost": money(priced["shippingCost"]),
                    "totalWithoutTaxes": money(priced["totalWithoutTaxes"]),
                    "total": money(priced["total"]),
                }
            ],
        }

    def _place(self, priced: dict[str, Any]) -> str:
        """Create an order that passed `_evaluate`: take the stock and the money."""
        order_id = str(self._next_id)
        self._next_id += 1
        for sku, quantity in priced["wanted"].items():
            self.catalog[sku].stock -= quantity
        self.balance -= priced["total"]
        carrier = priced["carrier"]
        stamp = self.clock().strftime("%Y-%m-%d %H:%M:%S")
        shipping_incl = (priced["shippingCost"] * (1 + VAT_RATE)).quantize(CENT, rounding=ROUND_HALF_UP)
        self.orders[order_id] = {
            "id": order_id,
            "internalReference": priced["internalReference"],
            "status": STATUS_TEXTS["processed"],
            "dateAdd": stamp,
            "dateUpdate": stamp,
            "cashOnDelivery": 0,
            "language": priced["language"],
            "paymentMethod": priced["paymentMethod"],
            "shippingAddress": priced["shippingAddress"],
            "carriers": [{"id": str(carrier.id), "name": carrier.name, "price": money(shipping_incl)}],
            "products": [
                {
                    "id": str(line["id"]),
                    "reference": line["reference"],
                    "quantity": line["quantity"],
                    "name": line["name"],
                    "priceTaxExcl": line["price"],
                    "priceTaxIncl": money(Decimal(repr(line["price"])) * (1 + VAT_RATE)),
                }
                for line in priced["products"]
            ],
            "totalShippingTaxExcl": money(priced["shippingCost"]),
            "totalShippingTaxIncl": money(shipping_incl),
            "totalPaidTaxExcl": money(priced["totalWithoutTaxes"]),
            "totalPaidTaxIncl": money(priced["total"]),
        }
        self.by_reference[priced["internalReference"]] = order_id
        self.parcels[order_id] = []
        self.record("create", priced["internalReference"], bigbuy_id=order_id, total=f"{priced['total']:.2f}")
        return order_id

    def resolve(self, key: str) -> str | None:
        """An order id from an id or one of our references."""
        if key in self.orders:
            return key
        return self.by_reference.get(key)

    def view(self, order_id: str) -> dict[str, Any]:
        order = self.orders[order_id]
        reference = order["internalReference"]
        return {
            "id": order_id,
            "internalReference": reference,
            "status": order["status"],
            "waybill_status": map_status(order["status"]),
            "carrier": order["carriers"][0]["name"] if order["carriers"] else None,
            "lines": [
                {"sku": p["reference"], "quantity": p["quantity"], "price": p["priceTaxExcl"]}
                for p in order["products"]
            ],
            "tracking": [
                {"carrier": p["carrier"]["name"], "tracking_number": p["trackingNumber"]}
                for p in self.parcels.get(order_id, [])
            ],
            "total": f"{Decimal(repr(order['totalPaidTaxIncl'])):.2f}",
            "operations": {"create": self.operation_count("create", reference)},
        }

    def ship(self, order_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ControlError('The body must be {"carrier": "GLS", "tracking_number": "…"}.')
        carrier, number = body.get("carrier"), body.get("tracking_number")
        order = self.orders[order_id]
        if carrier is None and order["carriers"]:
            carrier = order["carriers"][0]["name"]
        if not isinstance(carrier, str) or not carrier.strip():
            raise ControlError("carrier must be the carrier's name, e.g. GLS.")
        if not isinstance(number, str) or not number.strip():
            raise ControlError("tracking_number must be non-empty text.")
        if order["status"] in REFUNDED_STATUSES:
            raise ControlError(f"Order {order_id} cannot be shipped: it is {order['status']}.")
        known = {c.name.lower(): c for c in self.carriers}
        match = known.get(carrier.strip().lower())
        stamp = self.clock().strftime("%Y-%m-%d %H:%M:%S")
        self.parcels.setdefault(order_id, []).append(
            {
                "trackingNumber": number.strip(),
                "statusDate": stamp,
                "statusDescription": "Shipped",
                "descriptionTranslated": "Shipped",
                "carrier": {"id": str(match.id if match else 0), "name": match.name if match else carrier.strip()},
            }
        )
        if order["status"] != STATUS_TEXTS["delivered"]:
            order["status"] = STATUS_TEXTS["shipped"]
        order["dateUpdate"] = stamp
        return self.view(order_id)

    def set_status(self, order_id: str, body: Any) -> dict[str, Any]:
        wanted = body.get("status") if isinstance(body, dict) else None
        if not isinstance(wanted, str) or not wanted.strip():
            raise ControlError('The body must be {"status": "cancelled"}.')
        key = wanted.strip().lower()
        texts = {text.lower(): text for text in STATUS_TEXTS.values()}
        text = STATUS_TEXTS.get(key) or texts.get(key)
        if text is None:
            choices = ", ".join(STATUS_TEXTS)
            raise ControlError(f"Unknown status “{wanted}”; use one of {choices} (or BigBuy's own status text).")
        order = self.orders[order_id]
        if text in REFUNDED_STATUSES and order["status"] not in REFUNDED_STATUSES:
            if order["status"] in SENT_STATUSES:
                raise ControlError(f"Order {order_id} cannot be {text.lower()}: it was already {order['status']}.")
            self.balance += Decimal(repr(order["totalPaidTaxIncl"]))
            for product in order["products"]:
                if product["reference"] in self.catalog:
                    self.catalog[product["reference"]].stock += product["quantity"]
        elif order["status"] in REFUNDED_STATUSES and text not in REFUNDED_STATUSES:
            raise ControlError(f"Order {order_id} is {order['status']}: it cannot become {text} again.")
        order["status"] = text
        order["dateUpdate"] = self.clock().strftime("%Y-%m-%d %H:%M:%S")
        return self.view(order_id)

    def change_catalog(self, body: Any) -> dict[str, Any]:
        products = body.get("products") if isinstance(body, dict) else None
        if not isinstance(products, list) or not products:
            raise ControlError('The body must be {"products": [{"sku": "BB-1001", "stock": 0, "price": "10.95"}]}.')
        changes: list[tuple[str, int | None, Decimal | None, str | None]] = []
        for index, entry in enumerate(products, 1):
            if not isinstance(entry, dict) or not isinstance(entry.get("sku"), str) or not entry["sku"].strip():
                raise ControlError(f"Product {index} needs a sku (text).")
            sku = entry["sku"].strip()
            stock = entry.get("stock")
            if stock is not None and (isinstance(stock, bool) or not isinstance(stock, int) or stock < 0):
                raise ControlError(f"{sku}: stock must be a whole number, 0 or more.")
            price = parse_euros(entry["price"], f"{sku}: price", positive=True) if "price" in entry else None
            name = entry.get("name")
            if name is not None and not isinstance(name, str):
                raise ControlError(f"{sku}: name must be text.")
            if sku not in self.catalog and (stock is None or price is None):
                raise ControlError(f"{sku} is a new product: give both its stock and its price.")
            changes.append((sku, stock, price, name))
        for sku, stock, price, name in changes:  # all or nothing
            product = self.catalog.get(sku)
            if product is None:
                product = self.catalog[sku] = Product(100_000 + len(self.catalog) + 1, sku, name or sku, CENT, 0)
            if stock is not None:
                product.stock = stock
            if price is not None:
                product.price = price
            if name:
                product.name = name
        return self.catalog_view()

    def catalog_view(self) -> dict[str, Any]:
        return {
            "products": [
                {"sku": p.sku, "name": p.name, "stock": p.stock, "price": f"{p.price:.2f}"}
                for p in self.catalog.values()
            ]
        }

    def wallet_view(self) -> dict[str, Any]:
        return {"balance": f"{self.balance:.2f}", "currency": CURRENCY}

    def settings_view(self) -> dict[str, Any]:
        return {
            "soft_errors": self.soft_errors,
            "temporary_errors": self.temporary_errors,
            "rate_limit": self.rate_limit,
        }

    def change_settings(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ControlError("The body must be a JSON object of settings.")
        problems = []
        for key, value in body.items():
            if key in ("soft_errors", "rate_limit"):
                if not isinstance(value, bool):
                    problems.append(f"{key} must be true or false")
            elif key == "temporary_errors":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    problems.append("temporary_errors must be a whole number, 0 or more")
            else:
                problems.append(f"unknown setting “{key}”")
        if problems:
            raise ControlError("Refused: " + "; ".join(problems) + ".")
        for key, value in body.items():
            setattr(self, key, value)
        return self.settings_view()

    def stock_page(self, query: dict[str, str]) -> Response:
        """`catalog/productsstock`: every product's stock per warehouse, `pageSize` (≤ 1,000) at a time."""
        try:
            size = int(query.get("pageSize", str(STOCK_PAGE_MAX)))
            page = int(query.get("page", "1"))
        except ValueError:
            return self._validation_error([("pageSize", "This value is not valid.")])
        if not 1 <= size <= STOCK_PAGE_MAX or page < 1:
            return self._validation_error([("pageSize", f"This value should be between 1 and {STOCK_PAGE_MAX}.")])
        return self.catalog_page(query, stock_entry)

    def catalog_page(self, query: dict[str, str], entry: Callable[[Product], dict[str, Any]]) -> Response:
        """A catalog list, `pageSize` (≤ 1,000) products at a time from `page` 1; all of it without them."""
        if "page" not in query and "pageSize" not in query:
            return Response(content=[entry(p) for p in self.catalog.values()])
        try:
            size = int(query.get("pageSize", str(STOCK_PAGE_MAX)))
            page = int(query.get("page", "1"))
        except ValueError:
            return self._validation_error([("pageSize", "This value is not valid.")])
        if not 1 <= size <= STOCK_PAGE_MAX or page < 1:
            return self._validation_error([("pageSize", f"This value should be between 1 and {STOCK_PAGE_MAX}.")])
        products = list(self.catalog.values())[(page - 1) * size : page * size]
        return Response(content=[entry(p) for p in products])

    def product_by_id(self, product_id: str) -> Product | None:
        return next((p for p in self.catalog.values() if str(p.id) == product_id), None)

    def statuses_view(self) -> list[dict[str, Any]]:
        return [{"id": index, "name": text} for index, text in enumerate(STATUS_TEXTS.values(), 1)]

    def trackings_of(self, order_ids: list[str]) -> list[dict[str, Any]]:
        """`tracking/order(s)`: the orders that have parcels, with our reference; the others are left out."""
        return [
            {"id": int(order_id), "reference": self.orders[order_id]["internalReference"], "trackings": parcels}
            for order_id in order_ids
            if (parcels := self.parcels.get(order_id))
        ]

    def delivery_notes(self, order_id: str) -> list[dict[str, Any]]:
        """One delivery note per shipped order, with its packages and lines; none before it ships."""
        order, parcels = self.orders[order_id], self.parcels.get(order_id, [])
        if not parcels:
            return []
        return [
            {
                "reference": f"DN{order_id}",
                "order": order_id,
                "status": order["status"],
                "carrier": parcels[0]["carrier"]["name"],
                "numberOfPackages": len(parcels),
                "products": [{"reference": p["reference"], "quantity": p["quantity"]} for p in order["products"]],
            }
        ]

    # -- HTTP ----------------------------------------------------------------------------------

    def route_handlers(self) -> list[Any]:
        sandbox = self

        async def json_body(request: Request) -> tuple[Any, Response | None]:
            raw = await request.body()
            if not raw.strip():
                return None, None
            try:
                return json.loads(raw), None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return None, error(400, f"The body is not valid JSON: {exc}.")

        def gate(request: Request, family: str) -> Response | None:
            return sandbox._unauthorized(request) or sandbox._limited(family)

        def control_failure(exc: ControlError) -> Response:
            return error(400, str(exc))

        async def priced_order(request: Request, answer: Callable[[dict[str, Any]], Response]) -> Response:
            """An order check or create: gate, read the body, price it and `answer` under the lock, so two
            creates never take the same stock or money."""
            refused = gate(request, "order")
            if refused:
                return refused
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                failure, priced = sandbox._evaluate(body)
                return failure or answer(priced)

        def unknown(key: str) -> Response:
            return error(404, f"No order found with id or reference {key}.")

        @post("/rest/order/check.json")
        async def order_check(request: Request) -> Response:
            return await priced_order(request, lambda priced: Response(content=sandbox._check_answer(priced)))

        @post("/rest/order/create.json")
        async def order_create(request: Request) -> Response:
            def placed(priced: dict[str, Any]) -> Response:
                order_id = sandbox._place(priced)
                return Response(content=b"", status_code=201, headers={"Location": f"/rest/order/{order_id}"})

            return await priced_order(request, placed)

        @get("/rest/order/reference/{reference:str}", sync_to_thread=False)
        def order_by_reference(request: Request, reference: FromPath[str]) -> Response:
            refused = gate(request, "order")
            if refused:
                return refused
            reference = reference.removesuffix(".json")
            order_id = sandbox.by_reference.get(reference)
            if order_id is None:
                return error(404, f"No order found with refOrder: {reference}")
            paid = sandbox.orders[order_id]["totalPaidTaxIncl"]
            return Response(content={"id": order_id, "totalPaidTaxIncl": f"{paid:.2f}"})

        @get("/rest/order/{order_id:str}", sync_to_thread=False)
        def order_by_id(request: Request, order_id: FromPath[str]) -> Response:
            refused = gate(request, "order")
            if refused:
                return refused
            order_id = order_id.removesuffix(".json")
            if order_id not in sandbox.orders:
                return error(404, f"No order found with id: {order_id}")
            return Response(content=sandbox.orders[order_id])

        @post("/rest/tracking/orders.json")
        async def tracking_orders(request: Request) -> Response:
            refused = gate(request, "tracking")
            if refused:
                return refused
            body, bad = await json_body(request)
            if bad:
                return bad
            track = body.get("track") if isinstance(body, dict) else None
            wanted = track.get("orders") if isinstance(track, dict) else None
            if not isinstance(wanted, list) or not all(isinstance(o, dict) and "id" in o for o in wanted):
                return sandbox._validation_error([("track.orders", "This value is not valid.")])
            known = [str(entry["id"]) for entry in wanted if str(entry["id"]) in sandbox.orders]
            return Response(content=sandbox.trackings_of(known), status_code=200)

        @get("/rest/user/purse.json", sync_to_thread=False)
        def user_purse(request: Request) -> Response:
            refused = gate(request, "user")
            if refused:
                return refused
            return Response(content=json.dumps(f"{sandbox.balance:.2f}").encode(), media_type="application/json")

        @get("/rest/shipping/carriers.json", sync_to_thread=False)
        def shipping_carriers(request: Request) -> Response:
            refused = gate(request, "shipping")
            if refused:
                return refused
            return Response(
                content=[
                    {
                        "id": str(c.id),
                        "name": c.name,
                        "shippingServices": [{"id": str(c.id), "name": c.name, "delay": c.delay, "pod": True}],
                    }
                    for c in sandbox.carriers
                ]
            )

        @get("/rest/catalog/productsstock.json", sync_to_thread=False)
        def products_stock(request: Request) -> Response:
            refused = gate(request, "catalog")
            if refused:
                return refused
            return sandbox.stock_page(dict(request.query_params))

        @post("/rest/order/check/multishipping.json")
        async def order_check_multishipping(request: Request) -> Response:
            def checked(priced: dict[str, Any]) -> Response:
                check = sandbox._check_answer(priced)
                totals = ("totalWithoutTaxesAndWithoutShippingCost", "totalWithoutTaxes", "total")
                split = {key: check[key] for key in totals}
                split |= {"warehouse": 1, "productReferences": list(priced["wanted"])}
                return Response(content={"orders": [split], "errors": []}, status_code=200)

            return await priced_order(request, checked)

        @post("/rest/order/create/multishipping.json")
        async def order_create_multishipping(request: Request) -> Response:
            def placed(priced: dict[str, Any]) -> Response:
                order_id = sandbox._place(priced)
                split = {
                    "productReferences": list(priced["wanted"]),
                    "id": order_id,
                    "warehouse": 1,
                    "url": f"/rest/order/{order_id}",
                }
                return Response(content={"orders": [split], "errors": []}, status_code=201)

            return await priced_order(request, placed)

        @get("/rest/order/orderstatuses.json", sync_to_thread=False)
        def order_statuses(request: Request) -> Response:
            return gate(request, "order") or Response(content=sandbox.statuses_view())

        @get("/rest/order/delivery-notes/{order_id:str}", sync_to_thread=False)
        def order_delivery_notes(request: Request, order_id: FromPath[str]) -> Response:
            refused = gate(request, "order")
            if refused:
                return refused
            order_id = order_id.removesuffix(".json")
            if order_id not in sandbox.orders:
                return error(404, f"No order found with id: {order_id}")
            return Response(content=sandbox.delivery_notes(order_id))

        @get("/rest/tracking/order/{order_id:str}", sync_to_thread=False)
        def tracking_order(request: Request, order_id: FromPath[str]) -> Response:
            refused = gate(request, "tracking")
            if refused:
                return refused
            order_id = order_id.removesuffix(".json")
            if order_id not in sandbox.orders:
                return error(404, f"No order found with id: {order_id}")
            return Response(content=sandbox.trackings_of([order_id]))

        @get("/rest/tracking/carriers.json", sync_to_thread=False)
        def tracking_carriers(request: Request) -> Response:
            refused = gate(request, "tracking")
            if refused:
                return refused
            return Response(content=[{"id": str(c.id), "name": c.name} for c in sandbox.carriers])

        @get("/rest/user/auth/status.json", sync_to_thread=False)
        def user_auth_status(request: Request) -> Response:
            return gate(request, "user") or Response(content=b"", status_code=200, media_type="application/json")

        @get("/rest/catalog/productsstockbyhandlingdays.json", sync_to_thread=False)
        def products_stock_by_handling_days(request: Request) -> Response:
            return gate(request, "catalog") or sandbox.stock_page(dict(request.query_params))

        @get("/rest/catalog/productstockbyhandlingdays/{product_id:str}", sync_to_thread=False)
        def product_stock_by_handling_days(request: Request, product_id: FromPath[str]) -> Response:
            refused = gate(request, "catalog")
            if refused:
                return refused
            product = sandbox.product_by_id(product_id.removesuffix(".json"))
            if product is None:
                return error(404, f"No product found with id: {product_id.removesuffix('.json')}")
            return Response(content=stock_entry(product))

        @get("/rest/catalog/productsvariationsstockbyhandlingdays.json", sync_to_thread=False)
        def variations_stock_by_handling_days(request: Request) -> Response:
            return gate(request, "catalog") or Response(content=[])  # the sandbox's products have no variations

        @get("/rest/catalog/products.json", sync_to_thread=False)
        def catalog_products(request: Request) -> Response:
            return gate(request, "catalog") or sandbox.catalog_page(dict(request.query_params), product_entry)

        @get("/rest/catalog/productprices.json", sync_to_thread=False)
        def catalog_product_prices(request: Request) -> Response:
            return gate(request, "catalog") or sandbox.catalog_page(dict(request.query_params), price_entry)

        @get("/rest/catalog/productsinformation.json", sync_to_thread=False)
        def catalog_products_information(request: Request) -> Response:
            return gate(request, "catalog") or sandbox.catalog_page(dict(request.query_params), information_entry)

        @get("/rest/catalog/product/{product_id:str}", sync_to_thread=False)
        def catalog_product(request: Request, product_id: FromPath[str]) -> Response:
            refused = gate(request, "catalog")
            if refused:
                return refused
            product = sandbox.product_by_id(product_id.removesuffix(".json"))
            if product is None:
                return error(404, f"No product found with id: {product_id.removesuffix('.json')}")
            return Response(content=product_entry(product))

        @get("/rest/catalog/productinformationbysku/{sku:str}", sync_to_thread=False)
        def catalog_product_information_by_sku(request: Request, sku: FromPath[str]) -> Response:
            refused = gate(request, "catalog")
            if refused:
                return refused
            product = sandbox.catalog.get(sku.removesuffix(".json"))
            if product is None:
                return error(404, f"No product found with sku: {sku.removesuffix('.json')}")
            return Response(content=[information_entry(product)])

        @post("/_control/settings")
        async def control_set_settings(request: Request) -> Response:
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                try:
                    return Response(content=sandbox.change_settings(body), status_code=200)
                except ControlError as exc:
                    return control_failure(exc)

        @get("/_control/settings", sync_to_thread=False)
        def control_get_settings() -> Response:
            return Response(content=sandbox.settings_view())

        @get("/_control/wallet", sync_to_thread=False)
        def control_get_wallet() -> Response:
            return Response(content=sandbox.wallet_view())

        @post("/_control/wallet")
        async def control_set_wallet(request: Request) -> Response:
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                try:
                    value = body.get("balance") if isinstance(body, dict) else None
                    sandbox.balance = parse_euros(value, "balance")
                except ControlError as exc:
                    return control_failure(exc)
                return Response(content=sandbox.wallet_view(), status_code=200)

        @post("/_control/wallet/topup")
        async def control_topup(request: Request) -> Response:
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                try:
                    value = body.get("amount") if isinstance(body, dict) else None
                    sandbox.balance += parse_euros(value, "amount", positive=True)
                except ControlError as exc:
                    return control_failure(exc)
                return Response(content=sandbox.wallet_view(), status_code=200)

        @get("/_control/catalog", sync_to_thread=False)
        def control_get_catalog() -> Response:
            return Response(content=sandbox.catalog_view())

        @post("/_control/catalog")
        async def control_set_catalog(request: Request) -> Response:
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                try:
                    return Response(content=sandbox.change_catalog(body), status_code=200)
                except ControlError as exc:
                    return control_failure(exc)

        @get("/_control/orders", sync_to_thread=False)
        def control_list_orders() -> Response:
            views = [sandbox.view(order_id) for order_id in sandbox.orders]
            return Response(content={"orders": views, "count": len(views)})

        @get("/_control/orders/{key:str}", sync_to_thread=False)
        def control_view_order(key: FromPath[str]) -> Response:
            order_id = sandbox.resolve(key)
            if order_id is None:
                return unknown(key)
            return Response(content=sandbox.view(order_id))

        async def control_change(request: Request, key: str, change: Callable[[str, Any], dict[str, Any]]) -> Response:
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                order_id = sandbox.resolve(key)
                if order_id is None:
                    return unknown(key)
                try:
                    return Response(content=change(order_id, body), status_code=200)
                except ControlError as exc:
                    return control_failure(exc)

        @post("/_control/orders/{key:str}/ship")
        async def control_ship(request: Request, key: FromPath[str]) -> Response:
            return await control_change(request, key, sandbox.ship)

        @post("/_control/orders/{key:str}/status")
        async def control_status(request: Request, key: FromPath[str]) -> Response:
            return await control_change(request, key, sandbox.set_status)

        return [
            order_check,
            order_create,
            order_check_multishipping,
            order_create_multishipping,
            order_statuses,
            order_delivery_notes,
            order_by_reference,
            order_by_id,
            tracking_orders,
            tracking_order,
            tracking_carriers,
            user_purse,
            user_auth_status,
            shipping_carriers,
            products_stock,
            products_stock_by_handling_days,
            product_stock_by_handling_days,
            variations_stock_by_handling_days,
            catalog_products,
            catalog_product_prices,
            catalog_products_information,
            catalog_product,
            catalog_product_information_by_sku,
            control_set_settings,
            control_get_settings,
            control_get_wallet,
            control_set_wallet,
            control_topup,
            control_get_catalog,
            control_set_catalog,
            control_list_orders,
            control_view_order,
            control_ship,
            control_status,
        ]
