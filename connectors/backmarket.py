"""Back Market seller API (the `/ws/` web services), over httpx.

What Waybill uses of it:

- `GET /ws/orders` lists orders, filtered by `state` (one state per call) and `date_modification`
  (orders modified since), paged with `page` / `page-size`. The answer is
  `{"count", "next", "previous", "results": [order, …]}`; `next` is null on the last page.
- `GET /ws/orders/{order_id}` returns one order with its `orderlines`; a line's `listing` is the
  merchant's SKU.
- `POST /ws/orders/{order_id}` changes the state of **one line**, chosen by SKU:
  `{"order_id", "new_state": 2, "sku"}` accepts it, `new_state: 4` refuses it (the customer is
  refunded), `new_state: 3` with `tracking_number`, `tracking_url`, `shipper` marks it shipped, and
  `new_state: 5` refunds an accepted line before shipping. A SKU the order does not have is answered
  with "couldn't find a matching order_id and/or SKU"; a line not in the state the change starts
  from with "Order status error".
- Every call carries `Authorization: Basic <token>` (the token from the seller back office, sent
  as is), `Accept-Language` and a `User-Agent` naming the integration, as Back Market requires.

Order states: 0 new (payment not yet validated), 1 waiting for the merchant's acceptance,
3 accepted and waiting for shipment, 8 cancelled or refused, 9 shipped. Line states: 1 to accept,
2 accepted, 3 shipped, 4 refused/cancelled, 5 refunded before shipping, 6 refunded after shipping,
7 payment failed. Only orders in state 1 or 3 are imported; 0 and 8 never are.

Money comes as decimal strings ("119.90") and becomes exact minor units (cents) with `Decimal`.
A line's `price` is read as the price of one unit. The order's own `price` (the order total) is
kept in `extra` for reference, never used for arithmetic.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from connectors.base import DEFAULT_TIMEOUT, ChannelConnector
from models.ports import (
    IncomingAddress,
    IncomingLine,
    IncomingOrder,
    LineDecision,
    OrderPage,
    ParseReject,
    RemoteError,
    StatusPairing,
    StockUpdate,
    TrackingInfo,
)

# Order states.
STATE_NEW = "0"
STATE_TO_ACCEPT = "1"
STATE_TO_SHIP = "3"
STATE_CANCELLED = "8"
STATE_SHIPPED = "9"

# Line states and the `new_state` values the seller may send.
LINE_TO_ACCEPT = 1
LINE_ACCEPTED = 2
LINE_SHIPPED = 3
LINE_REFUSED = 4
LINE_REFUNDED_BEFORE_SHIPPING = 5

#: Back Market's answer when a line is asked to skip a state.
STATUS_ERROR_TEXT = "Order status error"

#: Currencies without minor units; every other currency Back Market sells in has cents.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "ISK", "CLP", "VND"})

_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_CURRENCY = re.compile(r"[A-Z]{3}")
#: Limits that keep values storable (32-bit quantities, 64-bit money) with a clear message.
MAX_QUANTITY = 2**31 - 1
MAX_AMOUNT_DIGITS = 13
MAX_ID_LENGTH = 100


class BackMarketOrderError(ValueError):
    """A Back Market order Waybill cannot understand at all. The message says what is wrong."""


# ---------------------------------------------------------------------------------------------
# Parsing: Back Market JSON → IncomingOrder. Pure; raises only BackMarketOrderError.
# ---------------------------------------------------------------------------------------------


def parse_order(data: Any) -> IncomingOrder:
    """Translate one Back Market order into an `IncomingOrder`.

    Bad or missing customer data (no surname, a wrong postcode, an empty SKU, quantity 0) is kept
    as it is, for validation to turn into review issues. Only what cannot be understood at all
    (not an object, no order id or state, unreadable money, dates or quantities) raises
    `BackMarketOrderError`.
    """
    if not isinstance(data, Mapping):
        raise BackMarketOrderError(f"The order is not a JSON object but {_kind(data)}.")
    order_id = _order_id(data.get("order_id"))
    where = f"Order {order_id}"
    state = _state(data.get("state"), where)
    placed_at = _datetime(data.get("date_creation"), f"{where}: date_creation")
    currency = _currency(data.get("currency"), where)

    delivery = _address(data.get("shipping_address"), f"{where}: shipping_address")
    billing_raw = data.get("billing_address")
    billing = _address(billing_raw, f"{where}: billing_address") if billing_raw is not None else delivery

    raw_lines = data.get("orderlines")
    if raw_lines is None:
        raise BackMarketOrderError(f"{where} has no orderlines.")
    if not isinstance(raw_lines, list):
        raise BackMarketOrderError(f"{where}: orderlines is {_kind(raw_lines)}, expected a list.")
    lines: list[IncomingLine] = []
    line_states: dict[str, str] = {}
    for position, raw_line in enumerate(raw_lines, 1):
        line, line_state = _line(raw_line, position, currency, where)
        lines.append(line)
        line_states[line.channel_line_id or str(position)] = line_state

    shipping_price = data.get("shipping_price")
    shipping_total = 0 if shipping_price in (None, "") else _money(shipping_price, currency, f"{where}: shipping_price")
    order_price = data.get("price")  # the order total: kept for reference only
    order = IncomingOrder(
        channel_order_id=order_id,
        placed_at=placed_at,
        lines=lines,
        delivery=delivery,
        customer_first_name=billing.first_name or delivery.first_name,
        customer_last_name=billing.last_name or delivery.last_name,
        customer_email=_text(_first_present(billing_raw, data.get("shipping_address"), key="email"), where),
        customer_phone=billing.phone or delivery.phone,
        currency=currency,
        shipping_total=shipping_total,
        shipping_rate=_text(data.get("shipper_display") or data.get("shipper"), f"{where}: shipper"),
        # Back Market collects payment before the merchant sees the order: always prepaid.
        payment_method="card",
        channel_status=state,
        needs_acceptance=state == STATE_TO_ACCEPT,
        raw=_raw_json(data),
        updated_at=parse_modified(data.get("date_modification")),
        extra={
            "backmarket": {
                "line_states": line_states,
                "payment_method": _loose_text(data.get("payment_method")),
                "price": _informational_money(order_price, currency),
                "date_modification": _loose_text(data.get("date_modification")),
            }
        },
    )
    if abs(order.total) >= 2**62:
        raise BackMarketOrderError(f"{where}: the order total is out of range.")
    return order


def _line(raw: Any, position: int, currency: str, where: str) -> tuple[IncomingLine, str]:
    label = f"{where}, line {position}"
    if not isinstance(raw, Mapping):
        raise BackMarketOrderError(f"{label} is {_kind(raw)}, expected an object.")
    line_id = raw.get("id")
    channel_line_id = "" if line_id is None else _identifier(line_id, f"{label}: id")
    sku = _text(raw.get("listing"), f"{label}: listing")
    if len(sku) > MAX_ID_LENGTH:
        raise BackMarketOrderError(f"{label}: the SKU (listing) is longer than {MAX_ID_LENGTH} characters.")
    quantity = _integer(raw.get("quantity"), f"{label}: quantity")
    if "price" not in raw or raw.get("price") is None:
        raise BackMarketOrderError(f"{label} has no price.")
    unit_price = _money(raw.get("price"), currency, f"{label}: price")
    try:
        state_text = _state(raw.get("state"), label)
    except BackMarketOrderError:
        state_text = ""  # informational only; the order's own state is what counts
    title = _text(raw.get("product"), f"{label}: product")
    return IncomingLine(position, sku, title, quantity, unit_price, channel_line_id), state_text


def _address(raw: Any, where: str) -> IncomingAddress:
    if raw is None:
        return IncomingAddress()
    if not isinstance(raw, Mapping):
        raise BackMarketOrderError(f"{where} is {_kind(raw)}, expected an object.")

    def field(name: str) -> str:
        return _text(raw.get(name), f"{where}.{name}")

    return IncomingAddress(
        first_name=field("first_name"),
        last_name=field("last_name"),
        company=field("company"),
        street1=field("street"),
        street2=field("street2"),
        postcode=field("postal_code"),
        city=field("city"),
        region=field("state_or_province"),
        country=field("country").upper(),
        phone=field("phone"),
    )


def _first_present(*objects: Any, key: str) -> Any:
    for obj in objects:
        if isinstance(obj, Mapping) and obj.get(key):
            return obj.get(key)
    return None


def _order_id(value: Any) -> str:
    if value is None or value == "":
        raise BackMarketOrderError("The order has no order_id.")
    order_id = _identifier(value, "order_id")
    if not order_id:
        raise BackMarketOrderError("The order has an empty order_id.")
    return order_id


def _identifier(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BackMarketOrderError(f"{where} is {_kind(value)}, expected a number or a string.")
    if isinstance(value, int) and value.bit_length() > 340:
        raise BackMarketOrderError(f"{where} is longer than {MAX_ID_LENGTH} characters.")
    text = _clean(str(value)).strip()
    if len(text) > MAX_ID_LENGTH:
        raise BackMarketOrderError(f"{where} is longer than {MAX_ID_LENGTH} characters.")
    return text


def _state(value: Any, where: str) -> str:
    if value is None:
        raise BackMarketOrderError(f"{where} has no state.")
    if isinstance(value, bool):
        raise BackMarketOrderError(f"{where}: state is a boolean, expected a number.")
    if isinstance(value, int) and 0 <= value < 1000:
        return str(value)
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii() and len(value.strip()) < 4:
        return str(int(value.strip()))
    raise BackMarketOrderError(f"{where}: state {_short(value)} is not a Back Market state number.")


def _integer(value: Any, where: str) -> int:
    if value is None:
        raise BackMarketOrderError(f"{where} is missing.")
    if isinstance(value, bool):
        raise BackMarketOrderError(f"{where} is a boolean, expected a whole number.")
    whole_float = isinstance(value, float) and value.is_integer()
    if whole_float or (isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,12}\s*", value)):
        value = int(value)
    if not isinstance(value, int):
        raise BackMarketOrderError(f"{where}: {_short(value)} is not a whole number.")
    if abs(value) > MAX_QUANTITY:
        raise BackMarketOrderError(f"{where} is out of range.")
    return value


def _money(value: Any, currency: str, where: str) -> int:
    """A decimal amount ("119.90", 119.9, 120) as exact minor units of `currency`."""
    if value is None:
        raise BackMarketOrderError(f"{where} is missing.")
    if isinstance(value, bool):
        raise BackMarketOrderError(f"{where} is a boolean, expected an amount.")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise BackMarketOrderError(f"{where} is not a finite amount.")
        amount = Decimal(repr(value))
    elif isinstance(value, str) and len(value) <= 40 and _DECIMAL.fullmatch(value.strip()):
        amount = Decimal(value.strip())
    else:
        raise BackMarketOrderError(f"{where}: {_short(value)} is not an amount like 119.90.")
    if amount.is_zero():
        return 0
    if amount.adjusted() >= MAX_AMOUNT_DIGITS:
        raise BackMarketOrderError(f"{where}: {_short(value)} is out of range.")
    exponent = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    if amount.adjusted() < -exponent:
        raise BackMarketOrderError(f"{where}: {_short(value)} has more decimals than {currency} allows.")
    # Exact integer arithmetic on the decimal digits: no context rounding anywhere.
    sign, digits, power = amount.as_tuple()
    assert isinstance(power, int)
    coefficient = int("".join(map(str, digits)))
    shift = power + exponent
    if shift >= 0:
        minor = coefficient * 10**shift
    else:
        minor, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise BackMarketOrderError(f"{where}: {_short(value)} has more decimals than {currency} allows.")
    return -minor if sign else minor


def _informational_money(value: Any, currency: str) -> int | None:
    try:
        return _money(value, currency, "price")
    except BackMarketOrderError:
        return None


def _currency(value: Any, where: str) -> str:
    if value is None or value == "":
        return "EUR"
    if isinstance(value, str) and _CURRENCY.fullmatch(value.strip().upper()):
        return value.strip().upper()
    raise BackMarketOrderError(f"{where}: currency {_short(value)} is not a three-letter ISO code.")


def _datetime(value: Any, where: str) -> dt.datetime:
    if value is None or value == "":
        raise BackMarketOrderError(f"{where} is missing.")
    if not isinstance(value, str):
        raise BackMarketOrderError(f"{where} is {_kind(value)}, expected a date like 2024-05-01T10:00:00+02:00.")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise BackMarketOrderError(f"{where}: {_short(value)} is not a date like 2024-05-01T10:00:00+02:00.") from None
    try:
        if parsed.tzinfo is None:
            # Back Market sends offsets; a bare time is read as UTC.
            return parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise BackMarketOrderError(f"{where}: {_short(value)} is out of range.") from None


def parse_modified(value: Any) -> dt.datetime | None:
    """`date_modification` as aware UTC, or None when it is missing or unreadable."""
    try:
        return _datetime(value, "date_modification")
    except BackMarketOrderError:
        return None


def _text(value: Any, where: str) -> str:
    """A text field: None is empty, numbers become text, containers are not understood."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise BackMarketOrderError(f"{where} is a boolean, expected text.")
    if isinstance(value, str):
        return _clean(value).strip()
    if isinstance(value, int) and value.bit_length() > 200:
        raise BackMarketOrderError(f"{where} is a number too large to be text.")
    if isinstance(value, int | float):
        return str(value)
    raise BackMarketOrderError(f"{where} is {_kind(value)}, expected text.")


