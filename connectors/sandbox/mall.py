"""An emulator of the MALL Partner API ("mpapi") orders endpoints, mounted at /sandbox/mall.

API (full paths; `client_id` query parameter required on each, default `sandbox-mall-client`):

- `GET  /sandbox/mall/v1/orders` — filters on any listed field (`status=open`, `confirmed=false`,
  `id=in:1,2`, modifiers eq, neq, gt, ge, lt, le, in, nin, bt, nbt), `filter=basic` for objects instead
  of ids, `_sort=id:desc`, `page` / `page_size`; blocked orders only when filtering on `status`.
- `GET  /sandbox/mall/v1/orders/{id}` — the order detail.
- `PUT  /sandbox/mall/v1/orders/{id}` — `{"confirmed": true}` and/or `{"status": …}`.
- `PUT  /sandbox/mall/v1/orders/{id}/tracking` — `{"tracking_number", "tracking_url"}`, shipped orders only.

Answers use MALL's envelope: `{"result": {"code": 200, "status": "OK"}, "data": …, "paging": …}`, and
errors `{"result": {"code": 400, "status": "ERROR", "message": "…"}}` (401 for a missing or wrong
client_id, 404 for an unknown order).

Rules enforced, as MALL does: only the partner's steps open → shipping | shipped | cancelled,
shipping → shipped | cancelled, shipped → delivered | returned; anything else (skipping a step, going
back, touching a delivered, returned, cancelled or lost order) is refused. Status changes need a
confirmed order (or `"confirmed": true` in the same call). `shipped` needs a tracking number and URL
(tracking numbers use 0-9 a-z A-Z - _), `delivered` needs `delivered_at`. MALL Delivery orders
(`"mdp": true`) must pass through shipping and their delivery is reported by MALL, not the partner.

Every applied change is recorded (`Sandbox.operations`) as one of: confirm, shipping, shipped,
delivered, returned, cancelled, tracking. A call that changes nothing records nothing.

Control interface (never faulted):

- `POST /sandbox/mall/_control/orders` — one order in MALL's detail JSON; missing optional fields get
  defaults (id, purchase_id, status open, confirmed false, currency CZK, amounts 0, timestamps now).
  Example: `{"status": "open", "address": {"name": "Tomáš Dvořák", "street": "Masarykova 12",
  "city": "Brno", "zip": "60200", "country": "CZ"}, "items": [{"id": "BB-1001", "title": "Láhev",
  "quantity": 2, "price": 497.5}]}` → 201 with the stored order.
- `POST /sandbox/mall/_control/faults` — e.g. `{"error_rate": 0.3, "rate_limit_rate": 0.1,
  "retry_after_s": 1, "latency_ms": 50, "timeout_rate": 0.05, "timeout_s": 15, "malformed_rate": 0.1}`
  → the current settings; 400 listing refused values.
- `GET  /sandbox/mall/_control/orders/{id}` — MALL's view: status, confirmed, items, tracking,
  delivered_at, status timestamps and how often each operation was applied.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Callable
from typing import Any, ClassVar

from litestar import Request, Response, get, post, put
from litestar.params import FromPath

from connectors.mall import (
    BLOCKED,
    CANCELLED,
    DELIVERED,
    LOST,
    MALL_TZ,
    OPEN,
    RETURNED,
    SHIPPED,
    SHIPPING,
    STATUS_TIMESTAMPS,
    STATUSES,
    TRACKING_NUMBER,
)
from connectors.sandbox.common import Sandbox
from connectors.sandbox.fake_orders import ADDRESSES, FIRST_NAMES, LAST_NAMES, PRODUCTS
from connectors.sandbox.offers import OfferBook, mall_handlers

DEFAULT_CLIENT_ID = "sandbox-mall-client"
DATE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

#: The partner's steps: status → statuses it may set next. Everything else is refused.
PARTNER_TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({SHIPPING, SHIPPED, CANCELLED}),
    SHIPPING: frozenset({SHIPPED, CANCELLED}),
    SHIPPED: frozenset({DELIVERED, RETURNED}),
}
PARTNER_STATUSES = frozenset({SHIPPING, SHIPPED, DELIVERED, RETURNED, CANCELLED})
FINAL_STATUSES = frozenset({DELIVERED, RETURNED, CANCELLED, LOST})
BASIC_FIELDS = (
    "id", "purchase_id", "external_id", "customer_id", "customer", "source", "cod", "payment_type",
    "ship_date", "tracking_number", "tracking_url", "delivered_at", "status", "confirmed", "test", "mdp",
    *STATUS_TIMESTAMPS,
)  # fmt: skip
FILTER_MODIFIERS = frozenset({"eq", "neq", "gt", "ge", "lt", "le", "in", "nin", "bt", "nbt"})
LIST_PARAMETERS = frozenset({"client_id", "filter", "page", "page_size", "_sort", "test"})
MAX_PAGE_SIZE = 1000

CZECH_ADDRESSES = [
    *ADDRESSES["CZ"],
    ("Americká 22", "120 00", "Praha 2"), ("Náměstí Svobody 8", "602 00", "Brno"),
    ("Nádražní 5", "702 00", "Ostrava"), ("Palackého 14", "779 00", "Olomouc"),
    ("Husova 3", "370 01", "České Budějovice"), ("Štefánikova 41", "150 00", "Praha 5"),
    ("Zámecká 7", "301 00", "Plzeň"), ("Třída Svobody 21", "460 01", "Liberec"),
]  # fmt: skip
DELIVERY_METHODS = [("pplCz", "21"), ("dpdCz", "22"), ("ceskaPostaBalikDoRuky", "23"), ("zasilkovna", "24")]


class ControlError(ValueError):
    """A `_control` request the sandbox cannot take; the message says why."""


def ok(data: Any = None, *, paging: dict[str, int] | None = None, code: int = 200) -> Response:
    body: dict[str, Any] = {"result": {"code": code, "status": "OK"}}
    if data is not None:
        body["data"] = data
    if paging is not None:
        body["paging"] = paging
    return Response(body, status_code=code, media_type="application/json")


def error(code: int, message: str) -> Response:
    body = {"result": {"code": code, "status": "ERROR", "message": message}}
    return Response(body, status_code=code, media_type="application/json")


def control_error(message: str, **extra: Any) -> Response:
    return Response({"message": message, **extra}, status_code=400, media_type="application/json")


def valid_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    for fmt in (DATE_TIME_FORMAT, "%Y-%m-%d"):
        try:
            dt.datetime.strptime(value, fmt)
            return True
        except ValueError:
            continue
    return False


class MallSandbox(Sandbox):
    name: ClassVar[str] = "mall"

    def __init__(
        self,
        seed: int | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__(seed)
        #: The seller's offers on this marketplace (stock updates change their quantity).
        self.offers = OfferBook()
        self.client_id = client_id
        #: Current time (aware); tests pass a fixed clock.
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.orders: dict[int, dict[str, Any]] = {}
        self._next_purchase_id = 31_000_000 + self.rng.randrange(1_000_000)

    # --- State

    def now_text(self) -> str:
        """Now in MALL's notation: Prague time without an offset."""
        return self.clock().astimezone(MALL_TZ).strftime(DATE_TIME_FORMAT)

    def new_order_id(self) -> int:
        """MALL order ids are the purchase id followed by a two-digit suffix, e.g. 3147852901."""
        while True:
            self._next_purchase_id += 1
            order_id = self._next_purchase_id * 100 + 1
            if order_id not in self.orders:
                return order_id

    def add_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Store one order given in MALL's JSON, filling in the optional fields it lacks."""
        order = dict(order)
        raw_id = order.get("id")
        if raw_id is None:
            order_id = self.new_order_id()
        else:
            order_id = _order_id(raw_id)
            if order_id is None:
                raise ControlError(f"id must be a positive whole number, not {json.dumps(raw_id)}.")
            if order_id in self.orders:
                raise ControlError(f"An order with id {order_id} already exists.")
        status = order.get("status", OPEN)
        if not isinstance(status, str) or status not in STATUSES:
            raise ControlError(f"status must be one of {', '.join(sorted(STATUSES))}, not {json.dumps(status)}.")
        if not isinstance(order.get("confirmed", False), bool):
            raise ControlError("confirmed must be true or false.")
        for key in ("mdp", "test"):
            if not isinstance(order.get(key, False), bool):
                raise ControlError(f"{key} must be true or false.")
        address = order.get("address", {})
        if not isinstance(address, dict):
            raise ControlError("address must be an object (name, company, phone, email, street, city, zip, country).")
        items = order.get("items", [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ControlError("items must be a list of objects (id, title, quantity, price, vat).")
        stamp = self.now_text()
        order.update(
            {
                "id": order_id,
                "status": status,
                "confirmed": order.get("confirmed", False),
                "address": {"customer_id": self.rng.randrange(10**9, 10**10), **address},
                "items": [
                    {"article_id": 100_000_000_000 + n, "vat": 21, "commission": 15, "serial_numbers": [], **item}
                    for n, item in enumerate(items, 1)
                ],
            }
        )
        defaults: dict[str, Any] = {
            "purchase_id": order_id // 100,
            "external_id": None,
            "source": "mallCz",
            "currency": "CZK",
            "delivery_price": 0,
            "cod_price": 0,
            "cod": 0,
            "discount": 0,
            "payment_type": "B",
            "delivery_method": DELIVERY_METHODS[0][0],
            "delivery_method_id": DELIVERY_METHODS[0][1],
            "branch_id": None,
            "tracking_number": None,
            "tracking_url": None,
            "ship_date": None,
            "delivery_date": None,
            "delivered_at": None,
            "first_delivery_attempt": None,
            "test": False,
            "mdp": False,
            "ready_to_return": False,
            **{key: None for key in STATUS_TIMESTAMPS},
        }
        for key, value in defaults.items():
            order.setdefault(key, value)
        # The order has been through every status up to its own: blocked, then open, then its own.
        reached = (
            [BLOCKED] + ([OPEN] if status != BLOCKED else []) + ([status] if status not in (BLOCKED, OPEN) else [])
        )
        for key in reached:
            if order.get(key) is None:
                order[key] = stamp
        self.orders[order_id] = order
        return order

    def generate_orders(self, count: int) -> list[str]:
        """`count` new open, unconfirmed orders as MALL.cz sends them; about one in eight has a defect."""
        return [str(self.add_order(self._fake_order(self.rng))["id"]) for _ in range(count)]

    def _fake_order(self, rng: random.Random) -> dict[str, Any]:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        street, postcode, city = rng.choice(CZECH_ADDRESSES)
        postcode = postcode.replace(" ", "")
        name = f"{first} {last}"
        if rng.random() < 0.12:
            defect = rng.choice(["surname", "postcode", "postcode", "street"])
            if defect == "surname":
                name = first
            elif defect == "postcode":
                postcode = rng.choice(["1100", "ABC12", "1234567"])
            else:
                street = ""
        items = [
            {"id": sku, "title": title, "quantity": rng.choice([1, 1, 1, 2, 3]), "price": price * 25 / 100}
            for sku, title, price in rng.sample(PRODUCTS, rng.choice([1, 1, 1, 2, 2, 3]))
        ]
        method, method_id = rng.choice(DELIVERY_METHODS)
        delivery_price = rng.choice([0, 0, 79, 99, 129])
        cash_on_delivery = rng.random() < 0.3
        cod_price = 39 if cash_on_delivery else 0
        total = sum(item["price"] * item["quantity"] for item in items) + delivery_price + cod_price
        email_name = "".join(c for c in first.lower() if c.isascii() and c.isalpha()) or "zakaznik"
        return {
            "address": {
                "name": name,
                "company": rng.choice([None, None, None, "Dvořák & syn s.r.o."]),
                "phone": f"+420{rng.randrange(600_000_000, 799_999_999)}",
                "email": f"{email_name}.{rng.randrange(100, 999)}@example.cz",
                "street": street,
                "city": city,
                "zip": postcode,
                "country": "CZ",
            },
            "items": items,
            "delivery_price": delivery_price,
            "cod_price": cod_price,
            "cod": round(total, 2) if cash_on_delivery else 0,
            "payment_type": "A" if cash_on_delivery else "B",
            "delivery_method": method,
            "delivery_method_id": method_id,
            "ship_date": (
                self.clock().astimezone(MALL_TZ).date() + dt.timedelta(days=rng.choice([1, 2, 3]))
            ).isoformat(),
        }

    def basic(self, order: dict[str, Any]) -> dict[str, Any]:
        """The order as `filter=basic` lists it."""
        address = order.get("address") if isinstance(order.get("address"), dict) else {}
        view = {key: order.get(key) for key in BASIC_FIELDS}
        view["customer_id"] = address.get("customer_id")
        view["customer"] = address.get("name")
        return view

    def control_view(self, order: dict[str, Any]) -> dict[str, Any]:
        order_id = order["id"]
        counts: dict[str, int] = {}
        for operation, oid, _ in self.operations:
            if oid == str(order_id):
                counts[operation] = counts.get(operation, 0) + 1
        return {
            "id": order_id,
            "status": order["status"],
            "confirmed": order["confirmed"],
            "items": [{key: item.get(key) for key in ("id", "title", "quantity", "price")} for item in order["items"]],
            "tracking": {"tracking_number": order.get("tracking_number"), "tracking_url": order.get("tracking_url")},
            "delivered_at": order.get("delivered_at"),
            "first_delivery_attempt": order.get("first_delivery_attempt"),
            "status_times": {key: order.get(key) for key in STATUS_TIMESTAMPS if order.get(key)},
            "operations": counts,
        }

    # --- API rules

    def refusal(self, request: Request) -> Response | None:
        client_id = request.query_params.get("client_id")
        if not client_id:
            return error(401, "Missing client_id: add your client ID as the client_id query parameter.")
        if client_id != self.client_id:
            return error(401, "Invalid client_id: no partner has this client ID.")
        return None

    def list_orders(self, params: dict[str, str]) -> Response:
        try:
            page = _positive(params.get("page", "1"), "page")
            size = min(_positive(params.get("page_size", "100"), "page_size"), MAX_PAGE_SIZE)
        except ControlError as exc:
            return error(400, str(exc))
        records = [self.basic(order) for order in self.orders.values()]
        filters = {key: value for key, value in params.items() if key not in LIST_PARAMETERS}
        if "status" not in filters:
            records = [r for r in records if r["status"] != BLOCKED]
        if params.get("test") not in ("1", "true"):
            records = [r for r in records if not r.get("test")]
        for key, raw in filters.items():
            if key not in BASIC_FIELDS:
                return error(400, f"Unknown filter field “{key}”.")
            try:
                records = [r for r in records if _matches(r.get(key), raw)]
            except ControlError as exc:
                return error(400, f"Invalid filter {key}={raw}: {exc}")
        sort = params.get("_sort")
        if sort:
            for part in reversed(sort.split(",")):
                column, _, direction = part.partition(":")
                if column not in BASIC_FIELDS or direction not in ("", "asc", "desc"):
                    return error(400, f"Invalid sort “{part}”.")
                records.sort(key=lambda r, c=column: _sort_key(r.get(c)), reverse=direction == "desc")
        total = len(records)
        chunk = records[(page - 1) * size : page * size]
        data = chunk if params.get("filter") == "basic" else [r["id"] for r in chunk]
        return ok(data, paging={"total": total, "pages": math.ceil(total / size), "size": size, "page": page})

    def update_order(self, order: dict[str, Any], body: Any) -> Response:
        """PUT /v1/orders/{id}: validate everything first, then apply; a refusal changes nothing."""
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object.")
        order_id = order["id"]
        confirmed = body.get("confirmed")
        status = body.get("status")
        if confirmed is not None and not isinstance(confirmed, bool):
            return error(400, "confirmed must be true or false.")
        if confirmed is False:
            return error(400, "An order cannot be set back to unconfirmed.")
        if confirmed is None and status is None:
            return error(400, "Nothing to change: send confirmed and/or status.")
        if status is not None:
            problem = self._status_problem(order, body)
            if problem:
                return error(400, problem)
        if confirmed and not order["confirmed"]:
            order["confirmed"] = True
            self.record("confirm", str(order_id))
        if status is not None:
            previous = order["status"]
            order["status"] = status
            order[status] = self.now_text()
            details: dict[str, Any] = {"previous": previous}
            if status == SHIPPED and body.get("tracking_number"):
                order["tracking_number"] = body["tracking_number"]
                order["tracking_url"] = body.get("tracking_url") or order.get("tracking_url")
                details["tracking_number"] = body["tracking_number"]
            if status == DELIVERED:
                order["delivered_at"] = body["delivered_at"]
                order["first_delivery_attempt"] = body.get("first_delivery_attempt")
                details["delivered_at"] = body["delivered_at"]
            self.record(status, str(order_id), **details)
        return ok()

    def _status_problem(self, order: dict[str, Any], body: dict[str, Any]) -> str | None:
        order_id, current, status = order["id"], order["status"], body["status"]
        if not isinstance(status, str) or status not in PARTNER_STATUSES:
            return f"Invalid status “{status}”: a partner can set {', '.join(sorted(PARTNER_STATUSES))}."
        if not order["confirmed"] and body.get("confirmed") is not True:
            return f'Order {order_id} is not confirmed: confirm it ("confirmed": true) before changing its status.'
        if current in FINAL_STATUSES:
            return f"Order {order_id} is {current}, which is final: its status cannot be changed."
        if status not in PARTNER_TRANSITIONS.get(current, frozenset()):
            reason = {
                CANCELLED: "an order can be cancelled only while it is open or shipping",
                RETURNED: "an order can be returned only after it was shipped",
                DELIVERED: "an order can be delivered only after it was shipped",
            }.get(status, f"{status} does not follow {current}")
            return f"Order status change from {current} to {status} is not allowed: {reason}."
        if order.get("mdp") and current == OPEN and status == SHIPPED:
            return f"Order {order_id} uses MALL Delivery: set it to shipping first; shipped follows its labels."
        if order.get("mdp") and status in (DELIVERED, RETURNED):
            return f"Order {order_id} uses MALL Delivery: MALL reports its delivery and return, not the partner."
        given_number, given_url = body.get("tracking_number"), body.get("tracking_url")
        if given_number not in (None, "") and (
            not isinstance(given_number, str) or not TRACKING_NUMBER.fullmatch(given_number)
        ):
            return "tracking_number may contain only the characters 0-9 a-z A-Z - _."
        if given_url is not None and not isinstance(given_url, str):
            return "tracking_url must be text."
        if status == SHIPPED and not order.get("mdp"):
            number = body.get("tracking_number") or order.get("tracking_number")
            url = body.get("tracking_url") or order.get("tracking_url")
            if not number:
                return "tracking_number is required when the order status changes to shipped."
            if not isinstance(number, str) or not TRACKING_NUMBER.fullmatch(number):
                return "tracking_number may contain only the characters 0-9 a-z A-Z - _."
            if not url or not isinstance(url, str):
                return "tracking_url is required when the order status changes to shipped."
        if status == DELIVERED:
            if not body.get("delivered_at"):
                return "delivered_at is required when the order status changes to delivered."
            if not valid_datetime(body["delivered_at"]):
                return "delivered_at must be a date and time such as 2024-05-17 14:03:00."
            attempt = body.get("first_delivery_attempt")
            if attempt is not None and not valid_datetime(attempt):
                return "first_delivery_attempt must be a date and time such as 2024-05-17 14:03:00."
        return None

    def update_tracking(self, order: dict[str, Any], body: Any) -> Response:
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object.")
        if order["status"] != SHIPPED:
            return error(400, f"Tracking can be set only for shipped orders; order {order['id']} is {order['status']}.")
        number, url = body.get("tracking_number"), body.get("tracking_url")
        if not number or not isinstance(number, str) or not TRACKING_NUMBER.fullmatch(number):
            return error(400, "tracking_number is required and may contain only the characters 0-9 a-z A-Z - _.")
        if url is not None and not isinstance(url, str):
            return error(400, "tracking_url must be text.")
        if (number, url or None) != (order.get("tracking_number"), order.get("tracking_url")):
            order["tracking_number"], order["tracking_url"] = number, url or None
            self.record("tracking", str(order["id"]), tracking_number=number)
        return ok()

    def offer_handlers(self) -> list[Any]:
        return [*mall_handlers(self.offers, self.refusal), *self.offers.control_handlers()]

    def route_handlers(self) -> list[Any]:
        sandbox = self

        def find(order_id: str) -> dict[str, Any] | Response:
            key = _order_id(order_id)
            order = sandbox.orders.get(key) if key is not None else None
            if order is None:
                return error(404, f"Order {order_id} not found.")
            return order

        @get("/v1/orders")
        async def list_orders(request: Request) -> Response:
            return sandbox.refusal(request) or sandbox.list_orders(dict(request.query_params))

        @get("/v1/orders/{order_id:str}")
        async def order_detail(request: Request, order_id: FromPath[str]) -> Response:
            refused = sandbox.refusal(request)
            if refused:
                return refused
            found = find(order_id)
            return found if isinstance(found, Response) else ok(found)

        @put("/v1/orders/{order_id:str}")
        async def update_order(request: Request, order_id: FromPath[str]) -> Response:
            refused = sandbox.refusal(request)
            if refused:
                return refused
            body = await _json_body(request)
            async with sandbox.lock:
                found = find(order_id)
                return found if isinstance(found, Response) else sandbox.update_order(found, body)

        @put("/v1/orders/{order_id:str}/tracking")
        async def update_tracking(request: Request, order_id: FromPath[str]) -> Response:
            refused = sandbox.refusal(request)
            if refused:
                return refused
            body = await _json_body(request)
            async with sandbox.lock:
                found = find(order_id)
                return found if isinstance(found, Response) else sandbox.update_tracking(found, body)

        @post("/_control/orders")
        async def control_add_order(request: Request) -> Response:
            body = await _json_body(request)
            if not isinstance(body, dict):
                return control_error("Send one order as a JSON object in MALL's order format.")
            async with sandbox.lock:
                try:
                    order = sandbox.add_order(body)
                except ControlError as exc:
                    return control_error(str(exc))
            return Response(order, status_code=201, media_type="application/json")

        @get("/_control/orders/{order_id:str}")
        async def control_order(order_id: FromPath[str]) -> Response:
            found = find(order_id)
            if isinstance(found, Response):
                return Response({"message": f"Order {order_id} not found."}, status_code=404)
            return Response(sandbox.control_view(found), media_type="application/json")

        return [
            list_orders,
            order_detail,
            update_order,
            update_tracking,
            control_add_order,
            control_order,
        ]


async def _json_body(request: Request) -> Any:
    """The decoded body, or a sentinel string that no handler accepts as an object."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return "(not JSON)"


def _order_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _positive(value: str, name: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ControlError(f"{name} must be a whole number from 1.")
    return int(value)


def _normalise(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def _parse_filter_value(text: str) -> Any:
    if text == "$null":
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _matches(field: Any, raw: str) -> bool:
    modifier, sep, rest = raw.partition(":")
    if not sep or modifier not in FILTER_MODIFIERS:
        modifier, rest = "eq", raw
    value = _normalise(field)
    if isinstance(value, bool) and rest in ("1", "0"):
        rest = "true" if rest == "1" else "false"
    if modifier in ("in", "nin"):
        found = value in [_parse_filter_value(part) for part in rest.split(",")]
        return found if modifier == "in" else not found
    if modifier in ("bt", "nbt"):
        bounds = rest.split(",")
        if len(bounds) != 2:
            raise ControlError("bt and nbt take two values separated by a comma")
        low, high = (_parse_filter_value(b) for b in bounds)
        try:
            inside = value is not None and low <= value <= high
        except TypeError:
            inside = False
        return inside if modifier == "bt" else not inside
    target = _parse_filter_value(rest)
    if isinstance(value, str) and not isinstance(target, str) and target is not None:
        target = rest
    if modifier == "eq":
        return value == target
    if modifier == "neq":
        return value != target
    if value is None or target is None:
        return False
    try:
        return {"gt": value > target, "ge": value >= target, "lt": value < target, "le": value <= target}[modifier]
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    value = _normalise(value)
    if value is None:
        return (0, 0)
    if isinstance(value, bool | float):
        return (1, float(value))
    return (2, str(value))
