"""BigBuy, a dropshipping supplier that is paid in advance from a wallet (the "moneybox").

Calls used (paths relative to https://api.bigbuy.eu, or https://api.sandbox.bigbuy.eu for trials;
every path ends in `.json`, the format):

- `POST /rest/order/check.json`: simulate an order, answer its totals (`total`, `totalWithoutTaxes`,
  `shippingCost`). Refusals come as BigBuy error codes (below). Changes nothing.
- `POST /rest/order/create.json`: place the order, paid with `paymentMethod: "moneybox"`. Answers
  201 with an empty body; the new order's id is only in the `Location` header (`/rest/order/<id>`).
- `GET /rest/order/reference/{internalReference}.json`: the id of the order we sent with that
  reference, as `{"id", "totalPaidTaxIncl"}` (404 `No order found with refOrder: …` when there is
  none); its status is then read by id. Our reference is the idempotency key.
- `GET /rest/order/{id}.json`: one order, with its `status` text.
- `POST /rest/tracking/orders.json`: `{"track": {"orders": [{"id": …}]}}` → the trackings of
  several orders; orders without tracking are left out of the answer.
- `GET /rest/user/purse.json`: the wallet balance, a JSON string such as `"100.00"` (EUR).
- `GET /rest/shipping/carriers.json`: the carriers, by `name` (what `carriers: [{"name"}]` takes).

BigBuy's order API has no call that cancels an order: a cancelled Waybill order is cancelled by the
merchant in the BigBuy account (the protocol's `cancel` says so), and the status job then reads it back.

Order body: `{"order": {"internalReference", "cashOnDelivery", "language", "paymentMethod",
"carriers": [{"name"}], "shippingAddress": {"firstName", "lastName", "country", "postcode", "town",
"address", "phone", "email", "comment", "companyName"}, "products": [{"reference", "quantity"}]}}`.

Authentication: `Authorization: Bearer <api key>`; a wrong key is a 401 `{"message": "Invalid Token"}`.
Order, tracking, user and shipping calls are limited to about one per second: over it BigBuy answers
429 (`You exceeded the rate limit`) with `X-RateLimit-Reset` (Unix time), without `Retry-After`.

Errors are `{"code": "ER003", "message": "<JSON text: {\"info\": …, \"data\": …}>"}` — the message is
itself JSON — and BigBuy also sends them inside 200 answers ("soft errors"), so every answer is read
for them. Codes: ER001 product not found, ER002 wrong reference, ER003 not enough stock (`data.skus`),
ER004 postcode format (`data.zipExample`), ER005 moneybox too low (`data.moneyBoxAmount`,
`data.totalOrder`), ER007 order below the minimum, ER008 order already exists (`data.orderId`), ER009
temporary error, ER010 no carrier, ER011 payment method, ER012–ER014 bank wire, export and pack
errors. Form errors are 400 `{"code": 400, "message": "Validation Failed", "errors": {"children": …}}`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from connectors import json_fields
from connectors.base import DEFAULT_TIMEOUT, SupplierConnector, error_text, retry_after
from models.ports import (
    AlreadyExists,
    CheckResult,
    RemoteError,
    SupplierOrderRequest,
    SupplierOrderState,
    SupplierProblem,
    SupplierRefused,
    SupplierTracking,
)

CURRENCY = "EUR"
PAYMENT_METHOD = "moneybox"

ER_PRODUCT_NOT_FOUND = "ER001"
ER_WRONG_REFERENCE = "ER002"
ER_STOCK = "ER003"
ER_POSTCODE = "ER004"
ER_MONEYBOX = "ER005"
ER_ORDER_TOO_LOW = "ER007"
ER_ALREADY_EXISTS = "ER008"
ER_TEMPORARY = "ER009"
ER_NO_CARRIER = "ER010"
ER_PAYMENT_METHOD = "ER011"

#: BigBuy error code → Waybill review code. Codes not listed (ER007, ER011…) are `supplier_refused`.
REVIEW_CODES = {
    ER_PRODUCT_NOT_FOUND: "unknown_sku",
    ER_WRONG_REFERENCE: "unknown_sku",
    ER_STOCK: "out_of_stock",
    ER_POSTCODE: "invalid_postcode",
    ER_MONEYBOX: "wallet_insufficient",
    ER_NO_CARRIER: "no_carrier",
}
REFUSED = "supplier_refused"
#: Form fields (flattened, as BigBuy names them) → review code; other address fields are `address_error`.
FIELD_CODES = {
    "shippingAddress.lastName": "missing_surname",
    "shippingAddress.postcode": "invalid_postcode",
}

#: BigBuy order status texts → SUPPLIER_STATUSES. Unknown texts fall back on keywords, then "processed".
STATUSES = {
    "pending payment": "pending",
    "awaiting payment": "pending",
    "awaiting bank wire payment": "pending",
    "payment accepted": "processed",
    "processing in progress": "processed",
    "preparation in progress": "processed",
    "shipped": "shipped",
    "sent": "shipped",
    "delivered": "shipped",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "refunded": "cancelled",
    "stock incidence": "on_hold",
    "incidence": "on_hold",
    "on hold": "on_hold",
    "payment error": "error",
}
_STATUS_KEYWORDS = (
    ("cancel", "cancelled"),
    ("refund", "cancelled"),
    ("deliver", "shipped"),
    ("ship", "shipped"),
    ("incidence", "on_hold"),
    ("hold", "on_hold"),
    ("error", "error"),
    ("fail", "error"),
    ("pending", "pending"),
    ("await", "pending"),
)

#: The language BigBuy writes to the customer in, by delivery country; others get English.
LANGUAGES = {
    "ES": "es", "FR": "fr", "BE": "fr", "LU": "fr", "DE": "de", "AT": "de", "CH": "de", "IT": "it",
    "PT": "pt", "NL": "nl", "PL": "pl", "CZ": "cs", "SK": "sk", "DK": "da", "SE": "sv", "FI": "fi",
    "HU": "hu", "RO": "ro", "BG": "bg", "HR": "hr", "SI": "sl", "GR": "el", "EE": "et", "LV": "lv",
    "LT": "lt", "NO": "no",
}  # fmt: skip

#: Amounts beyond this (in euros) are not understood.
MAX_AMOUNT = Decimal(1_000_000_000)
_CENT = Decimal("0.01")


#: Products per page of `catalog/productsstock` (BigBuy's largest page).
STOCK_PAGE_SIZE = 1000


class BigBuyFormatError(ValueError):
    """A BigBuy answer that cannot be understood; the message says what was wrong."""


# --------------------------------------------------------------------------- pure parsing


def parse_amount(value: Any, what: str) -> int:
    """A BigBuy amount in euros (number or text, e.g. 12.4 or "12.40") → cents, rounded half up."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BigBuyFormatError(f"{what} is not an amount ({_show(value)}).")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except (InvalidOperation, ValueError):
        raise BigBuyFormatError(f"{what} is not an amount ({_show(value)}).") from None
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise BigBuyFormatError(f"{what} is not a plausible amount ({_show(value)}).")
    return int(amount.quantize(_CENT, rounding=ROUND_HALF_UP).scaleb(2))


