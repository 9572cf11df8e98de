"""MALL Partner API ("mpapi", MALL.cz / MALL Group marketplace) channel connector.

The API lives at `https://mpapi.mallgroup.com/v1/`; the channel's base URL is everything before `/v1`.
Every call carries the partner's `client_id` as a query parameter. Answers are wrapped in an envelope:
`{"result": {"code": 200, "status": "OK"}, "data": …, "paging": {"total", "pages", "size", "page"}}`;
errors keep the envelope with `"status": "ERROR"` and the reason in `result.message`.

Calls used:

- `GET /v1/orders?status=open&filter=basic&page=…&page_size=…` lists open orders (basic objects rather
  than bare ids; blocked orders are never listed unless asked for).
- `GET /v1/orders/{id}` is the full order: `address` (name, company, phone, email, street, city, zip,
  country), `items` (`id` is the partner's own article id, i.e. our SKU; `title`, `quantity`, unit `price`
  with VAT), `currency`, `delivery_price`, `cod_price`, `cod`, `discount`, `delivery_method`, `status`,
  `confirmed` and one timestamp per status reached (`blocked`, `open`, `shipping`, …).
- `PUT /v1/orders/{id}` with `{"confirmed": true}` and/or `{"status": …}`; `shipped` carries
  `tracking_number` and `tracking_url`, `delivered` needs `delivered_at` (`YYYY-MM-DD HH:MM:SS`).
- `PUT /v1/orders/{id}/tracking` with `{"tracking_number", "tracking_url"}`, only for shipped orders.

Status model (MALL sets blocked → open; the partner moves open → shipping → shipped → delivered or
returned, and may cancel while open or shipping; lost is set by MALL; delivered, returned, cancelled
and lost are final). How Waybill's steps map onto it:

- **Accept order** confirms the order and moves it to `shipping` in one call: MALL's "shipping" means
  the partner has taken the order into its expedition process, which is what accepting means here.
  An order stays cancellable in `shipping`.
- **Reject order** (every line refused) confirms and cancels the order: MALL has no refusal step.
  MALL cannot refuse single items, so a partial refusal is refused before anything is sent.
- **Add tracking** while `shipping` moves the order to `shipped` with the tracking number in the same
  call, as MALL asks partners to do; while already `shipped` it updates the tracking.
- **Mark as shipped** moves `shipping` to `shipped` (MALL rejects it without tracking, except for MALL
  Delivery orders whose labels carry the tracking); after tracking was added there is nothing to do.
- **Mark as delivered** sends `delivered` with `delivered_at`; **Mark as returned** sends `returned`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal, DecimalException
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from babel.numbers import get_currency_precision

from connectors.base import ChannelConnector
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

BLOCKED = "blocked"
OPEN = "open"
SHIPPING = "shipping"
SHIPPED = "shipped"
CANCELLED = "cancelled"
DELIVERED = "delivered"
LOST = "lost"
RETURNED = "returned"

STATUSES = frozenset({BLOCKED, OPEN, SHIPPING, SHIPPED, CANCELLED, DELIVERED, LOST, RETURNED})
#: The order keeps one timestamp per status it reached, named after the status.
STATUS_TIMESTAMPS = (BLOCKED, OPEN, SHIPPING, SHIPPED, DELIVERED, RETURNED, CANCELLED, LOST)

MALL_PAIRING = StatusPairing(
    to_internal={
        # Open orders are imported; the import puts unconfirmed ones in awaiting_acceptance and ones
        # already confirmed on MALL in awaiting_fulfillment (IncomingOrder.needs_acceptance).
        OPEN: "awaiting_acceptance",
        SHIPPING: "processing",
        SHIPPED: "shipped",
        DELIVERED: "delivered",
        CANCELLED: "cancelled",
        RETURNED: "returned",
        # Lost: the carrier lost the parcel (MALL Delivery only, set by MALL). Like a return, the
        # goods never reached the customer and the order is closed without an invoice.
        LOST: "returned",
        # Blocked orders (not yet paid or checked by MALL) are not the partner's yet: never imported.
    },
    from_internal={
        "awaiting_acceptance": OPEN,
        "awaiting_fulfillment": SHIPPING,
        "processing": SHIPPING,
        # MALL ships an order as a whole: the first parcel's tracking makes it shipped.
        "partially_shipped": SHIPPED,
        "shipped": SHIPPED,
        "delivered": DELIVERED,
        "returned": RETURNED,
        "rejected": CANCELLED,
        "cancelled": CANCELLED,
    },
    importable=frozenset({OPEN}),
    actions={
        "accept": frozenset({OPEN}),
        "tracking": frozenset({SHIPPING, SHIPPED}),
        "ship": frozenset({SHIPPING}),
        "cancel": frozenset({OPEN, SHIPPING}),
        "delivered": frozenset({SHIPPED}),
        "returned": frozenset({SHIPPED}),
    },
)

#: Dates in the API are local Prague time without an offset.
try:
    MALL_TZ: dt.tzinfo = ZoneInfo("Europe/Prague")
except ZoneInfoNotFoundError:  # pragma: no cover - a system without time zone data
    MALL_TZ = dt.UTC
DATE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
APPLICATION_NAME = "Waybill"
DEFAULT_CURRENCY = "CZK"
MAX_QUANTITY = 1_000_000
#: Larger amounts (in major units) are not plausible order amounts.
MAX_AMOUNT_DIGITS = 12
NAME_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "du", "la", "le", "ten"}
)
TRACKING_NUMBER = re.compile(r"[0-9A-Za-z_-]+")


class MallOrderError(ValueError):
    """A MALL order Waybill cannot read at all. The message says what is wrong, for a person."""


# --- Parsing: MALL's order JSON → IncomingOrder (pure functions) -----------------------------------


def parse_order(data: Any) -> IncomingOrder:
    """One order from `GET /v1/orders/{id}` (the `data` object) as an `IncomingOrder`.

    Bad data a person can fix (missing surname, bad postcode, quantity 0…) is kept for validation
    to turn into review issues; only what cannot be understood raises `MallOrderError`.
    """
    if not isinstance(data, Mapping):
        raise MallOrderError(f"A MALL order must be a JSON object, not {_kind(data)}.")
    order_id = _identifier(data.get("id"), "The order id")
    where = f"Order {order_id}"
    status = data.get("status")
    if not isinstance(status, str) or not status.strip():
        raise MallOrderError(f"{where} has no status.")
    status = status.strip()
    if status not in STATUSES:
        raise MallOrderError(f"{where} has an unknown status {_show(status)}; MALL uses {', '.join(sorted(STATUSES))}.")
    confirmed = _flag(data.get("confirmed"), f"{where}: confirmed")
    currency = _currency(data.get("currency", data.get("currency_id")), where)

    address = _object(data.get("address"), f"{where}: address")
    first_name, last_name = split_name(_text(address.get("name"), f"{where}: address name"))
    phone = _text(address.get("phone"), f"{where}: phone")
    delivery = IncomingAddress(
        first_name=first_name,
        last_name=last_name,
        company=_text(address.get("company"), f"{where}: company"),
        street1=_text(address.get("street"), f"{where}: street"),
        postcode=_text(address.get("zip"), f"{where}: zip"),
        city=_text(address.get("city"), f"{where}: city"),
        country=_text(address.get("country"), f"{where}: country").upper(),
        phone=phone,
    )

    items = data.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise MallOrderError(f"{where}: items must be a list, not {_kind(items)}.")
    lines: list[IncomingLine] = []
    seen_line_ids: set[str] = set()
    for position, raw in enumerate(items, 1):
        line = _parse_item(raw, position, currency, where)
        if line.channel_line_id in seen_line_ids:
            line.channel_line_id = f"{line.channel_line_id}#{position}"
        seen_line_ids.add(line.channel_line_id)
        lines.append(line)

    amounts = {
        key: minor_units(data.get(key, 0), currency, f"{where}: {key}")
        for key in ("delivery_price", "cod_price", "discount", "cod")
    }
    try:
        raw_text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise MallOrderError(f"{where} cannot be stored as JSON: {exc}") from None
    return IncomingOrder(
        channel_order_id=order_id,
        placed_at=_placed_at(data, where),
        lines=lines,
        delivery=delivery,
        customer_first_name=first_name,
        customer_last_name=last_name,
        customer_email=_text(address.get("email"), f"{where}: email"),
        customer_phone=phone,
        currency=currency,
        # What the customer pays beyond the items: delivery and the cash-on-delivery fee.
        shipping_total=amounts["delivery_price"] + amounts["cod_price"],
        shipping_rate=_text(data.get("delivery_method"), f"{where}: delivery_method"),
        # MALL collects the money (card, transfer or cash on delivery) and settles with the partner,
        # so for the merchant every MALL order is paid; nothing is ever invoiced "on account".
        payment_method="card",
        channel_status=status,
        needs_acceptance=status == OPEN and not confirmed,
        raw=raw_text,
        updated_at=changed_at(data),
        extra={
            "purchase_id": _scalar(data.get("purchase_id")),
            "external_id": _scalar(data.get("external_id", data.get("external_order_id"))),
            "customer_id": _scalar(address.get("customer_id", data.get("customer_id"))),
            "confirmed": confirmed,
            "delivery_method_id": _scalar(data.get("delivery_method_id")),
            "branch_id": _scalar(data.get("branch_id")),
            "payment_type": _scalar(data.get("payment_type")),
            "mdp": data.get("mdp") is True,
            "test": data.get("test") is True,
            **amounts,
        },
    )


def _parse_item(raw: Any, position: int, currency: str, where: str) -> IncomingLine:
    what = f"{where}, item {position}"
    item = _object(raw, what)
    sku = _identifier(item.get("id"), f"{what}: id", required=False)
    if "quantity" not in item:
        raise MallOrderError(f"{what} has no quantity.")
    if "price" not in item:
        raise MallOrderError(f"{what} has no price.")
    return IncomingLine(
        position=position,
        sku=sku,
        title=_text(item.get("title"), f"{what}: title"),
        quantity=_quantity(item["quantity"], f"{what}: quantity"),
        unit_price=minor_units(item["price"], currency, f"{what}: price"),
        channel_line_id=sku or f"item-{position}",
    )


def split_name(full_name: str) -> tuple[str, str]:
    """MALL sends one `name`; the last word (with particles such as "van der") is the surname.

    A single word is taken as the first name, so the order shows up as missing its surname.
    """
    parts = full_name.split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], ""
    start = len(parts) - 1
    while start > 1 and parts[start - 1].lower() in NAME_PARTICLES:
        start -= 1
    return " ".join(parts[:start]), " ".join(parts[start:])


def minor_units(value: Any, currency: str, what: str) -> int:
    """A MALL amount (e.g. 229.9 CZK) in minor units (22990), exactly, or `MallOrderError`.

    Only exact operations are used (no decimal context), so no digit is ever rounded away.
    """
    if isinstance(value, bool) or value is None:
        raise MallOrderError(f"{what} must be an amount, not {_kind(value)}.")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str) and value.strip():
        try:
            amount = Decimal(value.strip())
        except DecimalException:
            raise MallOrderError(f"{what} is not a number: {_show(value)}.") from None
    else:
        raise MallOrderError(f"{what} must be an amount, not {_kind(value)}.")
    if not amount.is_finite():
        raise MallOrderError(f"{what} must be a finite amount, not {_show(value)}.")
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0 and exponent < 0:  # 12.50 is 12.5
        digits.pop()
        exponent += 1
    if sign and any(digits):
        raise MallOrderError(f"{what} is negative ({_show(value)}).")
    if any(digits) and len(digits) + exponent > MAX_AMOUNT_DIGITS:
        raise MallOrderError(f"{what} {_show(value)} is not a plausible amount.")
    places = get_currency_precision(currency)
    if any(digits) and exponent < -places:
        raise MallOrderError(f"{what} {_show(value)} has more than {places} decimals, which {currency} does not have.")
    if not any(digits):
        return 0
    return int("".join(map(str, digits))) * 10 ** (exponent + places)


def amount_text(minor: int, currency: str) -> str:
    """Minor units back to MALL's decimal notation: 22990 CZK → "229.90"."""
    digits = get_currency_precision(currency)
    return str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))


