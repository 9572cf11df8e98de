"""An emulator of the Mirakl seller API (OR11, OR21, OR23, OR24, OR29), mounted at /sandbox/mirakl.

It keeps its orders in Mirakl's own JSON (the OR11 order shape) and enforces the platform's rules:
the shop key in `Authorization`, every line decided in one OR21 call, acceptance only while
WAITING_ACCEPTANCE, tracking and shipping only while SHIPPING, cancellation only before shipping.
Errors have Mirakl's body: `{"status": 400, "message": "..."}`.

Control interface (never faulted, no key needed):

- `POST _control/orders`: one order in Mirakl's JSON; missing optional fields get defaults.
- `POST _control/orders/{order_id}/state`: `{"order_state": "CANCELED"}`, what the customer or the
  operator does on Mirakl's side (cancel, receive, close).
- `GET  _control/orders/{order_id}`: Mirakl's view of one order: state, lines, tracking, operations.
- `POST _control/faults` / `GET _control/faults`: fault injection settings (see `faults.Faults`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get, post, put

from connectors.mirakl import (
    ALPHA2_TO_ALPHA3,
    CANCELED,
    CLOSED,
    RECEIVED,
    REFUSED,
    SHIPPED,
    SHIPPING,
    WAITING_ACCEPTANCE,
    format_datetime,
    from_minor_units,
)
from connectors.sandbox.common import Sandbox
from connectors.sandbox.fake_orders import fake_order
from connectors.sandbox.offers import OfferBook, mirakl_handlers
from models.core.clock import now

DEFAULT_API_KEY = "sandbox-mirakl-key"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100

#: Every order state the sandbox knows; the seller API also has intermediate debit states.
STATES = frozenset(
    {WAITING_ACCEPTANCE, "WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", SHIPPING}
    | {SHIPPED, RECEIVED, CLOSED, REFUSED, CANCELED}
)
CANCELLABLE = frozenset({WAITING_ACCEPTANCE, SHIPPING})
#: Line states that stay as they are when the order moves on.
FINAL_LINE_STATES = frozenset({REFUSED, CANCELED})
OPERATIONS = ("accept", "tracking", "ship", "cancel")

COUNTRY_LABELS = {
    "FR": "France", "DE": "Germany", "ES": "Spain", "IT": "Italy", "CZ": "Czechia", "NL": "Netherlands",
    "PL": "Poland", "BE": "Belgium", "AT": "Austria", "PT": "Portugal",
}  # fmt: skip
LOCALES = {"FR": "fr_FR", "DE": "de_DE", "ES": "es_ES", "IT": "it_IT", "CZ": "cs_CZ", "NL": "nl_NL", "PL": "pl_PL"}
SHIPPING_TYPES = {"Free shipping": "FREE", "Standard": "STD", "Express": "EXP"}


class ControlError(ValueError):
    """A `_control` request the sandbox cannot take; the message says why."""


def error(status: int, message: str, **extra: Any) -> Response:
    return Response(content={"status": status, "message": message, **extra}, status_code=status)


def _parse_date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


class MiraklSandbox(Sandbox):
    name = "mirakl"

    def __init__(
        self,
        seed: int | None = None,
        api_key: str = DEFAULT_API_KEY,
        clock: Callable[[], dt.datetime] = now,
    ) -> None:
        super().__init__(seed)
        #: The seller's offers on this marketplace (stock updates change their quantity).
        self.offers = OfferBook()
        self.api_key = api_key
        self.clock = clock
        #: order_id → the order in Mirakl's JSON, in creation order.
        self.orders: dict[str, dict[str, Any]] = {}
        self._version = 0
        self._listing_cache: tuple[tuple[Any, ...], list[dict[str, Any]]] | None = None

    # -- state ---------------------------------------------------------------------------------

    def _stamp(self) -> str:
        return format_datetime(self.clock().replace(microsecond=0))

    def _changed(self, order: dict[str, Any]) -> None:
        order["last_updated_date"] = self._stamp()
        self._version += 1

    def add_order(self, data: Any) -> dict[str, Any]:
        """Store one order given in Mirakl's JSON, filling defaults; `ControlError` if it is unusable."""
        order = self._complete(data)
        self.orders[order["order_id"]] = order
        self._version += 1
        return order

    def set_state(self, order_id: str, state: str) -> dict[str, Any]:
        """What happens on Mirakl's side without the seller: the customer cancels, receives, the order closes."""
        if state not in STATES:
            raise ControlError(f"Unknown order state “{state}”; use one of {', '.join(sorted(STATES))}.")
        order = self.orders[order_id]
        order["order_state"] = state
        for line in order.get("order_lines", []):
            if isinstance(line, dict) and line.get("order_line_state") not in FINAL_LINE_STATES:
                line["order_line_state"] = state
        order["can_cancel"] = state in CANCELLABLE
        self._changed(order)
        return order

    def generate_orders(self, count: int) -> list[str]:
        ids = []
        for _ in range(count):
            commercial_id = str(self.rng.randint(10**9, 10**10 - 1))
            while f"{commercial_id}-A" in self.orders:
                commercial_id = str(self.rng.randint(10**9, 10**10 - 1))
            order_id = f"{commercial_id}-A"
            incoming = fake_order(self.rng, order_id, self.clock().replace(microsecond=0))
            self.add_order(self._mirakl_json(incoming, commercial_id))
            ids.append(order_id)
        return ids

    def _mirakl_json(self, incoming: Any, commercial_id: str) -> dict[str, Any]:
        """A generated order (Waybill's `IncomingOrder`) written the way Mirakl sends it."""
        currency = incoming.currency
        stamp = format_datetime(incoming.placed_at)
        addr = incoming.delivery
        country = addr.country.upper()
        address = {
            "civility": None,
            "firstname": addr.first_name,
            "lastname": addr.last_name,
            "company": addr.company or None,
            "street_1": addr.street1,
            "street_2": addr.street2 or None,
            "zip_code": addr.postcode,
            "city": addr.city,
            "state": addr.region or None,
            "country": COUNTRY_LABELS.get(country, country),
            "country_iso_code": ALPHA2_TO_ALPHA3.get(country, country),
            "phone": addr.phone or None,
        }
        lines = []
        for line in incoming.lines:
            shipping = incoming.shipping_total if line.position == 1 else 0
            lines.append(
                {
                    "order_line_id": f"{incoming.channel_order_id}-{line.position}",
                    "order_line_index": line.position,
                    "offer_id": 2000 + sum(map(ord, line.sku)),
                    "offer_sku": line.sku,
                    "product_title": line.title,
                    "quantity": line.quantity,
                    "price_unit": from_minor_units(line.unit_price, currency),
                    "price": from_minor_units(line.unit_price * line.quantity, currency),
                    "shipping_price": from_minor_units(shipping, currency),
                    "total_price": from_minor_units(line.unit_price * line.quantity + shipping, currency),
                    "order_line_state": WAITING_ACCEPTANCE,
                    "created_date": stamp,
                    "last_updated_date": stamp,
                    "shipped_date": None,
                }
            )
        on_account = incoming.payment_method == "on_account"
        return {
            "order_id": incoming.channel_order_id,
            "commercial_id": commercial_id,
            "order_state": WAITING_ACCEPTANCE,
            "created_date": stamp,
            "last_updated_date": stamp,
            "currency_iso_code": currency,
            "customer": {
                "customer_id": str(self.rng.randint(10**12, 10**13 - 1)),
                "civility": None,
                "firstname": incoming.customer_first_name,
                "lastname": incoming.customer_last_name,
                "locale": LOCALES.get(country, "en_GB"),
                "billing_address": dict(address),
                "shipping_address": address,
            },
            "customer_notification_email": incoming.customer_email,
            "order_lines": lines,
            "price": from_minor_units(incoming.total - incoming.shipping_total, currency),
            "shipping_price": from_minor_units(incoming.shipping_total, currency),
            "total_price": from_minor_units(incoming.total, currency),
            "payment_type": "Invoice" if on_account else "CB",
            "payment_workflow": "PAY_ON_DUE_DATE" if on_account else "PAY_ON_ACCEPTANCE",
            "shipping_type_code": SHIPPING_TYPES.get(incoming.shipping_rate, "STD"),
            "shipping_type_label": incoming.shipping_rate,
            "shipping_zone_code": country,
            "shipping_zone_label": COUNTRY_LABELS.get(country, country),
            "leadtime_to_ship": 3,
            "shipping_deadline": format_datetime(incoming.placed_at + dt.timedelta(days=3)),
            "can_cancel": True,
            "has_incident": False,
            "acceptance_decision_date": None,
            "shipping_carrier_code": None,
            "shipping_company": None,
            "shipping_tracking": None,
            "shipping_tracking_url": None,
        }

    def _complete(self, data: Any) -> dict[str, Any]:
        """Check the structure of a control order and fill what Mirakl would have filled."""
        if not isinstance(data, dict):
            raise ControlError("The order must be a JSON object in Mirakl's OR11 order format.")
        order = dict(data)
        order_id = order.get("order_id")
        if order_id is None:
            order_id = f"{self.rng.randint(10**9, 10**10 - 1)}-A"
        if not isinstance(order_id, str) or not order_id.strip() or "/" in order_id:
            raise ControlError("order_id must be non-empty text without “/”.")
        if order_id in self.orders:
            raise ControlError(f"An order with order_id “{order_id}” already exists.")
        order["order_id"] = order_id
        state = order.setdefault("order_state", WAITING_ACCEPTANCE)
        if state not in STATES:
            raise ControlError(f"Unknown order_state “{state}”; use one of {', '.join(sorted(STATES))}.")
        stamp = self._stamp()
        order.setdefault("commercial_id", order_id.removesuffix("-A"))
        order.setdefault("created_date", stamp)
        order.setdefault("last_updated_date", stamp)
        order.setdefault("currency_iso_code", "EUR")
        customer = order.setdefault("customer", {})
        if customer is not None and not isinstance(customer, dict):
            raise ControlError("customer must be an object (with firstname, lastname, shipping_address).")
        lines = order.get("order_lines")
        if not isinstance(lines, list) or not lines:
            raise ControlError("order_lines must be a non-empty list of order lines.")
        completed, ids = [], set()
        for index, line in enumerate(lines, 1):
            if not isinstance(line, dict):
                raise ControlError(f"Order line {index} must be an object.")
            line = dict(line)
            line.setdefault("order_line_id", f"{order_id}-{index}")
            line.setdefault("order_line_index", index)
            line.setdefault("order_line_state", state)
            line.setdefault("quantity", 1)
            line.setdefault("shipping_price", 0)
            line.setdefault("created_date", order["created_date"])
            line.setdefault("last_updated_date", order["last_updated_date"])
            if line["order_line_id"] in ids:
                raise ControlError(f"Order line id “{line['order_line_id']}” appears twice.")
            ids.add(line["order_line_id"])
            completed.append(line)
        order["order_lines"] = completed
        for key, default in (
            ("can_cancel", state in CANCELLABLE),
            ("acceptance_decision_date", None),
            ("shipping_carrier_code", None),
            ("shipping_company", None),
            ("shipping_tracking", None),
            ("shipping_tracking_url", None),
        ):
            order.setdefault(key, default)
        return order

    def view(self, order_id: str) -> dict[str, Any]:
        """The control view of one order: what Mirakl shows the operator."""
        order = self.orders[order_id]
        tracking = None
        if order.get("shipping_tracking") or order.get("shipping_carrier_code") or order.get("shipping_company"):
            tracking = {
                "carrier_code": order.get("shipping_carrier_code"),
                "carrier_name": order.get("shipping_company"),
                "carrier_url": order.get("shipping_tracking_url"),
                "tracking_number": order.get("shipping_tracking"),
            }
        return {
            "order_id": order_id,
            "order_state": order.get("order_state"),
            "last_updated_date": order.get("last_updated_date"),
            "lines": [
                {
                    "order_line_id": line.get("order_line_id"),
                    "offer_sku": line.get("offer_sku"),
                    "quantity": line.get("quantity"),
                    "order_line_state": line.get("order_line_state"),
                }
                for line in order.get("order_lines", [])
                if isinstance(line, dict)
            ],
            "tracking": tracking,
            "shipped": order.get("order_state") in {SHIPPED, RECEIVED, CLOSED},
            "operations": {op: self.operation_count(op, order_id) for op in OPERATIONS},
        }

    # -- OR11 ----------------------------------------------------------------------------------

    def _matching(self, key: tuple[Any, ...]) -> list[dict[str, Any]]:
        """Orders matching a filter, sorted by creation date; cached until the next change."""
        cached = self._listing_cache
        if cached is not None and cached[0] == (self._version, *key):
            return cached[1]
        order_ids, states, start_update, end_update, start_created, end_created = key
        found = []
        for order in self.orders.values():
            if order_ids is not None and order["order_id"] not in order_ids:
                continue
            if states is not None and order.get("order_state") not in states:
                continue
            updated = _parse_date(order.get("last_updated_date"))
            if updated is not None and (
                (start_update and updated < start_update) or (end_update and updated > end_update)
            ):
                continue
            created = _parse_date(order.get("created_date"))
            if created is not None and (
                (start_created and created < start_created) or (end_created and created > end_created)
            ):
                continue
            found.append(order)
        oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
        found.sort(key=lambda o: (_parse_date(o.get("created_date")) or oldest, str(o["order_id"])))
        self._listing_cache = ((self._version, *key), found)
        return found

    def list_orders(self, query: dict[str, str]) -> Response:
        problems = []

        def number(name: str, default: int, low: int, high: int | None) -> int:
            raw = query.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name} must be a whole number")
                return default
            if value < low or (high is not None and value > high):
                problems.append(f"{name} must be between {low} and {high}" if high else f"{name} must be ≥ {low}")
            return value

        def date(name: str) -> dt.datetime | None:
            raw = query.get(name)
            if not raw:
                return None
            parsed = _parse_date(raw.replace(" ", "+"))
            if parsed is None:
                problems.append(f"{name} must be an ISO 8601 date, e.g. 2024-05-01T10:00:00Z")
            return parsed

        def codes(name: str) -> frozenset[str] | None:
            raw = query.get(name)
            if not raw:
                return None
            return frozenset(code.strip() for code in raw.split(",") if code.strip())

        offset = number("offset", 0, 0, None)
        size = number("max", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        states = codes("order_state_codes")
        if states:
            unknown = sorted(states - STATES)
            if unknown:
                problems.append(f"unknown order_state_codes: {', '.join(unknown)}")
        key = (
            codes("order_ids"),
            states,
            date("start_update_date"),
            date("end_update_date"),
            date("start_date"),
            date("end_date"),
        )
        if problems:
            return error(400, "Invalid request: " + "; ".join(problems) + ".")
        found = self._matching(key)
        page = found if query.get("paginate", "true").lower() == "false" else found[offset : offset + size]
        return Response(content={"orders": page, "total_count": len(found)})

    # -- OR21, OR23, OR24, OR29 ----------------------------------------------------------------

    def accept(self, order: dict[str, Any], body: Any) -> Response:
        order_id = order["order_id"]
        decisions = body.get("order_lines") if isinstance(body, dict) else None
        if not isinstance(decisions, list) or not decisions:
            return error(400, 'The body must be {"order_lines": [{"accepted": true|false, "id": "..."}]}.')
        if order.get("order_state") != WAITING_ACCEPTANCE:
            return error(
                400,
                f"Order {order_id} cannot be accepted or refused: its state is {order.get('order_state')}, "
                f"not {WAITING_ACCEPTANCE}.",
            )
        lines = {line.get("order_line_id"): line for line in order["order_lines"] if isinstance(line, dict)}
        chosen: dict[str, bool] = {}
        for decision in decisions:
            if (
                not isinstance(decision, dict)
                or not isinstance(decision.get("accepted"), bool)
                or not isinstance(decision.get("id"), str)
            ):
                return error(400, 'Each order line needs "id" (text) and "accepted" (true or false).')
            line_id = decision["id"]
            if line_id not in lines:
                return error(400, f"Order line {line_id} does not belong to order {order_id}.")
            if line_id in chosen:
                return error(400, f"Order line {line_id} is listed twice.")
            chosen[line_id] = decision["accepted"]
        pending = [
            line_id
            for line_id, line in lines.items()
            if line.get("order_line_state") == WAITING_ACCEPTANCE and line_id not in chosen
        ]
        if pending:
            return error(
                400,
                "All order lines must be accepted or refused in the same call; "
                f"missing: {', '.join(map(str, pending))}.",
            )
        stamp = self._stamp()
        for line_id, accepted in chosen.items():
            lines[line_id]["order_line_state"] = SHIPPING if accepted else REFUSED
            lines[line_id]["last_updated_date"] = stamp
        any_accepted = any(chosen.values())
        order["order_state"] = SHIPPING if any_accepted else REFUSED
        order["acceptance_decision_date"] = stamp
        order["can_cancel"] = any_accepted
        self._changed(order)
        self.record("accept", order_id, lines=chosen)
        return Response(content=None, status_code=204)

    def tracking(self, order: dict[str, Any], body: Any) -> Response:
        order_id = order["order_id"]
        if not isinstance(body, dict) or any(
            value is not None and not isinstance(value, str)
            for value in (body.get(k) for k in ("carrier_code", "carrier_name", "carrier_url", "tracking_number"))
        ):
            return error(400, "The body must be an object with carrier_code or carrier_name, and tracking_number.")
        if order.get("order_state") != SHIPPING:
            return error(
                400,
                f"Tracking of order {order_id} cannot be updated: its state is {order.get('order_state')}, "
                f"not {SHIPPING}.",
            )
        if not body.get("carrier_code") and not body.get("carrier_name"):
            return error(400, "carrier_code is required for a registered carrier, carrier_name for any other.")
        order["shipping_carrier_code"] = body.get("carrier_code") or None
        order["shipping_company"] = body.get("carrier_name") or body.get("carrier_code") or None
        order["shipping_tracking"] = body.get("tracking_number") or None
        order["shipping_tracking_url"] = body.get("carrier_url") or None
        self._changed(order)
        fields = ("carrier_code", "carrier_name", "tracking_number")
        self.record("tracking", order_id, **{key: body.get(key) for key in fields})
        return Response(content=None, status_code=204)

    def ship(self, order: dict[str, Any]) -> Response:
        order_id = order["order_id"]
        if order.get("order_state") != SHIPPING:
            return error(
                400,
                f"Order {order_id} cannot be shipped: its state is {order.get('order_state')}, not {SHIPPING}.",
            )
        stamp = self._stamp()
        for line in order["order_lines"]:
            if isinstance(line, dict) and line.get("order_line_state") == SHIPPING:
                line["order_line_state"] = SHIPPED
                line["shipped_date"] = stamp
        order["order_state"] = SHIPPED
        order["can_cancel"] = False
        self._changed(order)
        self.record("ship", order_id)
        return Response(content=None, status_code=204)

    def cancel(self, order: dict[str, Any]) -> Response:
        order_id = order["order_id"]
        if order.get("order_state") not in CANCELLABLE:
            return error(
                400,
                f"Order {order_id} cannot be canceled: its state is {order.get('order_state')}; "
                "only orders not yet shipped can be canceled.",
            )
        for line in order["order_lines"]:
            if isinstance(line, dict) and line.get("order_line_state") not in FINAL_LINE_STATES:
                line["order_line_state"] = CANCELED
        order["order_state"] = CANCELED
        order["can_cancel"] = False
        self._changed(order)
        self.record("cancel", order_id)
        return Response(content=None, status_code=204)

    # -- HTTP ----------------------------------------------------------------------------------

    def _refuse_key(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != self.api_key:
            return error(401, "Unauthorized: the API key in the Authorization header is missing or wrong.")
        return None

    def offer_handlers(self) -> list[Any]:
        return [*mirakl_handlers(self.offers, self._refuse_key), *self.offers.control_handlers()]

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

        def unknown(order_id: str) -> Response:
            return error(404, f"Order with id {order_id} not found.")

        async def mutate(request: Request, action: str) -> Response:
            order_id = request.path_params["order_id"]
            refused = sandbox._refuse_key(request)
            if refused:
                return refused
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                order = sandbox.orders.get(order_id)
                if order is None:
                    return unknown(order_id)
                if action == "accept":
                    return sandbox.accept(order, body)
                if action == "tracking":
                    return sandbox.tracking(order, body)
                if action == "ship":
                    return sandbox.ship(order)
                return sandbox.cancel(order)

        @get("/api/orders", sync_to_thread=False)
        def or11_list_orders(request: Request) -> Response:
            refused = sandbox._refuse_key(request)
            if refused:
                return refused
            return sandbox.list_orders(dict(request.query_params))

        @put("/api/orders/{order_id:str}/accept")
        async def or21_accept(request: Request) -> Response:
            return await mutate(request, "accept")

        @put("/api/orders/{order_id:str}/tracking")
        async def or23_tracking(request: Request) -> Response:
            return await mutate(request, "tracking")

        @put("/api/orders/{order_id:str}/ship")
        async def or24_ship(request: Request) -> Response:
            return await mutate(request, "ship")

        @put("/api/orders/{order_id:str}/cancel")
        async def or29_cancel(request: Request) -> Response:
            return await mutate(request, "cancel")

        @post("/_control/orders")
        async def control_add_order(request: Request) -> Response:
            body, bad = await json_body(request)
            if bad:
                return bad
            async with sandbox.lock:
                try:
                    order = sandbox.add_order(body)
                except ControlError as exc:
                    return error(400, str(exc))
            return Response(content=order, status_code=201)

        @get("/_control/orders/{order_id:str}", sync_to_thread=False)
        def control_view_order(request: Request) -> Response:
            order_id = request.path_params["order_id"]
            if order_id not in sandbox.orders:
                return unknown(order_id)
            return Response(content=sandbox.view(order_id))

        @post("/_control/orders/{order_id:str}/state")
        async def control_set_state(request: Request) -> Response:
            order_id = request.path_params["order_id"]
            body, bad = await json_body(request)
            if bad:
                return bad
            state = body.get("order_state") if isinstance(body, dict) else None
            async with sandbox.lock:
                if order_id not in sandbox.orders:
                    return unknown(order_id)
                try:
                    sandbox.set_state(order_id, state if isinstance(state, str) else "")
                except ControlError as exc:
                    return error(400, str(exc))
            return Response(content=sandbox.view(order_id), status_code=200)

        return [
            or11_list_orders,
            or21_accept,
            or23_tracking,
            or24_ship,
            or29_cancel,
            control_add_order,
            control_view_order,
            control_set_state,
        ]