def format_amount(cents: int) -> str:
    """Cents → the way BigBuy writes euros ("12.40")."""
    return f"{Decimal(cents).scaleb(-2):.2f}"


def parse_products_stock(body: Any) -> dict[str, int]:
    """`[{"id", "sku", "stocks": [{"quantity", "warehouse"…}]}]` → SKU → quantity over all warehouses."""
    if not isinstance(body, list):
        raise BigBuyFormatError(f"the product stock list is not a list: {str(body)[:200]}")
    levels: dict[str, int] = {}
    for product in body:
        sku = product.get("sku") if isinstance(product, dict) else None
        stocks = product.get("stocks") if isinstance(product, dict) else None
        if not isinstance(sku, str) or not isinstance(stocks, list):
            raise BigBuyFormatError(f"a product stock entry has no sku or stocks: {str(product)[:200]}")
        quantities = [s.get("quantity") for s in stocks if isinstance(s, dict)]
        if not all(type(q) is int for q in quantities):
            raise BigBuyFormatError(f"the stock of {sku} is not a whole number: {stocks!r}"[:300])
        levels[sku] = max(0, sum(quantities))
    return levels


def parse_purse(body: Any) -> int:
    """`GET user/purse` → the wallet balance in cents. BigBuy sends a JSON string ("100.00")."""
    if isinstance(body, Mapping):  # tolerate {"amount": …} should the shape ever change
        for key in ("amount", "purse", "balance"):
            if key in body:
                return parse_amount(body[key], f"The wallet balance ({key})")
        raise BigBuyFormatError(f"The wallet answer has no amount ({_show(body)}).")
    return parse_amount(body, "The wallet balance")


