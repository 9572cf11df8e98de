"""Mirakl Marketplace Platform, seller (shop) API: the platform behind many marketplaces.

Calls used (paths relative to the instance URL, e.g. https://<marketplace>.mirakl.net):

- OR11 `GET /api/orders`: list orders; `start_update_date`, `order_state_codes` (comma-separated),
  `order_ids`, offset paging with `offset` and `max` (at most 100); the answer carries `total_count`.
- OR21 `PUT /api/orders/{order_id}/accept`: `{"order_lines": [{"accepted": true, "id": "<line>"}]}`;
  every line of the order must be decided in one call.
- OR23 `PUT /api/orders/{order_id}/tracking`: `carrier_code` (registered carrier) or `carrier_name`
  and `carrier_url` (other carriers), `tracking_number`.
- OR24 `PUT /api/orders/{order_id}/ship`: only while the order is SHIPPING.
- OR29 `PUT /api/orders/{order_id}/cancel`: cancel the whole order before it ships.

The shop API key goes as is in the `Authorization` header (no "Bearer"). Errors come back as
`{"status": 400, "message": "..."}`. Amounts are decimal numbers in the order's currency.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import functools
import io
import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from connectors import json_fields, jsontext
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

#: Largest page OR11 serves.
MAX_PAGE_SIZE = 100

WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE"
SHIPPING = "SHIPPING"
SHIPPED = "SHIPPED"
RECEIVED = "RECEIVED"
CLOSED = "CLOSED"
REFUSED = "REFUSED"
CANCELED = "CANCELED"

#: Open orders: the only ones imported as new orders.
OPEN_STATES = (WAITING_ACCEPTANCE, SHIPPING)
#: Where an order we already know can go on Mirakl's side (e.g. the customer cancelled).
FOLLOWED_STATES = (SHIPPED, RECEIVED, CLOSED, REFUSED, CANCELED)
#: Line states that no longer belong to what must be shipped.
INACTIVE_LINE_STATES = frozenset({REFUSED, CANCELED})

MIRAKL_PAIRING = StatusPairing(
    to_internal={
        WAITING_ACCEPTANCE: "awaiting_acceptance",
        SHIPPING: "awaiting_fulfillment",
        SHIPPED: "shipped",
        RECEIVED: "delivered",
        CLOSED: "delivered",
        REFUSED: "rejected",
        CANCELED: "cancelled",
    },
    from_internal={
        "awaiting_acceptance": WAITING_ACCEPTANCE,
        "awaiting_fulfillment": SHIPPING,
        "processing": SHIPPING,
        "partially_shipped": SHIPPING,
        "shipped": SHIPPED,
        "delivered": RECEIVED,
        "rejected": REFUSED,
        "cancelled": CANCELED,
    },
    importable=frozenset(OPEN_STATES),
    actions={
        "accept": frozenset({WAITING_ACCEPTANCE}),
        "tracking": frozenset({SHIPPING}),
        "ship": frozenset({SHIPPING}),
        "cancel": frozenset({WAITING_ACCEPTANCE, SHIPPING}),
    },
)

#: Digits after the decimal point where a currency does not use two (ISO 4217).
CURRENCY_DIGITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

#: ISO 3166-1 alpha-3 → alpha-2. Mirakl sends `country_iso_code` in alpha-3 (e.g. "FRA").
ALPHA3_TO_ALPHA2 = {
    "AUT": "AT", "BEL": "BE", "BGR": "BG", "HRV": "HR", "CYP": "CY", "CZE": "CZ", "DNK": "DK",
    "EST": "EE", "FIN": "FI", "FRA": "FR", "DEU": "DE", "GRC": "GR", "HUN": "HU", "IRL": "IE",
    "ITA": "IT", "LVA": "LV", "LTU": "LT", "LUX": "LU", "MLT": "MT", "NLD": "NL", "POL": "PL",
    "PRT": "PT", "ROU": "RO", "SVK": "SK", "SVN": "SI", "ESP": "ES", "SWE": "SE", "GBR": "GB",
    "CHE": "CH", "NOR": "NO", "ISL": "IS", "LIE": "LI", "MCO": "MC", "AND": "AD", "SMR": "SM",
    "VAT": "VA", "ALB": "AL", "BIH": "BA", "MNE": "ME", "MKD": "MK", "SRB": "RS", "UKR": "UA",
    "MDA": "MD", "TUR": "TR", "USA": "US", "CAN": "CA", "MEX": "MX", "BRA": "BR", "ARG": "AR",
    "AUS": "AU", "NZL": "NZ", "JPN": "JP", "CHN": "CN", "KOR": "KR", "IND": "IN", "SGP": "SG",
    "ZAF": "ZA", "MAR": "MA", "TUN": "TN", "DZA": "DZ", "ISR": "IL", "ARE": "AE", "SAU": "SA",
    "GLP": "GP", "MTQ": "MQ", "GUF": "GF", "REU": "RE", "MYT": "YT", "NCL": "NC", "PYF": "PF",
}  # fmt: skip
ALPHA2_TO_ALPHA3 = {v: k for k, v in ALPHA3_TO_ALPHA2.items()}

#: Line quantities beyond this are not an order a merchant can ship; the payload is not understood.
MAX_QUANTITY = 1_000_000
#: Amounts beyond this (in the currency's major unit) are not understood either.
MAX_AMOUNT = Decimal(1_000_000_000)


class MiraklOrderError(ValueError):
    """A Mirakl order payload that cannot be understood at all; the message says why."""


def minor_units(value: Any, currency: str, what: str) -> int:
    """A Mirakl decimal amount (e.g. 19.9) in the currency's minor unit (1990), exactly."""
    kind = type(value)
    if kind is float or kind is int or (kind is str and len(value) <= _MAX_CACHED_TEXT):
        known = _known_amount(value, currency)
        if known is not None:
            return known
    return _minor_units(value, currency, what)