def parse_datetime(value: Any, what: str) -> dt.datetime:
    """A MALL date or date-time (Prague time unless it has an offset) as an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise MallOrderError(f"{what} must be a date such as 2024-05-17 14:03:00, not {_kind(value)}.")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=MALL_TZ)
        parsed = parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise MallOrderError(f"{what} is not a date such as 2024-05-17 14:03:00: {_show(value)}.") from None
    if not 2000 <= parsed.year <= 2100:
        raise MallOrderError(f"{what} {_show(value)} is not a plausible date.")
    return parsed


def format_datetime(value: dt.datetime) -> str:
    """An aware (or UTC-naive) datetime in MALL's notation, Prague time: "2024-05-17 14:03:00"."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(MALL_TZ).strftime(DATE_TIME_FORMAT)


def changed_at(record: Mapping[str, Any]) -> dt.datetime | None:
    """The latest status timestamp of a listed order (its last status change), if any is readable."""
    stamps = []
    for key in STATUS_TIMESTAMPS:
        value = record.get(key)
        if value is None:
            continue
        try:
            stamps.append(parse_datetime(value, key))
        except MallOrderError:
            continue
    return max(stamps, default=None)


def _placed_at(data: Mapping[str, Any], where: str) -> dt.datetime:
    # MALL creates orders as blocked (cash-on-delivery ones straight as open).
    stamps = [
        parse_datetime(data[key], f"{where}: {key}") for key in ("created", BLOCKED, OPEN) if data.get(key) is not None
    ]
    if not stamps:
        raise MallOrderError(f"{where} has no creation time (neither created, blocked nor open is set).")
    return min(stamps)