def parse_check(body: Any) -> int | None:
    """`POST order/check` → what BigBuy will charge (`total`, taxes included) in cents, if it says."""
    if not isinstance(body, Mapping):
        raise BigBuyFormatError(f"The order check answer must be a JSON object, got {_kind(body)}.")
    if body.get("total") is None:
        return None
    return parse_amount(body["total"], "The order check total")


def parse_location(value: Any) -> str:
    """The `Location` header of `order/create` (`/rest/order/<id>`, maybe absolute) → the order id."""
    if not isinstance(value, str) or not value.strip():
        raise BigBuyFormatError("BigBuy sent no Location header with the new order's id.")
    path = value.strip().split("?", 1)[0].split("#", 1)[0].rstrip("/")
    match = re.search(r"/order/([A-Za-z0-9_-]+?)(?:\.json)?$", path)
    if not match:
        raise BigBuyFormatError(f"The Location header has no order id ({_show(value)}).")
    return match.group(1)


def map_status(text: str) -> str:
    """A BigBuy order status text → one of SUPPLIER_STATUSES."""
    normalized = " ".join(text.lower().replace("_", " ").split())
    if normalized in STATUSES:
        return STATUSES[normalized]
    for keyword, status in _STATUS_KEYWORDS:
        if keyword in normalized:
            return status
    return "processed"


def parse_order(data: Any) -> SupplierOrderState:
    """`GET order/{id}` → the order's state (without its trackings)."""
    if not isinstance(data, Mapping):
        raise BigBuyFormatError(f"A BigBuy order must be a JSON object, got {_kind(data)}.")
    order_id = _identifier(data.get("id"), "The order id")
    status = _text(data.get("status"), f"Order {order_id}: status")
    if not status:
        raise BigBuyFormatError(f"Order {order_id} has no status.")
    return SupplierOrderState(
        supplier_order_id=order_id,
        internal_reference=_text(data.get("internalReference"), f"Order {order_id}: internalReference"),
        status=map_status(status),
        message=f"BigBuy status: {status}",
    )


def parse_reference_answer(data: Any) -> str:
    """`GET order/reference/{ref}` → the order's id. BigBuy answers only `{"id", "totalPaidTaxIncl"}`:
    the status and lines come from `order/{id}`."""
    if not isinstance(data, Mapping):
        raise BigBuyFormatError(f"The order found by reference must be a JSON object, got {_kind(data)}.")
    return _identifier(data.get("id"), "The id of the order found by reference")


