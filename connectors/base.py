"""The connector protocol: what Waybill needs from any marketplace (channel) API.

Each marketplace has one module in `connectors/` implementing `ChannelConnector` over its real,
documented HTTP API with httpx, and an emulator in `connectors/sandbox/`. Connectors translate
the marketplace's own format to `IncomingOrder` and back; they never touch the database.
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from connectors import jsontext
from models.incoming import IncomingOrder

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
GET_ATTEMPTS = 3
MAX_INLINE_WAIT_S = 5.0


class RemoteError(Exception):
    """A failed exchange. `message` is the remote system's own words where it gave any."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after = retry_after
        #: The request may have been applied remotely (timeout after sending): check before resending.
        self.ambiguous = ambiguous


@dataclass
class ParseReject:
    """An order the connector could not understand at all; becomes a connection issue."""

    channel_order_id: str
    message: str
    raw: str


@dataclass
class OrderPage:
    orders: list[IncomingOrder] = field(default_factory=list)
    rejects: list[ParseReject] = field(default_factory=list)
    #: Highest update time seen on this page, used to move the import cursor forward.
    max_updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class LineDecision:
    channel_line_id: str
    sku: str
    accepted: bool
    quantity: int = 0
    reason: str = ""


@dataclass(frozen=True)
class TrackingInfo:
    #: The carrier's code on this channel as the merchant set it (empty: the channel gets the name).
    carrier_code: str
    carrier_name: str
    tracking_number: str
    tracking_url: str = ""
    #: channel line id → quantity in this parcel
    lines: Mapping[str, int] = field(default_factory=dict)
    skus: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusPairing:
    """How a channel's own order states map to Waybill's lifecycle, and what it accepts when.

    `to_internal`: channel state → our status. `from_internal`: our status → the channel state we
    expect after our change reaches it. `importable`: channel states imported as new orders.
    `actions`: outbox action → channel states in which the channel accepts it.
    """

    to_internal: Mapping[str, str]
    from_internal: Mapping[str, str]
    importable: frozenset[str]
    actions: Mapping[str, frozenset[str]]
    #: Words for channels whose states are codes (Back Market's 1, 3, 9…), shown beside the code.
    state_names: Mapping[str, str] = field(default_factory=dict)

    def describe(self, channel_state: str) -> str:
        """The channel's state as a merchant reads it, e.g. `3 (pending shipment)`."""
        name = self.state_names.get(channel_state)
        return f"{channel_state} ({name})" if name else channel_state

    def allows(self, action: str, channel_state: str) -> bool:
        states = self.actions.get(action)
        return states is not None and (not channel_state or channel_state in states)

    def refusal(self, action: str, channel_state: str) -> str:
        states = self.actions.get(action)
        if states is None:
            return f"This channel has no “{action}” step."
        allowed = ", ".join(sorted(states))
        return f"The channel refuses “{action}” while the order is {channel_state}; it needs {allowed}."