def _identifier(value: Any, what: str, *, required: bool = True) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
        return str(value)
    if value is None or isinstance(value, str):
        text = (value or "").strip()
        if not text and required:
            raise MallOrderError(f"{what} is missing.")
        return text
    raise MallOrderError(f"{what} must be a number or text, not {_kind(value)}.")


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 10**30:
        return str(value)
    raise MallOrderError(f"{what} must be text, not {_kind(value)}.")


def _flag(value: Any, what: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise MallOrderError(f"{what} must be true or false, not {_show(value)}.")


def _currency(value: Any, where: str) -> str:
    if value is None:
        return DEFAULT_CURRENCY
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z]{3}", value.strip()):
        return value.strip().upper()
    raise MallOrderError(f"{where} has an invalid currency {_show(value)}; expected a code such as CZK.")


def _quantity(value: Any, what: str) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", value)
    ):
        number = int(value)
    if number is None:
        raise MallOrderError(f"{what} must be a whole number, not {_show(value)}.")
    if abs(number) > MAX_QUANTITY:
        raise MallOrderError(f"{what} {_number(number)} is not a plausible quantity.")
    return number


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    raise MallOrderError(f"{what} must be an object, not {_kind(value)}.")


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)[:200]


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "nothing"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {_number(value)}"
    return names.get(type(value), type(value).__name__)