def parse_trackings(body: Any) -> dict[str, list[SupplierTracking]]:
    """`POST tracking/orders` → order id → its parcels. Entries without a tracking number are skipped."""
    if body is None:
        return {}
    if not isinstance(body, list):
        raise BigBuyFormatError(f"The tracking answer must be a list, got {_kind(body)}.")
    found: dict[str, list[SupplierTracking]] = {}
    for index, entry in enumerate(body, 1):
        if not isinstance(entry, Mapping):
            raise BigBuyFormatError(f"Tracking entry {index} must be an object, got {_kind(entry)}.")
        order_id = _identifier(entry.get("id"), f"Tracking entry {index}: id")
        parcels = entry.get("trackings")
        if parcels is None:
            parcels = []
        if not isinstance(parcels, list):
            raise BigBuyFormatError(f"Order {order_id}: trackings must be a list, got {_kind(parcels)}.")
        bucket = found.setdefault(order_id, [])
        for number, parcel in enumerate(parcels, 1):
            where = f"Order {order_id}, tracking {number}"
            if not isinstance(parcel, Mapping):
                raise BigBuyFormatError(f"{where} must be an object, got {_kind(parcel)}.")
            tracking_number = _text(parcel.get("trackingNumber"), f"{where}: trackingNumber")
            if not tracking_number:
                continue
            carrier = parcel.get("carrier")
            if isinstance(carrier, Mapping):
                carrier_name = _text(carrier.get("name"), f"{where}: carrier name")
            else:
                carrier_name = _text(carrier, f"{where}: carrier")
            bucket.append(
                SupplierTracking(
                    carrier=carrier_name,
                    tracking_number=tracking_number,
                    tracking_url=_text(parcel.get("trackingUrl"), f"{where}: trackingUrl"),
                )
            )
    return found


def parse_carriers(body: Any) -> list[str]:
    """`GET shipping/carriers` → carrier names, in BigBuy's order, without repeats."""
    if not isinstance(body, list):
        raise BigBuyFormatError(f"The carrier list must be a list, got {_kind(body)}.")
    names: list[str] = []
    for index, entry in enumerate(body, 1):
        if not isinstance(entry, Mapping):
            raise BigBuyFormatError(f"Carrier {index} must be an object, got {_kind(entry)}.")
        name = _text(entry.get("name"), f"Carrier {index}: name")
        if name and name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class ErrorBody:
    """A BigBuy error answer: its code ("ER003", or an HTTP-like "400"), message, data and form errors."""

    code: str
    info: str
    data: Any = None
    #: Form errors, flattened: (field path, message), e.g. ("shippingAddress.lastName", "This value…").
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def is_er(self) -> bool:
        return self.code.startswith("ER")

    @property
    def numeric(self) -> int | None:
        return int(self.code) if self.code.isdigit() and len(self.code) <= 3 else None


def parse_error(body: Any) -> ErrorBody | None:
    """A BigBuy error body → `ErrorBody`; anything that is not one (an order, a list…) → None. Never raises."""
    if not isinstance(body, Mapping) or "code" not in body:
        return None
    raw_code = body.get("code")
    if isinstance(raw_code, bool) or not isinstance(raw_code, int | str):
        return None
    code = str(raw_code).strip().upper() if isinstance(raw_code, str) else _safe_int_text(raw_code)
    if not code or not (re.fullmatch(r"ER\d{3}", code) or (code.isdigit() and len(code) <= 3 and int(code) >= 400)):
        return None
    message = body.get("message")
    info, data = "", None
    if isinstance(message, str):
        info = message.strip()
        nested = _json_object(info)
        if nested is not None:
            nested_info = nested.get("info")
            info = nested_info.strip() if isinstance(nested_info, str) and nested_info.strip() else ""
            data = nested.get("data")
            if not info:
                info = _show(nested, 300)
    elif message is not None:
        info = _show(message, 300)
    fields = tuple(_flatten_form_errors(body.get("errors")))
    if not info and fields:
        info = "; ".join(f"{path}: {text}" for path, text in fields)
    return ErrorBody(code=code, info=info or f"BigBuy error {code}", data=data, fields=fields)


