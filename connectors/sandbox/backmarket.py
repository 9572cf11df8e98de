"""An emulator of the Back Market seller API (`/ws/orders`), for the demo and the tests.

Served under `/sandbox/backmarket`: `GET /ws/orders`, `GET /ws/orders/{order_id}` and
`POST /ws/orders/{order_id}` behave like Back Market's, with its order JSON, its page-number
paging (`count`, `next`, `previous`, `results`) and its rules:

- every call needs `Authorization: Basic <token>` (default token `sandbox-backmarket-token`),
  else 401;
- a line changes state one SKU at a time: 1 → 2 (accept), 1 → 4 (refuse), 2 → 3 (shipped, with
  tracking), 2 → 5 (refunded before shipping). A SKU the order does not have is answered
  "couldn't find a matching order_id and/or SKU"; any other jump is answered "Order status error";
- the order follows its lines: 1 → 3 once no line waits and at least one is accepted, → 8 when
  every line is refused or refunded, → 9 once every remaining line is shipped.

Control interface (never faulted):

- `POST _control/orders`: one order in Back Market's JSON; missing optional fields get defaults.
- `POST _control/faults`: `{"error_rate": 0.3, "latency_ms": 200, ...}` (fields of `Faults`).
- `GET _control/orders/{order_id}`: state, lines with their states and tracking, operation counts.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath

from connectors.sandbox.common import Sandbox
from connectors.sandbox.fake_orders import SHIPPING_RATES, fake_order
from connectors.sandbox.offers import OfferBook, backmarket_handlers
from models.ports import IncomingOrder

DEFAULT_TOKEN = "sandbox-backmarket-token"
WRONG_SKU = "couldn't find a matching order_id and/or SKU"
STATUS_ERROR = "Order status error"

ORDER_STATES = frozenset({0, 1, 3, 8, 9})
#: The state a new line has when an order is created in a given state.
LINE_STATE_FOR_ORDER = {0: 0, 1: 1, 3: 2, 8: 4, 9: 3}
#: new_state → the line state it must start from, and the operation recorded.
TRANSITIONS = {2: (1, "accept_line"), 4: (1, "refuse_line"), 3: (2, "ship_line"), 5: (2, "refund_line")}
CLOSED_LINE_STATES = frozenset({4, 5, 6, 7})
ADDRESS_FIELDS = ("company", "first_name", "last_name", "street", "street2", "postal_code", "city", "country")
ADDRESS_TEXT_FIELDS = (*ADDRESS_FIELDS, "phone", "email")
PAYMENT_METHODS = ["CARD", "CARD", "CARD", "PAYPAL", "KLARNA", "APPLEPAY"]
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


class ControlError(ValueError):
    """A control request the sandbox refuses; the message says why."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


def money(minor: int, currency: str = "EUR") -> str:
    """Minor units as Back Market's decimal string: 11990 → "119.90"."""
    if currency == "JPY":
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def to_backmarket_json(
    order: IncomingOrder, order_id: int, first_line_id: int, *, state: int = 1, payment_method: str = "CARD"
) -> dict[str, Any]:
    """An `IncomingOrder` from the fake data as the order Back Market would list."""
    created = stamp(order.placed_at)
    addr = order.delivery
    shipping = {
        "company": addr.company,
        "first_name": addr.first_name,
        "last_name": addr.last_name,
        "gender": 1,
        "street": addr.street1,
        "street2": addr.street2,
        "postal_code": addr.postcode,
        "country": addr.country,
        "city": addr.city,
        "phone": addr.phone,
        "email": order.customer_email,
    }
    lines = [
        {
            "id": first_line_id + index,
            "date_creation": created,
            "state": LINE_STATE_FOR_ORDER[state],
            "price": money(line.unit_price, order.currency),
            "shipping_price": "0.00",
            "currency": order.currency,
            "listing": line.sku,
            "product": line.title,
            "quantity": line.quantity,
            "shipping_delay": 2,
            "shipper": "",
            "imei": "",
            "serial_number": "",
            "return_reason": 0,
            "return_message": "",
        }
        for index, line in enumerate(order.lines)
    ]
    return {
        "order_id": order_id,
        "state": state,
        "date_creation": created,
        "date_modification": created,
        "date_payment": created,
        "date_shipping": None,
        "shipping_address": shipping,
        "billing_address": dict(shipping),
        "orderlines": lines,
        "currency": order.currency,
        "price": money(order.total, order.currency),
        "shipping_price": money(order.shipping_total, order.currency),
        "payment_method": payment_method,
        "country_code": f"{addr.country.lower()}-{addr.country.lower()}" if addr.country else "fr-fr",
        "tracking_number": "",
        "tracking_url": "",
        "shipper": "",
        "shipper_display": "",
        "delivery_note": "",
        "sales_taxes": "0.00",
        "installment_payment": False,
        "is_backship": False,
    }