#: Prices repeat from order to order: each (amount, currency) is converted once. Long texts are not kept.
_MAX_CACHED_TEXT = 40


@functools.lru_cache(maxsize=4096, typed=True)
def _known_amount(value: float | int | str, currency: str) -> int | None:
    try:
        return _minor_units(value, currency, "")
    except MiraklOrderError:
        return None  # not cached as an error: the caller converts again for the message


def _minor_units(value: Any, currency: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MiraklOrderError(f"{what} is not a number ({_show(value)}).")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except (InvalidOperation, ValueError):
        raise MiraklOrderError(f"{what} is not a number ({_show(value)}).") from None
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise MiraklOrderError(f"{what} is not a plausible amount ({_show(value)}).")
    digits = CURRENCY_DIGITS.get(currency, 2)
    if len(amount.as_tuple().digits) > 28:  # beyond the default precision, scaleb would round
        raise MiraklOrderError(f"{what} has too many digits ({_show(value)}).")
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise MiraklOrderError(f"{what} {amount} has more than {digits} decimals, which {currency} does not have.")
    return int(scaled)


def from_minor_units(amount: int, currency: str) -> float:
    """Minor units back to the decimal number Mirakl sends (1990 → 19.9)."""
    return float(Decimal(amount).scaleb(-CURRENCY_DIGITS.get(currency, 2)))


def parse_datetime(value: Any, what: str) -> dt.datetime:
    if not isinstance(value, str) or not value.strip():
        raise MiraklOrderError(f"{what} is missing or not a date ({_show(value)}).")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise MiraklOrderError(f"{what} is not an ISO 8601 date ({_show(value)}).") from None


def format_datetime(value: dt.datetime) -> str:
    """The form Mirakl uses for dates: UTC, ISO 8601, `Z` suffix."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds").replace("+00:00", "Z")


def country_code(address: Mapping[str, Any]) -> str:
    """The ISO alpha-2 country of a Mirakl address (alpha-3 `country_iso_code`, else the label)."""
    code = _text(address.get("country_iso_code"), "country_iso_code").upper()
    if len(code) == 3 and code in ALPHA3_TO_ALPHA2:
        return ALPHA3_TO_ALPHA2[code]
    if code:
        return code  # alpha-2 already, or a code validation will flag as unknown
    return _text(address.get("country"), "country")


def parse_order(data: Any) -> IncomingOrder:
    """One OR11 order → `IncomingOrder`. Raises `MiraklOrderError` if it cannot be understood.

    Bad addresses, missing SKUs or zero quantities are *not* errors here: they become review issues
    when the order is imported. Only payloads without the essentials (id, state, date, currency,
    lines with ids, quantities and prices) are refused.
    """
    if not isinstance(data, Mapping):
        raise MiraklOrderError(f"A Mirakl order must be a JSON object, got {_kind(data)}.")
    order_id = _identifier(data.get("order_id"), "order_id")
    where = f"Order {order_id}"
    state = _text(data.get("order_state"), f"{where}: order_state")
    if not state:
        raise MiraklOrderError(f"{where} has no order_state.")
    placed_at = parse_datetime(data.get("created_date"), f"{where}: created_date")
    updated_raw = data.get("last_updated_date")
    updated_at = parse_datetime(updated_raw, f"{where}: last_updated_date") if updated_raw is not None else placed_at
    currency = _text(data.get("currency_iso_code"), f"{where}: currency_iso_code").upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise MiraklOrderError(f"{where} has no valid currency_iso_code ({_show(data.get('currency_iso_code'))}).")

    raw_lines = data.get("order_lines")
    if not isinstance(raw_lines, list):
        raise MiraklOrderError(f"{where} has no order_lines list.")
    lines: list[IncomingLine] = []
    inactive: list[IncomingLine] = []
    line_shipping = 0
    seen_ids: set[str] = set()
    for index, raw_line in enumerate(raw_lines, 1):
        line, line_state, shipping = _parse_line(raw_line, index, currency, where)
        if line.channel_line_id in seen_ids:
            raise MiraklOrderError(f"{where} lists order line {line.channel_line_id} twice.")
        seen_ids.add(line.channel_line_id)
        line_shipping += shipping
        (inactive if line_state in INACTIVE_LINE_STATES else lines).append(line)
    if not lines:
        # A refused or cancelled order: keep what it contained, for display.
        lines, inactive = inactive, []

    if data.get("shipping_price") is not None:
        shipping_total = minor_units(data["shipping_price"], currency, f"{where}: shipping_price")
    else:
        shipping_total = line_shipping

    customer = _object(data.get("customer"), f"{where}: customer")
    address = _object(customer.get("shipping_address"), f"{where}: customer.shipping_address")
    billing = _object(customer.get("billing_address"), f"{where}: customer.billing_address")
    delivery = IncomingAddress(
        first_name=_text(address.get("firstname"), "firstname"),
        last_name=_text(address.get("lastname"), "lastname"),
        company=_text(address.get("company"), "company"),
        street1=_text(address.get("street_1"), "street_1"),
        street2=_text(address.get("street_2"), "street_2"),
        postcode=_text(address.get("zip_code"), "zip_code"),
        city=_text(address.get("city"), "city"),
        region=_text(address.get("state"), "state"),
        country=country_code(address),
        phone=_text(address.get("phone"), "phone"),
    )
    workflow = _text(data.get("payment_workflow"), "payment_workflow").upper()
    order = IncomingOrder(
        channel_order_id=order_id,
        placed_at=placed_at,
        lines=lines,
        delivery=delivery,
        customer_first_name=_text(customer.get("firstname"), "customer.firstname") or delivery.first_name,
        customer_last_name=_text(customer.get("lastname"), "customer.lastname") or delivery.last_name,
        customer_email=_text(data.get("customer_notification_email"), "customer_notification_email"),
        customer_phone=_text(billing.get("phone"), "billing phone") or delivery.phone,
        currency=currency,
        shipping_total=shipping_total,
        shipping_rate=_text(data.get("shipping_type_label"), "shipping_type_label")
        or _text(data.get("shipping_type_code"), "shipping_type_code"),
        # Paid later against an invoice (B2B terms): the merchant marks it as paid.
        payment_method="on_account" if workflow == "PAY_ON_DUE_DATE" else "card",
        channel_status=state,
        needs_acceptance=state == WAITING_ACCEPTANCE,
        raw=jsontext.dumps(data),
        updated_at=updated_at,
        extra={
            "last_updated_date": updated_at.isoformat(),
            "commercial_id": _text(data.get("commercial_id"), "commercial_id"),
            "payment_type": _text(data.get("payment_type"), "payment_type"),
            "payment_workflow": workflow,
            "address_hidden": not address,
            "inactive_lines": [line.channel_line_id for line in inactive],
        },
    )
    return order


def updated_at_of(order: IncomingOrder) -> dt.datetime:
    """When Mirakl last changed the order (its creation date if it never did)."""
    return dt.datetime.fromisoformat(order.extra["last_updated_date"])


def _parse_line(raw: Any, index: int, currency: str, where: str) -> tuple[IncomingLine, str, int]:
    if not isinstance(raw, Mapping):
        raise MiraklOrderError(f"{where}: order line {index} is not a JSON object ({_kind(raw)}).")
    line_id = _identifier(raw.get("order_line_id"), f"{where}: order line {index} order_line_id")
    what = f"{where}, line {line_id}"
    quantity = _quantity(raw.get("quantity"), f"{what}: quantity")
    if raw.get("price_unit") is not None:
        unit_price = minor_units(raw["price_unit"], currency, f"{what}: price_unit")
    elif raw.get("price") is not None:
        total = minor_units(raw["price"], currency, f"{what}: price")
        if quantity <= 0 or total % quantity:
            raise MiraklOrderError(f"{what} has no price_unit and its price cannot be split over {quantity} items.")
        unit_price = total // quantity
    else:
        raise MiraklOrderError(f"{what} has no price.")
    shipping = 0
    if raw.get("shipping_price") is not None:
        shipping = minor_units(raw["shipping_price"], currency, f"{what}: shipping_price")
    line = IncomingLine(
        position=index,
        sku=_text(raw.get("offer_sku"), f"{what}: offer_sku"),
        title=_text(raw.get("product_title"), f"{what}: product_title"),
        quantity=quantity,
        unit_price=unit_price,
        channel_line_id=line_id,
    )
    return line, _text(raw.get("order_line_state"), f"{what}: order_line_state").upper(), shipping


def _quantity(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise MiraklOrderError(f"{what} is not a whole number ({_show(value)}).")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise MiraklOrderError(f"{what} is not a whole number ({_show(value)}).")
    if abs(value) > MAX_QUANTITY:
        raise MiraklOrderError(f"{what} {_show(value)} is not a plausible quantity.")
    return value


def _identifier(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = _number_text(value, what)
    if not isinstance(value, str) or not value.strip():
        raise MiraklOrderError(f"{what} is missing ({_show(value)}).")
    return value.strip()


def _text(value: Any, what: str) -> str:
    return json_fields.text(value, what, MiraklOrderError)


def _number_text(value: int | float, what: str) -> str:
    return json_fields.number_text(value, what, MiraklOrderError)


def _object(value: Any, what: str) -> Mapping[str, Any]:
    return json_fields.object_of(value, what, MiraklOrderError)


_kind = json_fields.kind
_show = json_fields.show


#: OF02 status reads while an offer import runs, before the push is tried again later.
STOCK_IMPORT_POLLS = 10


def parse_offer_error_report(text: str) -> dict[str, str]:
    """OF03's CSV (the import's lines plus `error-message`): SKU → Mirakl's message."""
    rows = csv.DictReader(io.StringIO(text), delimiter=";")
    return {
        row.get("shop-sku") or row.get("shop_sku") or "": row.get("error-message") or "refused"
        for row in rows
        if row.get("shop-sku") or row.get("shop_sku")
    }