def _number(value: int | float) -> str:
    """A number as text; huge integers are not spelled out (and Python refuses to past 4300 digits)."""
    if isinstance(value, int) and abs(value) >= 10**30:
        return f"with {len(str(abs(value))) if abs(value) < 10**4000 else 'thousands of'} digits"
    return repr(value)


def _show(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"“{_number(value)[:60]}”"
    text = value if isinstance(value, str) else repr(value)
    return f"“{text[:60]}”"


# --- The HTTP client --------------------------------------------------------------------------------


def mall_message(body: Any) -> str | None:
    """MALL's own error message from an error body such as {"result": {"message": …}}."""
    if isinstance(body, Mapping):
        result = body.get("result")
        if isinstance(result, Mapping) and isinstance(result.get("message"), str) and result["message"]:
            return result["message"]
        if isinstance(body.get("message"), str) and body["message"]:
            return body["message"]
    return None


def _in_mall_words(error: RemoteError) -> RemoteError | None:
    """The same failure with MALL's message instead of its raw JSON body, if the body had one."""
    start = error.message.find("{")
    if error.status_code is None or start < 0:
        return None
    try:
        message = mall_message(json.loads(error.message[start:]))
    except ValueError:
        return None
    if message is None:
        return None
    return RemoteError(
        error.message[:start] + message,
        retryable=error.retryable,
        status_code=error.status_code,
        retry_after=error.retry_after,
        ambiguous=error.ambiguous,
    )


class MallConnector(ChannelConnector):
    kind: ClassVar[str] = "mall"
    label: ClassVar[str] = "MALL"
    pairing: ClassVar[StatusPairing] = MALL_PAIRING
    sandbox_name: ClassVar[str] = "mall"
    credential_fields: ClassVar[tuple[tuple[str, str], ...]] = (("client_id", "Client ID"),)
    default_base_url: ClassVar[str] = "https://mpapi.mallgroup.com"
    #: MALL confirms or cancels whole orders; it has no way to refuse single items.
    refuses_single_lines: ClassVar[bool] = False

    #: Orders per list page (MALL's default page size is 100).
    page_size: int = 100
    #: Order details fetched at the same time while importing a page.
    detail_concurrency: int = 8
    #: Per-request timeout; None keeps the shared default (`connectors.base.DEFAULT_TIMEOUT`).
    timeout: httpx.Timeout | None = None

    @property
    def client_id(self) -> str:
        client_id = self.credentials.get("client_id", "").strip()
        if not client_id:
            raise RemoteError("The MALL channel has no client ID: add it on the channel's page.", retryable=False)
        return client_id

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Every call carries `client_id`; MALL's error messages are unwrapped from their envelope."""
        params = {**(kwargs.pop("params", None) or {}), "client_id": self.client_id}
        headers = {"X-Application-Name": APPLICATION_NAME, **(kwargs.pop("headers", None) or {})}
        if self.timeout is not None:
            kwargs.setdefault("timeout", self.timeout)
        try:
            return await super().request(method, path, params=params, headers=headers, **kwargs)
        except RemoteError as exc:
            clearer = _in_mall_words(exc)
            if clearer is None:
                raise
            raise clearer from exc

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = self.json(await self.request("GET", path, params=dict(params or {})))
        if not isinstance(body, dict):
            raise RemoteError(f"MALL sent an unexpected answer to {path}: {str(body)[:200]}", retryable=True)
        return body

    async def _put(self, channel_order_id: str, body: Mapping[str, Any], suffix: str = "") -> None:
        path = f"/v1/orders/{_order_path(channel_order_id)}{suffix}"
        response = await self.request("PUT", path, json=dict(body))
        try:
            answer = self.json(response)
        except RemoteError as exc:
            # The change was sent and answered with success, but the answer is unreadable: it may have
            # been applied, so the order's state must be checked before anything is sent again.
            raise RemoteError(exc.message, retryable=True, status_code=exc.status_code, ambiguous=True) from exc
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(answer, dict) or (isinstance(result, Mapping) and result.get("status") not in (None, "OK")):
            message = mall_message(answer) or str(answer)[:200]
            raise RemoteError(f"MALL did not confirm the change: {message}", retryable=True, ambiguous=True)

    # --- Import

    async def fetch_orders(self, updated_since: dt.datetime | None) -> AsyncIterator[OrderPage]:
        """Open orders, page by page. Unconfirmed ones are always read in full (MALL flags every order
        it changes as unconfirmed); confirmed ones only if their last status change is not older than
        `updated_since`."""
        page_number = 1
        while True:
            body = await self._get(
                "/v1/orders",
                {"status": OPEN, "filter": "basic", "page": page_number, "page_size": self.page_size, "_sort": "id"},
            )
            records = body.get("data")
            if not isinstance(records, list):
                raise RemoteError(f"MALL sent an order list without data: {str(body)[:200]}", retryable=True)
            page = await self._read_page(records, updated_since)
            yield page
            paging = body.get("paging") if isinstance(body.get("paging"), Mapping) else {}
            pages = paging.get("pages")
            if not records or not isinstance(pages, int) or page_number >= pages:
                return
            page_number += 1

    async def _read_page(self, records: list[Any], updated_since: dt.datetime | None) -> OrderPage:
        page = OrderPage()
        wanted: list[tuple[str, Any]] = []
        for record in records:
            if not isinstance(record, Mapping):
                record = {"id": record}  # a bare id, as MALL lists orders without filter=basic
            try:
                order_id = _identifier(record.get("id"), "The order id")
            except MallOrderError as exc:
                page.rejects.append(ParseReject("", f"MALL listed an order without a usable id: {exc}", _dump(record)))
                continue
            if record.get("status", OPEN) != OPEN:
                continue
            stamp = changed_at(record)
            if stamp is not None and (page.max_updated_at is None or stamp > page.max_updated_at):
                page.max_updated_at = stamp
            if (
                updated_since is not None
                and record.get("confirmed") is True
                and stamp is not None
                and stamp < updated_since
            ):
                continue
            wanted.append((order_id, record))
        semaphore = asyncio.Semaphore(max(1, self.detail_concurrency))

        async def detail(order_id: str) -> Any:
            async with semaphore:
                return await self._get(f"/v1/orders/{_order_path(order_id)}")

        results = await asyncio.gather(*(detail(order_id) for order_id, _ in wanted), return_exceptions=True)
        for (order_id, record), result in zip(wanted, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, RemoteError) and not result.retryable:
                    page.rejects.append(
                        ParseReject(order_id, f"MALL refused to show the order: {result.message}", _dump(record))
                    )
                    continue
                raise result
            data = result.get("data")
            if isinstance(data, Mapping) and data.get("status") not in (None, OPEN):
                continue  # its status changed since the list was read: no longer importable
            try:
                page.orders.append(parse_order(data))
            except MallOrderError as exc:
                page.rejects.append(ParseReject(order_id, str(exc), _dump(data)))
        return page

    async def fetch_order_state(self, channel_order_id: str) -> str:
        body = await self._get(f"/v1/orders/{_order_path(channel_order_id)}")
        data = body.get("data")
        status = data.get("status") if isinstance(data, Mapping) else None
        if not isinstance(status, str) or not status:
            raise RemoteError(f"MALL sent order {channel_order_id} without a status.", retryable=True)
        return status

    async def fetch_order(self, channel_order_id: str) -> IncomingOrder:
        body = await self._get(f"/v1/orders/{_order_path(channel_order_id)}")
        try:
            return parse_order(body.get("data"))
        except MallOrderError as exc:
            raise RemoteError(
                f"MALL sent order {channel_order_id} Waybill cannot read: {exc}", retryable=False
            ) from exc

    # --- Status changes

    async def accept(self, channel_order_id: str, decisions: list[LineDecision]) -> None:
        refused = [d for d in decisions if not d.accepted]
        if decisions and len(refused) == len(decisions):
            await self._put(channel_order_id, {"confirmed": True, "status": CANCELLED})
        elif refused:
            skus = ", ".join(d.sku or d.channel_line_id for d in refused)
            raise RemoteError(
                f"MALL cannot refuse single items (refused: {skus}). Accept every item, or reject the whole "
                "order to cancel it on MALL.",
                retryable=False,
            )
        else:
            await self._put(channel_order_id, {"confirmed": True, "status": SHIPPING})

    async def push_tracking(self, channel_order_id: str, tracking: TrackingInfo) -> None:
        number = "".join(tracking.tracking_number.split())
        state = await self.fetch_order_state(channel_order_id)
        if state == SHIPPING:
            body = {"status": SHIPPED, "tracking_number": number, "tracking_url": tracking.tracking_url}
            await self._put(channel_order_id, body)
        elif state == SHIPPED:
            await self._put(
                channel_order_id, {"tracking_number": number, "tracking_url": tracking.tracking_url}, "/tracking"
            )
        else:
            raise RemoteError(
                f"MALL takes tracking only while an order is shipping or shipped; order {channel_order_id} is {state}.",
                retryable=False,
            )

    async def ship(self, channel_order_id: str) -> None:
        await self._put(channel_order_id, {"status": SHIPPED})

    async def push_stock(self, updates: list[StockUpdate]) -> dict[str, str]:
        """Product availability, one product per call: `A` with the quantity, `N` at 0."""
        unknown: dict[str, str] = {}
        for update in updates:
            body = {"status": "A" if update.quantity > 0 else "N", "in_stock": update.quantity}
            try:
                await self.request("PUT", f"/v1/products/{_order_path(update.sku)}/availability", json=body)
            except RemoteError as exc:
                if exc.status_code == 404:
                    unknown[update.sku] = exc.message
                    continue
                raise
        return unknown

    async def cancel(self, channel_order_id: str, reason: str) -> None:
        # MALL takes no cancellation reason; confirming in the same call lets an unconfirmed order go.
        await self._put(channel_order_id, {"confirmed": True, "status": CANCELLED})

    async def mark_delivered(self, channel_order_id: str, delivered_at: dt.datetime) -> None:
        await self._put(channel_order_id, {"status": DELIVERED, "delivered_at": format_datetime(delivered_at)})

    async def mark_returned(self, channel_order_id: str) -> None:
        """The parcel came back undelivered: MALL closes the order without invoicing it."""
        await self._put(channel_order_id, {"status": RETURNED})


def _order_path(channel_order_id: str) -> str:
    return quote(str(channel_order_id).strip(), safe="")


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            return repr(value)[:2000]
        except (ValueError, RecursionError):
            return f"({type(value).__name__} that cannot be shown as text)"