class BackMarketSandbox(Sandbox):
    name = "backmarket"

    def __init__(self, seed: int | None = None, token: str = DEFAULT_TOKEN) -> None:
        super().__init__(seed)
        #: The seller's offers on this marketplace (stock updates change their quantity).
        self.offers = OfferBook()
        self.token = token
        #: Orders by id, in Back Market's own JSON, in creation order.
        self.orders: dict[str, dict[str, Any]] = {}
        #: Tracking each shipped line was sent with: (order id, line id) → tracking fields.
        self.line_tracking: dict[tuple[str, int], dict[str, str]] = {}
        self.next_order_id = 40_000_001
        self.next_line_id = 90_000_001
        self.default_page_size = 50
        self.max_page_size = 100
        #: Back Market lists orders with their lines; tests can switch this off.
        self.list_includes_lines = True

    # -- state ---------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def _take_order_id(self) -> int:
        while str(self.next_order_id) in self.orders:
            self.next_order_id += 1
        order_id = self.next_order_id
        self.next_order_id += 1
        return order_id

    def _take_line_ids(self, count: int) -> int:
        first = self.next_line_id
        self.next_line_id += count
        return first

    def generate_orders(self, count: int) -> list[str]:
        """`count` new orders waiting for acceptance, from the shared fake data (~12 % invalid)."""
        ids = []
        for _ in range(count):
            order_id = self._take_order_id()
            placed = self.now() - dt.timedelta(minutes=self.rng.randint(0, 90))
            incoming = fake_order(self.rng, str(order_id), placed)
            incoming.shipping_rate = self.rng.choice(SHIPPING_RATES)
            data = to_backmarket_json(
                incoming,
                order_id,
                self._take_line_ids(len(incoming.lines)),
                payment_method=self.rng.choice(PAYMENT_METHODS),
            )
            data["date_modification"] = stamp(self.now())
            self.orders[str(order_id)] = data
            ids.append(str(order_id))
        return ids

    def put_raw(self, data: dict[str, Any]) -> str:
        """Store an order exactly as given, even one Back Market would never send (for tests)."""
        order_id = str(data["order_id"])
        self.orders[order_id] = data
        return order_id

    def add_order(self, data: Any) -> dict[str, Any]:
        """Validate one order in Back Market's JSON, fill in defaults and store it."""
        if not isinstance(data, dict):
            raise ControlError("Send one order as a JSON object in Back Market's format (see GET /ws/orders/{id}).")
        order = copy.deepcopy(data)
        problems: list[str] = []
        if "order_id" in order:
            raw_id = order["order_id"]
            if isinstance(raw_id, bool) or not (
                isinstance(raw_id, int) or (isinstance(raw_id, str) and raw_id.isdecimal())
            ):
                problems.append("order_id must be a whole number")
            elif str(int(raw_id)) in self.orders:
                raise ControlError(f"Order {int(raw_id)} already exists.", 409)
        state = order.setdefault("state", 1)
        if isinstance(state, bool) or state not in ORDER_STATES:
            problems.append(f"state must be one of {sorted(ORDER_STATES)}")
            state = 1
        currency = order.setdefault("currency", "EUR")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            problems.append("currency must be a three-letter code such as EUR")
        now = stamp(self.now())
        for key in ("date_creation", "date_modification"):
            order.setdefault(key, now)
            if parse_time(order[key]) is None:
                problems.append(f"{key} must be a date like 2024-05-01T10:00:00+02:00")
        for key in ("shipping_address", "billing_address"):
            address = order.get(key)
            if address is None:
                continue
            if not isinstance(address, dict):
                problems.append(f"{key} must be an object")
            else:
                for name in ADDRESS_TEXT_FIELDS:
                    value = address.setdefault(name, "")
                    if not isinstance(value, str):
                        problems.append(f"{key}.{name} must be text")
        order.setdefault("shipping_address", dict.fromkeys(ADDRESS_TEXT_FIELDS, ""))
        if not isinstance(order.get("billing_address"), dict) and isinstance(order["shipping_address"], dict):
            order["billing_address"] = dict(order["shipping_address"])
        for key in ("shipping_price", "price"):
            if key in order and _amount(order[key]) is None:
                problems.append(f"{key} must be an amount like 119.90")
        lines = order.get("orderlines")
        if not isinstance(lines, list) or not lines:
            problems.append("orderlines must be a non-empty list of lines")
            lines = []
        for index, line in enumerate(lines, 1):
            if not isinstance(line, dict):
                problems.append(f"orderlines[{index}] must be an object")
                continue
            if not isinstance(line.get("listing"), str) or not line["listing"].strip():
                problems.append(f"orderlines[{index}].listing (the SKU) is required")
            if "price" not in line or _amount(line["price"]) is None:
                problems.append(f"orderlines[{index}].price must be an amount like 119.90")
            quantity = line.setdefault("quantity", 1)
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                problems.append(f"orderlines[{index}].quantity must be a whole number")
            line_state = line.setdefault("state", LINE_STATE_FOR_ORDER.get(state, 1))
            if isinstance(line_state, bool) or line_state not in range(8):
                problems.append(f"orderlines[{index}].state must be a line state from 0 to 7")
            if "id" in line and (isinstance(line["id"], bool) or not isinstance(line["id"], int)):
                problems.append(f"orderlines[{index}].id must be a whole number")
        if problems:
            raise ControlError("The order was refused: " + "; ".join(problems) + ".")
        order["order_id"] = int(order["order_id"]) if "order_id" in order else self._take_order_id()
        for line in lines:
            if "id" not in line:
                line["id"] = self._take_line_ids(1)
            line.setdefault("product", "")
            line.setdefault("currency", currency)
            line.setdefault("date_creation", order["date_creation"])
        order.setdefault("shipping_price", "0.00")
        if "price" not in order:
            total = sum(_amount(line["price"]) * line["quantity"] for line in lines) + _amount(order["shipping_price"])
            order["price"] = str(total)
        defaults = {
            "payment_method": "CARD",
            "date_payment": order["date_creation"],
            "date_shipping": None,
            "tracking_number": "",
            "tracking_url": "",
            "shipper": "",
            "shipper_display": "",
            "delivery_note": "",
        }
        for key, value in defaults.items():
            order.setdefault(key, value)
        self.orders[str(order["order_id"])] = order
        return order

    def view(self, order_id: str) -> dict[str, Any]:
        """The marketplace's view of one order, for `_control` and tests."""
        order = self.orders[order_id]
        counts = Counter(op for op, oid, _ in self.operations if oid == order_id)
        lines = [line for line in order.get("orderlines") or [] if isinstance(line, dict)]
        return {
            "order_id": order.get("order_id"),
            "state": order.get("state"),
            "date_modification": order.get("date_modification"),
            "tracking": {
                "tracking_number": order.get("tracking_number", ""),
                "tracking_url": order.get("tracking_url", ""),
                "shipper": order.get("shipper", ""),
            },
            "lines": [
                {
                    "id": line.get("id"),
                    "listing": line.get("listing"),
                    "quantity": line.get("quantity"),
                    "state": line.get("state"),
                    "tracking": self.line_tracking.get((order_id, line.get("id"))),  # type: ignore[arg-type]
                }
                for line in lines
            ],
            "operations": dict(counts),
        }

    def change_line(self, order_id: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Apply one `POST /ws/orders/{order_id}`; returns (HTTP status, answer)."""
        if not isinstance(body, dict):
            return 400, {"detail": "The body must be a JSON object with order_id, new_state and sku."}
        new_state = body.get("new_state")
        if isinstance(new_state, str) and new_state.isdecimal():
            new_state = int(new_state)
        if isinstance(new_state, bool) or new_state not in TRANSITIONS:
            return 400, {"detail": f"new_state must be one of {sorted(TRANSITIONS)}."}
        sku = body.get("sku")
        if not isinstance(sku, str) or not sku:
            return 400, {"detail": "sku is required."}
        order = self.orders.get(order_id)
        body_id = body.get("order_id")
        if order is None or (body_id is not None and str(body_id) != order_id):
            return 404, {"detail": WRONG_SKU}
        lines = [line for line in order.get("orderlines") or [] if isinstance(line, dict)]
        matching = [line for line in lines if line.get("listing") == sku]
        if not matching:
            return 400, {"detail": WRONG_SKU}
        source, operation = TRANSITIONS[new_state]
        line = next((line for line in matching if line.get("state") == source), None)
        if line is None:
            return 400, {"detail": STATUS_ERROR}
        moment = stamp(self.now())
        line["state"] = new_state
        details: dict[str, Any] = {"sku": sku, "line_id": line.get("id")}
        if new_state == 3:
            tracking = {key: str(body.get(key) or "") for key in ("tracking_number", "tracking_url", "shipper")}
            order.update(tracking)
            order["shipper_display"] = tracking["shipper"]
            order["date_shipping"] = moment
            self.line_tracking[(order_id, line.get("id"))] = tracking  # type: ignore[index]
            details.update(tracking)
        order["state"] = _order_state(order.get("state"), [item.get("state") for item in lines])
        order["date_modification"] = moment
        self.record(operation, order_id, **details)
        return 200, copy.deepcopy(order)

    def list_orders(self, query: dict[str, str]) -> tuple[int, dict[str, Any], int, int]:
        """Filter and page like `GET /ws/orders`; returns (status, body, page, last page)."""
        selected = list(self.orders.values())
        if "state" in query:
            try:
                state = int(query["state"])
            except ValueError:
                return 400, {"detail": f"state “{query['state']}” is not a number."}, 0, 0
            selected = [order for order in selected if _as_int(order.get("state")) == state]
        for key in ("date_modification", "date_creation"):
            if key in query:
                since = parse_time(query[key])
                if since is None:
                    return 400, {"detail": f"{key} must be a date like 2024-05-01 10:00:00."}, 0, 0
                selected = [order for order in selected if _not_before(order.get(key), since)]
        try:
            page = int(query.get("page", "1"))
            size = int(query.get("page-size", str(self.default_page_size)))
        except ValueError:
            return 400, {"detail": "page and page-size must be whole numbers."}, 0, 0
        if page < 1 or not 1 <= size <= self.max_page_size:
            return 400, {"detail": f"page must be ≥ 1 and page-size from 1 to {self.max_page_size}."}, 0, 0
        last = max(1, -(-len(selected) // size))
        if page > last:
            return 404, {"detail": "Invalid page."}, page, last
        results = copy.deepcopy(selected[(page - 1) * size : page * size])
        if not self.list_includes_lines:
            for order in results:
                order.pop("orderlines", None)
        return 200, {"count": len(selected), "results": results}, page, last

    # -- HTTP ----------------------------------------------------------------------------------

    def _unauthorized(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header:
            return Response({"detail": "Authentication credentials were not provided."}, status_code=401)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic" or token.strip() != self.token:
            return Response({"detail": "Invalid token."}, status_code=401)
        return None

    def offer_handlers(self) -> list[Any]:
        return [*backmarket_handlers(self.offers, self._unauthorized), *self.offers.control_handlers()]

    def route_handlers(self) -> list[Any]:
        sandbox = self

        @get("/ws/orders")
        async def list_orders(request: Request) -> Response:
            if denied := sandbox._unauthorized(request):
                return denied
            query = dict(request.query_params)
            status, body, page, last = sandbox.list_orders(query)
            if status == 200:
                base = str(request.url).split("?", 1)[0]

                def link(number: int) -> str:
                    return f"{base}?{urlencode({**query, 'page': str(number)})}"

                body = {
                    "count": body["count"],
                    "next": link(page + 1) if page < last else None,
                    "previous": link(page - 1) if page > 1 else None,
                    "results": body["results"],
                }
            return Response(body, status_code=status)

        @get("/ws/orders/{order_id:str}")
        async def get_order(request: Request, order_id: FromPath[str]) -> Response:
            if denied := sandbox._unauthorized(request):
                return denied
            order = sandbox.orders.get(order_id)
            if order is None:
                return Response({"detail": "Not found."}, status_code=404)
            return Response(copy.deepcopy(order), status_code=200)

        @post("/ws/orders/{order_id:str}")
        async def update_order(request: Request, order_id: FromPath[str]) -> Response:
            if denied := sandbox._unauthorized(request):
                return denied
            body = _json_body(await request.body())
            async with sandbox.lock:
                status, answer = sandbox.change_line(order_id, body)
            return Response(answer, status_code=status)

        @post("/_control/orders")
        async def control_add_order(request: Request) -> Response:
            body = _json_body(await request.body())
            try:
                async with sandbox.lock:
                    order = sandbox.add_order(body)
            except ControlError as exc:
                return Response({"detail": str(exc)}, status_code=exc.status_code)
            return Response(copy.deepcopy(order), status_code=201)

        @get("/_control/orders/{order_id:str}")
        async def control_view(order_id: FromPath[str]) -> Response:
            if order_id not in sandbox.orders:
                return Response({"detail": f"No order {order_id} in the Back Market sandbox."}, status_code=404)
            return Response(sandbox.view(order_id), status_code=200)

        return [list_orders, get_order, update_order, control_add_order, control_view]


def _order_state(current: Any, line_states: list[Any]) -> int:
    """The order state Back Market derives from its lines."""
    if any(state == 1 for state in line_states):
        return _as_int(current) or 1
    active = [state for state in line_states if state not in CLOSED_LINE_STATES]
    if not active:
        return 8
    if all(state == 3 for state in active):
        return 9
    return 3


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value.strip()):
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _not_before(value: Any, since: dt.datetime) -> bool:
    moment = parse_time(value)
    # Orders with an unreadable date are listed, so a client sees them (and can report them).
    return moment is None or moment >= since


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