class MiraklConnector(ChannelConnector):
    kind: ClassVar[str] = "mirakl"
    label: ClassVar[str] = "Mirakl"
    carrier_code_name: ClassVar[str] = "carrier code"
    sandbox_name: ClassVar[str] = "mirakl"
    credential_fields: ClassVar[tuple[tuple[str, str], ...]] = (("api_key", "API key"),)
    default_base_url: ClassVar[str] = "https://yourshop.mirakl.net"
    pairing: ClassVar[StatusPairing] = MIRAKL_PAIRING
    page_size: ClassVar[int] = MAX_PAGE_SIZE
    #: Offers per OF24 import.
    stock_batch_size: ClassVar[int] = 1000
    #: Per-request timeout; tests and slow marketplaces may change it on the instance.
    timeout: httpx.Timeout = DEFAULT_TIMEOUT
    #: The last response decoded, and its body.
    _decoded: tuple[httpx.Response, Any] | None = None

    def _headers(self) -> dict[str, str]:
        key = self.credentials.get("api_key", "")
        if not key:
            raise RemoteError("The Mirakl channel has no API key: add it on the channel page.", retryable=False)
        return {"Authorization": key, "Accept": "application/json"}

    async def fetch_orders(
        self, updated_since: dt.datetime | None, *, include_closed: bool = False
    ) -> AsyncIterator[OrderPage]:
        """Open orders (WAITING_ACCEPTANCE, SHIPPING) changed since `updated_since`, page by page.

        With `include_closed`, a second listing yields orders that moved on to SHIPPED, RECEIVED, CLOSED,
        REFUSED or CANCELED, so the engine can follow orders it already knows (e.g. a customer
        cancellation). Such orders carry their `channel_status` and must never be imported as new
        ones (they are not in `pairing.importable`): an unknown CLOSED order is one shipped long ago.
        """
        seen: set[tuple[str, str]] = set()
        async for page in self._pages(OPEN_STATES, updated_since, seen):
            yield page
        if include_closed:
            async for page in self._pages(FOLLOWED_STATES, updated_since, seen):
                yield page

    async def _pages(
        self, states: tuple[str, ...], updated_since: dt.datetime | None, seen: set[tuple[str, str]]
    ) -> AsyncIterator[OrderPage]:
        """One listing, page by page, reading one page ahead: the next page is fetched and parsed
        while the caller stores the one just yielded."""
        params: dict[str, Any] = {"order_state_codes": ",".join(states), "max": self.page_size, "paginate": "true"}
        if updated_since is not None:
            params["start_update_date"] = format_datetime(updated_since)
        offset, previous_total = 0, None
        ahead = asyncio.ensure_future(self._page({**params, "offset": offset}, seen))
        try:
            while True:
                page, count, total = await ahead
                last = False
                if previous_total is not None and total < previous_total:
                    # Orders left the filter since the previous page (e.g. one shipped): those after them
                    # moved back, so this page may have jumped over some. Read again from as far back;
                    # orders read twice are dropped by `seen`. Ends: the total only shrinks so often.
                    offset = max(0, offset - (previous_total - total))
                else:
                    offset += count
                    last = not count or offset >= total
                previous_total = total
                if not last:
                    ahead = asyncio.ensure_future(self._page({**params, "offset": offset}, seen))
                yield page
                if last:
                    return
        finally:
            if not ahead.done():
                ahead.cancel()
            elif not ahead.cancelled():
                ahead.exception()  # a page read ahead and never used: its failure is not an error

    async def _page(self, params: Mapping[str, Any], seen: set[tuple[str, str]]) -> tuple[OrderPage, int, int]:
        """One page of a listing, parsed; with the number of orders it held and the listing's total."""
        body = await self._list(params)
        orders, total = body["orders"], body["total_count"]
        page = OrderPage()
        for data in orders:
            self._add(page, data, seen)
        return page, len(orders), total

    def _add(self, page: OrderPage, data: Any, seen: set[tuple[str, str]]) -> None:
        try:
            order = parse_order(data)
        except MiraklOrderError as exc:
            order_id = data.get("order_id") if isinstance(data, Mapping) else None
            page.rejects.append(
                ParseReject(
                    channel_order_id=str(order_id) if isinstance(order_id, str | int) else "",
                    message=str(exc),
                    raw=jsontext.dumps(data),
                )
            )
            return
        key = (order.channel_order_id, order.extra["last_updated_date"])
        updated = updated_at_of(order)
        if page.max_updated_at is None or updated > page.max_updated_at:
            page.max_updated_at = updated
        if key in seen:
            return
        seen.add(key)
        page.orders.append(order)

    def json(self, response: httpx.Response) -> Any:
        """Decode each body once: `request` already decoded a listing to check it before returning it."""
        decoded = self._decoded
        if decoded is not None and decoded[0] is response:
            return decoded[1]
        body = super().json(response)
        self._decoded = (response, body)
        return body

    async def _list(self, params: Mapping[str, Any]) -> dict[str, Any]:
        response = await self.request(
            "GET", "/api/orders", params=params, headers=self._headers(), timeout=self.timeout
        )
        body = self.json(response)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("orders"), list)
            or isinstance(body.get("total_count"), bool)
            or not isinstance(body.get("total_count"), int)
        ):
            raise RemoteError(
                f"{self.label} sent an order list without “orders” and “total_count”: "
                f"{json.dumps(body, ensure_ascii=False)[:200]}",
                retryable=True,
                status_code=response.status_code,
            )
        return body

    async def fetch_order_state(self, channel_order_id: str) -> str:
        body = await self._list({"order_ids": channel_order_id, "max": 1})
        for data in body["orders"]:
            if isinstance(data, dict) and str(data.get("order_id")) == channel_order_id:
                state = data.get("order_state")
                if isinstance(state, str) and state:
                    return state
                raise RemoteError(f"{self.label} sent order {channel_order_id} without a state.", retryable=True)
        raise RemoteError(f"{self.label} does not know order {channel_order_id}.", retryable=False, status_code=404)

    async def fetch_order(self, channel_order_id: str) -> IncomingOrder:
        body = await self._list({"order_ids": channel_order_id, "max": 1})
        for data in body["orders"]:
            if isinstance(data, dict) and str(data.get("order_id")) == channel_order_id:
                try:
                    return parse_order(data)
                except MiraklOrderError as exc:
                    raise RemoteError(
                        f"{self.label} sent order {channel_order_id} Waybill cannot read: {exc}", retryable=False
                    ) from exc
        raise RemoteError(f"{self.label} does not know order {channel_order_id}.", retryable=False, status_code=404)

    async def accept(self, channel_order_id: str, decisions: list[LineDecision]) -> None:
        if not decisions:
            raise RemoteError("Nothing to send: no line was accepted or refused.", retryable=False)
        missing = [d.sku or "?" for d in decisions if not d.channel_line_id]
        if missing:
            raise RemoteError(
                f"Mirakl needs the order line id of every line; it is missing for {', '.join(missing)}.",
                retryable=False,
            )
        body = {"order_lines": [{"accepted": d.accepted, "id": d.channel_line_id} for d in decisions]}
        await self._put(channel_order_id, "accept", body)

    async def push_tracking(self, channel_order_id: str, tracking: TrackingInfo) -> None:
        body = {
            "carrier_code": tracking.carrier_code,
            "carrier_name": tracking.carrier_name,
            "carrier_url": tracking.tracking_url,
            "tracking_number": tracking.tracking_number,
        }
        body = {key: value for key, value in body.items() if value}
        if not body.get("carrier_code") and not body.get("carrier_name"):
            raise RemoteError("Mirakl needs a carrier code or a carrier name for tracking.", retryable=False)
        await self._put(channel_order_id, "tracking", body)

    async def ship(self, channel_order_id: str) -> None:
        await self._put(channel_order_id, "ship", None)

    async def cancel(self, channel_order_id: str, reason: str) -> None:
        # OR29 takes no reason; the merchant's reason stays in Waybill's audit trail.
        await self._put(channel_order_id, "cancel", None)

    async def push_stock(self, updates: list[StockUpdate]) -> dict[str, str]:
        """OF24 offer import (quantity only), then OF02 until it is complete and OF03 for refused lines."""
        offers = [{"shop_sku": u.sku, "quantity": u.quantity, "update_delete": "update"} for u in updates]
        kwargs: dict[str, Any] = {"headers": self._headers(), "timeout": self.timeout}
        answer = self.json(await self.request("POST", "/api/offers", json={"offers": offers}, **kwargs))
        import_id = answer.get("import_id") if isinstance(answer, dict) else None
        if not isinstance(import_id, int):
            message = f"Mirakl did not give an import id for the offer update: {str(answer)[:200]}"
            raise RemoteError(message, retryable=True)
        for attempt in range(STOCK_IMPORT_POLLS):
            status = self.json(await self.request("GET", f"/api/offers/imports/{import_id}", **kwargs))
            if isinstance(status, dict) and status.get("status") in ("COMPLETE", "FAILED", "REJECTED"):
                break
            await asyncio.sleep(min(0.5 * (attempt + 1), 5.0))
        else:
            message = f"Mirakl offer import {import_id} is still running; the offers are sent again later."
            raise RemoteError(message, retryable=True)
        if status.get("status") != "COMPLETE":
            reason = status.get("reason_status") or status.get("status")
            raise RemoteError(f"Mirakl refused offer import {import_id}: {reason}", retryable=False)
        if not status.get("lines_in_error"):
            return {}
        # OF03 answers CSV, so it is read once, without the JSON check of the shared reads.
        report = await self._request_once("GET", f"/api/offers/imports/{import_id}/error_report", **kwargs)
        return parse_offer_error_report(report.text)

    async def _put(self, channel_order_id: str, action: str, body: Any) -> None:
        path = f"/api/orders/{quote(channel_order_id, safe='')}/{action}"
        kwargs: dict[str, Any] = {"headers": self._headers(), "timeout": self.timeout}
        if body is not None:
            kwargs["json"] = body
        await self.request("PUT", path, **kwargs)