def problems_for(error: ErrorBody) -> list[SupplierProblem]:
    """The review problems a refusal means (empty when it is not a refusal of the order's contents)."""
    if error.fields:
        return [SupplierProblem(_field_code(path), f"{path}: {text}" if path else text) for path, text in error.fields]
    data = error.data
    if error.is_er:
        if error.code in (ER_ALREADY_EXISTS, ER_TEMPORARY):
            return []
        code = REVIEW_CODES.get(error.code, REFUSED)
        if error.code == ER_POSTCODE:
            return [SupplierProblem(code, _with_example(error.info, data))]
        if error.code == ER_MONEYBOX:
            return [SupplierProblem(code, _moneybox_message(error.info, data))]
        skus = _data_skus(data)
        if skus:
            return [SupplierProblem(code, message or error.info, sku) for sku, message in skus]
        return [SupplierProblem(code, error.info)]
    skus = _data_skus(data)
    if skus:  # {"code": 409, "message": {"info": "Products error.", "data": [{"sku", "message"}]}}
        return [SupplierProblem(REFUSED, f"{error.info} {message}".strip(), sku) for sku, message in skus]
    return []


def existing_order_id(error: ErrorBody) -> str:
    """The id BigBuy gives with ER008 (`data.orderId`), or "" when it gives none."""
    data = error.data
    if isinstance(data, Mapping):
        for key in ("orderId", "id", "order"):
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**18:
                return str(value)
            if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", value.strip()):
                return value.strip()
    return ""


def order_body(order: SupplierOrderRequest) -> dict[str, Any]:
    """Our supplier order → BigBuy's order body. Lines with the same SKU are sent as one product."""
    address = order.address
    country = address.country.strip().upper()
    quantities: dict[str, int] = {}
    for line in order.lines:
        sku = line.sku.strip()
        quantities[sku] = quantities.get(sku, 0) + line.quantity
    street = ", ".join(part.strip() for part in (address.street1, address.street2) if part.strip())
    carriers = [{"name": name.strip()} for name in order.shipping_method.split(",") if name.strip()]
    return {
        "order": {
            "internalReference": order.internal_reference,
            "cashOnDelivery": 0,
            "language": LANGUAGES.get(country, "en"),
            "paymentMethod": PAYMENT_METHOD,
            "carriers": carriers,
            "shippingAddress": {
                "firstName": address.first_name.strip(),
                "lastName": address.last_name.strip(),
                "country": country,
                "postcode": address.postcode.strip(),
                "town": address.city.strip(),
                "address": street,
                "phone": address.phone.strip(),
                "email": address.email.strip(),
                "comment": "",
                "companyName": address.company.strip(),
            },
            "products": [{"reference": sku, "quantity": quantity} for sku, quantity in quantities.items()],
        }
    }


def _field_code(path: str) -> str:
    if path in FIELD_CODES:
        return FIELD_CODES[path]
    if path.startswith("shippingAddress"):
        return "address_error"
    if path.startswith("products"):
        return "unknown_sku" if path.endswith("reference") else "invalid_quantity"
    if path.startswith("carriers"):
        return "no_carrier"
    return REFUSED