def _loose_text(value: Any) -> str:
    """Informational text kept in `extra`: anything unexpected is simply left out."""
    return _clean(value).strip() if isinstance(value, str) else ""


def _clean(text: str) -> str:
    """Drop NUL characters and replace lone surrogates, which no database can store."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _raw_json(data: Any) -> str:
    """The order as JSON text, for the payload history; never fails."""
    safe = _json_safe(data)
    text = json.dumps(safe, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(safe, ensure_ascii=True, default=str)
    return text


def _json_safe(value: Any) -> Any:
    """`value` with integers too long to print (Python refuses > 4300 digits) replaced by a note."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 10_000 else "<number too large>"
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(_json_safe(value), default=str)
    text = _clean(text)
    return f"“{text[:40]}…”" if len(text) > 40 else f"“{text}”"


# ---------------------------------------------------------------------------------------------
# The connector.
# ---------------------------------------------------------------------------------------------


class BackMarketConnector(ChannelConnector):
    kind = "backmarket"
    label = "Back Market"
    sandbox_name = "backmarket"
    credential_fields = (("token", "API token"),)
    default_base_url = "https://www.backmarket.fr"
    carrier_code_name = "shipper"
    #: Back Market accepts or refuses one line (SKU) per call, as soon as the merchant decides it.
    decides_each_line = True
    pairing = StatusPairing(
        to_internal={
            STATE_TO_ACCEPT: "awaiting_acceptance",
            STATE_TO_SHIP: "awaiting_fulfillment",
            STATE_SHIPPED: "shipped",
            STATE_CANCELLED: "cancelled",
        },
        from_internal={
            "awaiting_acceptance": STATE_TO_ACCEPT,
            "awaiting_fulfillment": STATE_TO_SHIP,
            "processing": STATE_TO_SHIP,
            "partially_shipped": STATE_TO_SHIP,
            "shipped": STATE_SHIPPED,
            "delivered": STATE_SHIPPED,
            "rejected": STATE_CANCELLED,
            "cancelled": STATE_CANCELLED,
        },
        state_names={
            STATE_NEW: "new",
            STATE_TO_ACCEPT: "to accept",
            STATE_TO_SHIP: "pending shipment",
            STATE_CANCELLED: "cancelled",
            STATE_SHIPPED: "shipped",
        },
        importable=frozenset({STATE_TO_ACCEPT, STATE_TO_SHIP}),
        actions={
            "accept": frozenset({STATE_TO_ACCEPT}),
            "tracking": frozenset({STATE_TO_SHIP}),
            # Back Market ships a line with its tracking: after tracking the order is already 9,
            # and "ship" then only confirms it.
            "ship": frozenset({STATE_TO_SHIP, STATE_SHIPPED}),
            "cancel": frozenset({STATE_TO_ACCEPT, STATE_TO_SHIP}),
        },
    )

    page_size = 50
    #: Repeat a state's listing at most this often when the result set moved while paging.
    max_passes = 3
    timeout: httpx.Timeout = DEFAULT_TIMEOUT

    # -- transport ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        token = self.credentials.get("token", "").strip()
        if not token:
            raise RemoteError(
                "No Back Market API token is set for this channel: add the token from the Back Market "
                "seller back office (Integrations) to the channel's credentials.",
                retryable=False,
            )
        if token.lower().startswith("basic "):
            token = token[6:].strip()
        contact = self.credentials.get("contact_email", "").strip()
        user_agent = self.credentials.get("user_agent", "").strip() or (
            "BM-Waybill-OrderHub" + (f";{contact}" if contact else "")
        )
        return {
            "Authorization": f"Basic {token}",
            "Accept": "application/json",
            "Accept-Language": self.credentials.get("language", "").strip() or "fr-fr",
            "User-Agent": user_agent,
        }

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.request(method, path, headers=self._headers(), timeout=self.timeout, **kwargs)
        except RemoteError as exc:
            if exc.status_code in (401, 403):
                raise RemoteError(
                    f"Back Market refused the API token ({exc.status_code}: {exc.message}). "
                    "Check the token in the channel's credentials.",
                    retryable=False,
                    status_code=exc.status_code,
                ) from exc
            raise

    async def push_stock(self, updates: list[StockUpdate]) -> dict[str, str]:
        """Each listing is found by SKU (`GET /ws/listings/detail`) and its quantity set
        (`POST /ws/listings/{listing_id}`)."""
        unknown: dict[str, str] = {}
        for update in updates:
            try:
                found = self.json(await self._call("GET", "/ws/listings/detail", params={"sku": update.sku}))
            except RemoteError as exc:
                if exc.status_code == 404:
                    unknown[update.sku] = f"Back Market has no listing with SKU {update.sku}."
                    continue
                raise
            listing_id = found.get("listing_id") if isinstance(found, dict) else None
            if listing_id is None:
                raise RemoteError(f"Back Market sent no listing id for SKU {update.sku}.", retryable=True)
            await self._call("POST", f"/ws/listings/{listing_id}", json={"quantity": update.quantity})
        return unknown

    async def _get_order(self, channel_order_id: str) -> dict[str, Any]:
        body = self.json(await self._call("GET", f"/ws/orders/{channel_order_id}"))
        if not isinstance(body, dict) or not isinstance(body.get("orderlines"), list):
            raise RemoteError(
                f"Back Market sent an order {channel_order_id} without order lines: {str(body)[:200]}",
                retryable=True,
            )
        return body

    async def _set_line_state(self, channel_order_id: str, sku: str, new_state: int, **extra: str) -> None:
        order_ref: int | str = int(channel_order_id) if channel_order_id.isdecimal() else channel_order_id
        payload: dict[str, Any] = {"order_id": order_ref, "new_state": new_state, "sku": sku}
        payload.update({k: v for k, v in extra.items() if v})
        await self._call("POST", f"/ws/orders/{channel_order_id}", json=payload)

    # -- import ------------------------------------------------------------------------------

    async def fetch_orders(
        self, updated_since: dt.datetime | None, *, include_closed: bool = False
    ) -> AsyncIterator[OrderPage]:
        """Orders in state 1 (to accept) and 3 (to ship) modified since `updated_since`.

        One listing per state, since Back Market filters on one state at a time. Back Market pages
        by page number, so an order leaving the listing while we page (accepted elsewhere) shifts
        the pages; when `count` changes during a listing, the listing is read again (orders already
        yielded in the same version are skipped). Because the pages are not ordered by modification
        time, `max_updated_at` is only given on the last page yielded, once everything was read.

        With `include_closed`, two more listings yield cancelled (8) and shipped (9) orders, so the
        engine can follow orders it already knows (e.g. a customer cancellation); such orders must
        not be imported as new ones (`pairing.importable`). State 0 is never yielded.
        """
        base: dict[str, str] = {"page-size": str(self.page_size)}
        if updated_since is not None:
            since = updated_since if updated_since.tzinfo else updated_since.replace(tzinfo=dt.UTC)
            base["date_modification"] = since.astimezone(dt.UTC).isoformat(timespec="seconds")
        seen: set[tuple[str, str, str]] = set()
        newest: dt.datetime | None = None
        states = [STATE_TO_ACCEPT, STATE_TO_SHIP] + ([STATE_CANCELLED, STATE_SHIPPED] if include_closed else [])
        listings = [{**base, "state": state} for state in states]
        for params in listings:
            for _ in range(self.max_passes):
                counts: set[Any] = set()
                page_number = 1
                while True:
                    body = await self._list_page({**params, "page": str(page_number)})
                    counts.add(body.get("count"))
                    page, page_newest = await self._read_results(body["results"], seen)
                    if page_newest and (newest is None or page_newest > newest):
                        newest = page_newest
                    if page.orders or page.rejects:
                        yield page
                    if not body.get("next"):
                        break
                    page_number += 1
                if len(counts) <= 1:
                    break
        yield OrderPage(max_updated_at=newest)

    async def _list_page(self, params: dict[str, str]) -> dict[str, Any]:
        body = self.json(await self._call("GET", "/ws/orders", params=params))
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise RemoteError(
                f"Back Market sent an order list without results: {json.dumps(body, default=str)[:200]}",
                retryable=True,
            )
        return body

    async def _read_results(
        self, results: Iterable[Any], seen: set[tuple[str, str, str]]
    ) -> tuple[OrderPage, dt.datetime | None]:
        page = OrderPage()
        newest: dt.datetime | None = None
        for data in results:
            if not isinstance(data, dict):
                page.rejects.append(
                    ParseReject("", f"Back Market listed an order that is {_kind(data)}.", _raw_json(data))
                )
                continue
            order_id = str(data.get("order_id", "")).strip()
            state = str(data.get("state", "")).strip()
            if state == STATE_NEW:
                continue
            key = (order_id, state, str(data.get("date_modification", "")))
            if order_id and key in seen:
                continue
            seen.add(key)
            modified = parse_modified(data.get("date_modification"))
            if modified and (newest is None or modified > newest):
                newest = modified
            if "orderlines" not in data and order_id:
                try:
                    data = await self._get_order(order_id)
                except RemoteError as exc:
                    if exc.retryable:
                        raise
                    page.rejects.append(ParseReject(order_id, exc.message, _raw_json(data)))
                    continue
            try:
                page.orders.append(parse_order(data))
            except BackMarketOrderError as exc:
                page.rejects.append(ParseReject(order_id, str(exc), _raw_json(data)))
        return page, newest

    async def fetch_order_state(self, channel_order_id: str) -> str:
        order = await self._get_order(channel_order_id)
        return str(order.get("state", ""))

    async def fetch_order(self, channel_order_id: str) -> IncomingOrder:
        try:
            return parse_order(await self._get_order(channel_order_id))
        except BackMarketOrderError as exc:
            raise RemoteError(
                f"{self.label} sent order {channel_order_id} Waybill cannot read: {exc}", retryable=False
            ) from exc

    # -- changes -----------------------------------------------------------------------------

    async def accept(self, channel_order_id: str, decisions: list[LineDecision]) -> None:
        """One call per line: `new_state` 2 accepts, 4 refuses.

        The order is read first, and a line already in the wanted state is not sent again, so a
        message re-sent after an ambiguous failure (a timeout after sending) does not fail.
        """
        order = await self._get_order(channel_order_id)
        for decision in decisions:
            target = LINE_ACCEPTED if decision.accepted else LINE_REFUSED
            line = _find_line(order, decision.channel_line_id, decision.sku)
            if line is not None and _line_state(line) == target:
                continue
            sku = decision.sku or (str(line.get("listing", "")) if line else "")
            try:
                await self._set_line_state(channel_order_id, sku, target)
            except RemoteError as exc:
                if not _is_status_error(exc):
                    raise
                # Applied meanwhile (by an earlier attempt)? Then this line is done.
                order = await self._get_order(channel_order_id)
                line = _find_line(order, decision.channel_line_id, decision.sku)
                if line is None or _line_state(line) != target:
                    raise

    async def push_tracking(self, channel_order_id: str, tracking: TrackingInfo) -> None:
        """Mark the parcel's lines shipped (`new_state` 3) with the tracking, one call per SKU.

        Back Market ships whole lines: a line in this parcel is marked shipped with its tracking;
        a line already shipped is skipped. Without any line given, every accepted line ships.
        """
        order = await self._get_order(channel_order_id)
        lines = order["orderlines"]
        targets: list[tuple[str, dict[str, Any] | None]] = []
        for line_id in tracking.lines:
            line = _find_line(order, line_id, "")
            if line is None:
                raise RemoteError(
                    f"Back Market order {channel_order_id} has no line {line_id}: check the parcel's lines.",
                    retryable=False,
                )
            targets.append((str(line.get("listing", "")), line))
        for sku in tracking.skus:
            if not any(sku == t[0] for t in targets):
                targets.append((sku, _find_line(order, "", sku)))
        if not targets:
            targets = [(str(line.get("listing", "")), line) for line in lines if _line_state(line) == LINE_ACCEPTED]
        for sku, line in targets:
            if line is not None and _line_state(line) == LINE_SHIPPED:
                continue
            await self._set_line_state(
                channel_order_id,
                sku,
                LINE_SHIPPED,
                tracking_number=tracking.tracking_number,
                tracking_url=tracking.tracking_url,
                # The merchant's Back Market shipper for this carrier when given, else the carrier's name.
                shipper=tracking.carrier_code or tracking.carrier_name,
            )

    async def ship(self, channel_order_id: str) -> None:
        """Back Market has no separate ship call: lines ship with their tracking.

        Accepted lines not shipped yet (no tracking needed) are marked shipped without tracking;
        an order already shipped (9) is confirmed as is.
        """
        order = await self._get_order(channel_order_id)
        if str(order.get("state")) == STATE_SHIPPED:
            return
        lines = order["orderlines"]
        waiting = [line for line in lines if _line_state(line) == LINE_TO_ACCEPT]
        if waiting:
            raise RemoteError(
                f"Back Market order {channel_order_id} still has {len(waiting)} line(s) to accept: "
                "accept or refuse them before shipping.",
                retryable=False,
            )
        for line in lines:
            if _line_state(line) == LINE_ACCEPTED:
                await self._set_line_state(channel_order_id, str(line.get("listing", "")), LINE_SHIPPED)

    async def cancel(self, channel_order_id: str, reason: str) -> None:
        """Refuse lines still to accept (4) and refund accepted ones before shipping (5)."""
        order = await self._get_order(channel_order_id)
        lines = order["orderlines"]
        if any(_line_state(line) == LINE_SHIPPED for line in lines):
            raise RemoteError(
                f"Back Market order {channel_order_id} has shipped lines: it can no longer be cancelled; "
                "handle it as a return on Back Market.",
                retryable=False,
            )
        for line in lines:
            state = _line_state(line)
            if state == LINE_TO_ACCEPT:
                await self._set_line_state(channel_order_id, str(line.get("listing", "")), LINE_REFUSED)
            elif state == LINE_ACCEPTED:
                await self._set_line_state(
                    channel_order_id, str(line.get("listing", "")), LINE_REFUNDED_BEFORE_SHIPPING
                )


def _find_line(order: Mapping[str, Any], line_id: str, sku: str) -> dict[str, Any] | None:
    lines = [line for line in order.get("orderlines", []) if isinstance(line, dict)]
    if line_id:
        for line in lines:
            if str(line.get("id", "")) == str(line_id):
                return line
    if sku:
        for line in lines:
            if str(line.get("listing", "")) == sku:
                return line
    return None


def _line_state(line: Mapping[str, Any]) -> int | None:
    try:
        return int(line.get("state"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _is_status_error(exc: RemoteError) -> bool:
    return exc.status_code == 400 and STATUS_ERROR_TEXT.lower() in exc.message.lower()