class ApiClient:
    """An HTTP API client: base URL, credentials, a shared httpx client, and error translation."""

    label: ClassVar[str]

    def __init__(self, base_url: str, credentials: Mapping[str, str], client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = dict(credentials)
        self.client = client

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; turn transport failures and error statuses into `RemoteError`.

        Reads (GET) are retried a few times on passing failures, since repeating them is harmless;
        changes are never repeated here: the outbox decides, after checking the remote state.
        """
        attempts = GET_ATTEMPTS if method.upper() == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._request_once(method, path, **kwargs)
                if attempts > 1 and response.content:
                    self.json(response)  # a malformed read is retried like any passing failure
                return response
            except RemoteError as exc:
                if not exc.retryable or attempt == attempts:
                    raise
                delay = min(exc.retry_after if exc.retry_after is not None else 0.2 * attempt, MAX_INLINE_WAIT_S)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange; a timeout or a broken connection becomes a retryable `RemoteError`
        (ambiguous when the request may have reached the other side)."""
        url = f"{self.base_url}{path}"
        try:
            return await self.client.request(method, url, timeout=kwargs.pop("timeout", DEFAULT_TIMEOUT), **kwargs)
        except httpx.TimeoutException as exc:
            sent = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise RemoteError(
                f"{self.label} did not answer in time ({type(exc).__name__}).", retryable=True, ambiguous=sent
            ) from exc
        except httpx.TransportError as exc:
            raise RemoteError(f"Could not reach {self.label}: {exc}", retryable=True) from exc

    async def _request_once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._exchange(method, path, **kwargs)
        if response.status_code == 429:
            raise RemoteError(
                f"{self.label} is rate limiting requests (429).",
                retryable=True,
                status_code=429,
                retry_after=retry_after(response),
            )
        if response.status_code >= 500:
            raise RemoteError(
                f"{self.label} failed ({response.status_code}): {error_text(response)}",
                retryable=True,
                status_code=response.status_code,
            )
        if response.status_code >= 400:
            raise RemoteError(error_text(response), retryable=False, status_code=response.status_code)
        return response

    def json(self, response: httpx.Response) -> Any:
        """Decode a JSON body; a malformed one is a retryable failure with a clear message."""
        try:
            return jsontext.loads(response.content)
        except jsontext.DecodeError as exc:
            raise RemoteError(
                f"{self.label} sent a malformed response (not JSON): {response.text[:200]!r}",
                retryable=True,
                status_code=response.status_code,
            ) from exc


@dataclass(frozen=True)
class StockUpdate:
    """The quantity to offer for one of the merchant's SKUs on a channel."""

    sku: str
    quantity: int


class ChannelConnector(ApiClient, abc.ABC):
    """A marketplace API client. One instance per channel, sharing one httpx client."""

    kind: ClassVar[str]
    label: ClassVar[str]
    pairing: ClassVar[StatusPairing]
    #: The sandbox mount under /sandbox/<name> used by the demo.
    sandbox_name: ClassVar[str]
    #: What this marketplace calls a carrier's code in tracking (`TrackingInfo.carrier_code`); empty when it
    #: takes none, so the carrier list asks for no code on its channels.
    carrier_code_name: ClassVar[str] = ""
    #: How the channel takes acceptance decisions: False sends every line's decision in one call once
    #: no line is pending (Mirakl OR21 wants all lines at once); True sends each line as it is decided.
    decides_each_line: ClassVar[bool] = False
    #: The channel can refuse some lines of an order and accept the others.
    refuses_single_lines: ClassVar[bool] = True
    #: Offers sent in one stock push (one outbox message): the most one API call takes, or for APIs
    #: updating one offer per call, a batch retried together (setting a quantity twice is harmless).
    stock_batch_size: ClassVar[int] = 100

    @abc.abstractmethod
    def fetch_orders(self, updated_since: dt.datetime | None) -> AsyncIterator[OrderPage]:
        """Yield pages of orders changed since `updated_since` that the channel reports as open."""

    @abc.abstractmethod
    async def fetch_order_state(self, channel_order_id: str) -> str:
        """The channel's current state of one order (used to confirm after ambiguous failures)."""

    async def fetch_order(self, channel_order_id: str) -> IncomingOrder:
        """One order as the channel has it now, whatever its state (the reconciliation's Resync)."""
        raise RemoteError(f"{self.label} cannot read a single order.", retryable=False)

    @abc.abstractmethod
    async def accept(self, channel_order_id: str, decisions: list[LineDecision]) -> None:
        """Send accept/refuse decisions for the order's lines."""

    @abc.abstractmethod
    async def push_tracking(self, channel_order_id: str, tracking: TrackingInfo) -> None: ...

    @abc.abstractmethod
    async def ship(self, channel_order_id: str) -> None: ...

    @abc.abstractmethod
    async def cancel(self, channel_order_id: str, reason: str) -> None: ...

    async def mark_delivered(self, channel_order_id: str, delivered_at: dt.datetime) -> None:
        raise RemoteError(f"{self.label} has no delivered step; the customer confirms receipt.", retryable=False)

    async def mark_returned(self, channel_order_id: str) -> None:
        raise RemoteError(f"{self.label} has no returned step.", retryable=False)

    async def push_stock(self, updates: list[StockUpdate]) -> dict[str, str]:
        """Set the offered quantity of each SKU. Returns SKU → the channel's message for the SKUs it
        does not know (no offer to update); raises `RemoteError` when the push as a whole failed."""
        raise RemoteError(f"Waybill cannot update stock on {self.label}.", retryable=False)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a `Retry-After` header in seconds, or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_text(response: httpx.Response) -> str:
    """The remote system's own error message, from the usual JSON shapes or the raw body."""
    try:
        body = jsontext.loads(response.content)
    except jsontext.DecodeError:
        return response.text[:500] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        result = body.get("result")
        if isinstance(result, dict) and isinstance(result.get("message"), str) and result["message"]:
            return result["message"]  # MALL: {"result": {"code", "status", "message"}}
        for key in ("message", "error_description", "detail", "error", "errors", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:
                return "; ".join(str(v.get("message", v)) if isinstance(v, dict) else str(v) for v in value)
            if isinstance(value, dict) and value.get("message"):
                return str(value["message"])
    return json.dumps(body, ensure_ascii=False)[:500]


# --------------------------------------------------------------------------- suppliers


@dataclass(frozen=True)
class SupplierAddress:
    first_name: str
    last_name: str
    street1: str
    postcode: str
    city: str
    country: str
    company: str = ""
    street2: str = ""
    region: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class SupplierLine:
    """One line of a supplier order, in the supplier's own SKU."""

    sku: str
    quantity: int
    #: Our order line id, so tracking per line can be mapped back.
    order_line_id: int = 0


@dataclass(frozen=True)
class SupplierOrderRequest:
    """The part of a customer order sent to one supplier. `internal_reference` is our idempotency key."""

    internal_reference: str
    address: SupplierAddress
    lines: tuple[SupplierLine, ...]
    #: The supplier's carrier or shipping method code, from the channel's shipping mapping.
    shipping_method: str = ""
    currency: str = "EUR"


@dataclass(frozen=True)
class SupplierProblem:
    """Why a supplier refuses an order: a stable review code and the supplier's own message."""

    code: str
    message: str
    sku: str = ""


@dataclass
class CheckResult:
    problems: list[SupplierProblem] = field(default_factory=list)
    #: What the supplier will charge, in minor units, when it says.
    total_cost: int | None = None
    currency: str = "EUR"

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class SupplierTracking:
    carrier: str
    tracking_number: str
    tracking_url: str = ""
    #: supplier SKU → quantity in this parcel (empty: the whole order)
    skus: Mapping[str, int] = field(default_factory=dict)


@dataclass
class SupplierOrderState:
    """The supplier's view of one order. `status` is one of SUPPLIER_STATUSES."""

    supplier_order_id: str
    internal_reference: str
    status: str
    message: str = ""
    trackings: list[SupplierTracking] = field(default_factory=list)


#: Supplier order statuses as Waybill shows them in the order history.
SUPPLIER_STATUSES = ("pending", "processed", "on_hold", "shipped", "cancelled", "failed", "error")


class SupplierRefused(RemoteError):
    """The supplier refused the order for a business reason (never retried as is)."""

    def __init__(self, problems: list[SupplierProblem], status_code: int | None = None) -> None:
        super().__init__("; ".join(p.message for p in problems), retryable=False, status_code=status_code)
        self.problems = problems


class CannotCancel(RemoteError):
    """The supplier's API has no way to cancel an order: the merchant cancels it on the supplier's site."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class AlreadyExists(RemoteError):
    """The supplier already has an order with this reference (e.g. BigBuy ER008, ShipBob 422)."""

    def __init__(self, message: str, supplier_order_id: str = "") -> None:
        super().__init__(message, retryable=False)
        self.supplier_order_id = supplier_order_id


class SupplierConnector(ApiClient, abc.ABC):
    """A supplier or warehouse API client, one instance per supplier."""

    kind: ClassVar[str]
    label: ClassVar[str]
    sandbox_name: ClassVar[str]
    #: The supplier works prepaid: orders are paid from a wallet that must cover them.
    prepaid: ClassVar[bool] = False

    @abc.abstractmethod
    async def check(self, order: SupplierOrderRequest) -> CheckResult:
        """Preflight: would the supplier take this order, and for how much? Changes nothing."""

    @abc.abstractmethod
    async def create(self, order: SupplierOrderRequest) -> str:
        """Create the order; returns the supplier's order id. Raises `AlreadyExists` or `SupplierRefused`."""

    @abc.abstractmethod
    async def find_by_reference(self, internal_reference: str) -> SupplierOrderState | None:
        """Look an order up by our reference (after a crash or timeout, before creating again)."""

    @abc.abstractmethod
    async def fetch_state(self, supplier_order_id: str) -> SupplierOrderState:
        """Status, messages and tracking of one supplier order."""

    async def stock(self) -> dict[str, int]:
        """Quantity the supplier can ship now, per supplier SKU (its whole catalog)."""
        raise RemoteError(f"Waybill cannot read stock from {self.label}.", retryable=False)

    async def wallet(self) -> tuple[int, str] | None:
        """Prepaid balance in minor units and its currency, or None where there is no wallet."""
        return None

    async def cancel(self, supplier_order_id: str) -> None:
        """Cancel an order the supplier has not shipped. Suppliers whose API cannot cancel raise
        `CannotCancel` with what the merchant does instead."""
        raise CannotCancel(
            f"{self.label}'s API cannot cancel orders: cancel order {supplier_order_id} in your {self.label} account."
        )