def _flatten_form_errors(errors: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """BigBuy's nested form errors (`{"children": {"field": {"errors": [...]}}}`) → (path, message)."""
    if depth > 20:
        return []
    found: list[tuple[str, str]] = []
    if isinstance(errors, Mapping):
        messages = errors.get("errors")
        if isinstance(messages, list):
            found += [(prefix, text.strip()) for text in messages if isinstance(text, str) and text.strip()]
        children = errors.get("children")
        if isinstance(children, Mapping):
            for key, child in children.items():
                name = f"{prefix}.{key}" if prefix else str(key)
                found += _flatten_form_errors(child, name, depth + 1)
        elif isinstance(children, list):
            for index, child in enumerate(children):
                found += _flatten_form_errors(child, f"{prefix}.{index}" if prefix else str(index), depth + 1)
    return found


def _data_skus(data: Any) -> list[tuple[str, str]]:
    """SKUs named in an error's data: `{"skus": [...]}` or `[{"sku", "message"}, ...]` → (sku, message)."""
    found: list[tuple[str, str]] = []
    if isinstance(data, Mapping):
        skus = data.get("skus")
        if isinstance(skus, list):
            found = [(sku.strip(), "") for sku in skus if isinstance(sku, str) and sku.strip()]
        elif isinstance(skus, str) and skus.strip():
            found = [(skus.strip(), "")]
    elif isinstance(data, list):
        for entry in data:
            if isinstance(entry, Mapping) and isinstance(entry.get("sku"), str) and entry["sku"].strip():
                message = entry.get("message")
                found.append((entry["sku"].strip(), message.strip() if isinstance(message, str) else ""))
    return found


def _with_example(info: str, data: Any) -> str:
    example = data.get("zipExample") if isinstance(data, Mapping) else None
    if isinstance(example, int | str) and not isinstance(example, bool) and str(example).strip():
        example = str(example).strip()
        if example not in info:
            return f"{info.rstrip('.')}. Example of a valid postcode: {example}."
    return info


def _moneybox_message(info: str, data: Any) -> str:
    """BigBuy's ER005 message; the amounts from its data when the message does not give them."""
    if not isinstance(data, Mapping) or re.search(r"\d", info):
        return info
    try:
        available = parse_amount(data.get("moneyBoxAmount"), "moneyBoxAmount")
        needed = parse_amount(data.get("totalOrder"), "totalOrder")
    except BigBuyFormatError:
        return info
    return (
        f"Insufficient wallet balance: {format_amount(available)} {CURRENCY} available, "
        f"{format_amount(needed)} {CURRENCY} needed."
    )


def _json_object(text: str) -> Mapping[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, Mapping) else None


def _identifier(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value < 10**18:
            raise BigBuyFormatError(f"{what} is not a plausible id ({_show(value)}).")
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise BigBuyFormatError(f"{what} is missing ({_show(value)}).")
    text = value.strip()
    if len(text) > 64 or "/" in text:
        raise BigBuyFormatError(f"{what} is not an id ({_show(value)}).")
    return text


def _text(value: Any, what: str) -> str:
    """A free-text field: absent or null is empty; numbers are written out; anything else is refused."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _safe_int_text(value) if isinstance(value, int) else repr(value)
    raise BigBuyFormatError(f"{what} should be text, got {_kind(value)}.")


def _safe_int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # an integer with thousands of digits
        return ""


_kind = json_fields.kind
_show = json_fields.show


# --------------------------------------------------------------------------- the connector


class BigBuyError(RemoteError):
    """An answer carrying a BigBuy error code (also inside a 200). `problems` is set for refusals."""

    def __init__(self, error: ErrorBody, status_code: int) -> None:
        super().__init__(error.info, retryable=error.code == ER_TEMPORARY, status_code=status_code)
        self.error = error
        self.code = error.code
        self.problems = problems_for(error)


class BigBuyConnector(SupplierConnector):
    kind: ClassVar[str] = "bigbuy"
    label: ClassVar[str] = "BigBuy"
    sandbox_name: ClassVar[str] = "bigbuy"
    credential_fields: ClassVar[tuple[tuple[str, str], ...]] = (("api_key", "API key"),)
    default_base_url: ClassVar[str] = "https://api.bigbuy.eu"
    prepaid: ClassVar[bool] = True
    #: Per-request timeout; tests and slow connections may change it on the instance.
    timeout: httpx.Timeout = DEFAULT_TIMEOUT

    def _headers(self) -> dict[str, str]:
        key = self.credentials.get("api_key", "").strip()
        if not key:
            raise RemoteError("The BigBuy supplier has no API key: add it on the supplier page.", retryable=False)
        return {"Authorization": f"Bearer {key}", "Accept": "application/json"}

    async def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        kwargs: dict[str, Any] = {"headers": self._headers(), "timeout": self.timeout}
        if body is not None:
            kwargs["json"] = body
        return await self.request(method, path, **kwargs)

    async def _request_once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One exchange. Like the shared client, plus what BigBuy needs: its error codes are read from
        every answer (also 200 "soft errors"), and its rate limit says when to come back in
        `X-RateLimit-Reset` rather than `Retry-After`."""
        kwargs.setdefault("timeout", self.timeout)
        return self._screen(await self._exchange(method, path, **kwargs))

    def _screen(self, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        text = response.text.strip() if response.content else ""
        if status == 429 or text == "You exceeded the rate limit":
            raise RemoteError(
                f"{self.label} is rate limiting requests (429): {text or 'too many requests'}.",
                retryable=True,
                status_code=429,
                retry_after=_rate_limit_wait(response),
            )
        embedded = re.match(r"HTTP/\d(?:\.\d)? (\d{3})", text)
        if embedded and int(embedded.group(1)) >= 500:  # a 200 carrying a server error's headers and body
            raise RemoteError(
                f"{self.label} failed ({embedded.group(1)}, inside a {status} answer): {text[-300:]}",
                retryable=True,
                status_code=int(embedded.group(1)),
            )
        try:
            body = response.json() if text else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        error = parse_error(body)
        if error is not None and (error.is_er or (status < 400 and error.fields)):
            raise BigBuyError(error, status)
        if error is not None and status < 400:  # a soft error with an HTTP-like code, e.g. {"code": 404}
            status = error.numeric or 400
        if status >= 500:
            message = error.info if error else error_text(response)
            raise RemoteError(f"{self.label} failed ({status}): {message}", retryable=True, status_code=status)
        if status == 401:
            message = error.info if error else error_text(response)
            raise RemoteError(
                f"{self.label} refused the API key (401): {message}. Check the API key on the supplier page.",
                retryable=False,
                status_code=401,
            )
        if status >= 400:
            if error is not None and (error.fields or problems_for(error)):
                raise BigBuyError(error, status)
            raise RemoteError(error.info if error else error_text(response), retryable=False, status_code=status)
        return response

    def _parsed(self, response: httpx.Response, parser: Any) -> Any:
        """Decode and parse an answer; an unreadable one is a passing failure (retryable)."""
        body = self.json(response) if response.content.strip() else None
        try:
            return parser(body)
        except BigBuyFormatError as exc:
            raise RemoteError(
                f"{self.label} sent an answer that cannot be read: {exc}",
                retryable=True,
                status_code=response.status_code,
            ) from exc

    # -- the supplier protocol -----------------------------------------------------------------

    async def check(self, order: SupplierOrderRequest) -> CheckResult:
        """`order/check`: BigBuy's refusals (stock, postcode, wallet, carrier…) become problems.

        Raises `AlreadyExists` when BigBuy already has an order with this reference (ER008).
        """
        try:
            response = await self._call("POST", "/rest/order/check.json", order_body(order))
        except BigBuyError as exc:
            if exc.code == ER_ALREADY_EXISTS:
                raise AlreadyExists(exc.message, await self._existing_id(exc, order.internal_reference)) from exc
            if exc.problems:
                return CheckResult(problems=exc.problems, currency=CURRENCY)
            raise
        return CheckResult(total_cost=self._parsed(response, parse_check), currency=CURRENCY)

    async def create(self, order: SupplierOrderRequest) -> str:
        """`order/create`; returns BigBuy's order id. Never creates a second order for one reference:
        BigBuy refuses it with ER008, raised here as `AlreadyExists` with the existing id."""
        reference = order.internal_reference
        try:
            response = await self._call("POST", "/rest/order/create.json", order_body(order))
        except BigBuyError as exc:
            if exc.code == ER_ALREADY_EXISTS:
                raise AlreadyExists(exc.message, await self._existing_id(exc, reference)) from exc
            if exc.problems:
                raise SupplierRefused(exc.problems, status_code=exc.status_code) from exc
            raise
        try:
            return parse_location(response.headers.get("location"))
        except BigBuyFormatError as exc:
            # Accepted, but the id is missing: the order exists, so find it by our reference.
            found = await self.find_by_reference(reference)
            if found is not None:
                return found.supplier_order_id
            raise RemoteError(
                f"{self.label} accepted order {reference} but did not say its id ({exc}); "
                "look it up by reference before sending it again.",
                retryable=True,
                ambiguous=True,
                status_code=response.status_code,
            ) from exc

    async def find_by_reference(self, internal_reference: str) -> SupplierOrderState | None:
        path = f"/rest/order/reference/{quote(internal_reference, safe='')}.json"
        try:
            response = await self._call("GET", path)
        except RemoteError as exc:
            if exc.status_code == 404 and not isinstance(exc, BigBuyError):
                return None
            raise
        if not response.content.strip():  # BigBuy sometimes answers 200 with nothing for "not found"
            return None
        order_id = self._parsed(response, parse_reference_answer)
        state = await self.fetch_state(order_id)
        if state.internal_reference and state.internal_reference != internal_reference:
            raise RemoteError(
                f"{self.label} answered the lookup of reference {internal_reference} with order "
                f"{state.supplier_order_id} of reference {state.internal_reference}.",
                retryable=False,
            )
        state.internal_reference = state.internal_reference or internal_reference
        return state

    async def fetch_state(self, supplier_order_id: str) -> SupplierOrderState:
        response = await self._call("GET", f"/rest/order/{quote(supplier_order_id, safe='')}.json")
        if not response.content.strip():
            raise RemoteError(
                f"{self.label} does not know order {supplier_order_id}.", retryable=False, status_code=404
            )
        state = self._parsed(response, parse_order)
        if state.supplier_order_id != supplier_order_id:
            raise RemoteError(
                f"{self.label} answered with order {state.supplier_order_id} when asked for {supplier_order_id}.",
                retryable=True,
            )
        await self._add_trackings(state)
        return state

    async def stock(self) -> dict[str, int]:
        """`catalog/productsstock`, page by page: each product's stock summed over BigBuy's warehouses."""
        levels: dict[str, int] = {}
        page = 1
        while True:
            response = await self._call(
                "GET", f"/rest/catalog/productsstock.json?pageSize={STOCK_PAGE_SIZE}&page={page}"
            )
            rows = self._parsed(response, parse_products_stock)
            levels.update(rows)
            if len(rows) < STOCK_PAGE_SIZE:
                return levels
            page += 1

    async def wallet(self) -> tuple[int, str]:
        """The moneybox balance in cents (BigBuy bills in euros)."""
        response = await self._call("GET", "/rest/user/purse.json")
        return self._parsed(response, parse_purse), CURRENCY

    # -- more of BigBuy ------------------------------------------------------------------------

    async def trackings(self, supplier_order_ids: list[str]) -> dict[str, list[SupplierTracking]]:
        """Parcels of several orders in one call (for the tracking job); orders without any are left out."""
        if not supplier_order_ids:
            return {}
        orders = [{"id": int(oid) if oid.isdigit() and len(oid) < 18 else oid} for oid in supplier_order_ids]
        response = await self._call("POST", "/rest/tracking/orders.json", {"track": {"orders": orders}})
        return self._parsed(response, parse_trackings)

    async def carriers(self) -> list[str]:
        """Carrier names, for shipping mappings (what `SupplierOrderRequest.shipping_method` names)."""
        response = await self._call("GET", "/rest/shipping/carriers.json")
        return self._parsed(response, parse_carriers)

    async def _add_trackings(self, state: SupplierOrderState) -> None:
        if state.status in ("pending", "cancelled"):
            return
        state.trackings = (await self.trackings([state.supplier_order_id])).get(state.supplier_order_id, [])

    async def _existing_id(self, exc: BigBuyError, reference: str) -> str:
        order_id = existing_order_id(exc.error)
        if order_id:
            return order_id
        try:
            found = await self.find_by_reference(reference)
        except RemoteError:
            return ""
        return found.supplier_order_id if found else ""


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds to wait: `Retry-After` if given, else until `X-RateLimit-Reset` (a Unix time)."""
    seconds = retry_after(response)
    if seconds is not None:
        return seconds
    reset = response.headers.get("x-ratelimit-reset")
    if reset and reset.strip().isdigit():
        return min(max(0.0, int(reset.strip()) - time.time()), 3600.0)
    return None
