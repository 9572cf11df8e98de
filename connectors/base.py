"""The base of every connector: an HTTP client with Waybill's error rules, and the two connector classes.

The domain's ports (`models.ports`) say what Waybill needs from a marketplace or a supplier; each
system has one module here implementing `ChannelConnector` or `SupplierConnector` over its real,
documented HTTP API with httpx, and an emulator in `connectors/sandbox/`. A connector class describes
itself (kind, label, credential fields, base URL, status pairing), so the registry only collects
classes. Connectors translate the system's own format to the ports' values and back; they never touch
the database.
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import httpx

from connectors import jsontext
from models.ports import (
    CannotCancel,
    CheckResult,
    IncomingOrder,
    LineDecision,
    OrderPage,
    RemoteError,
    StatusPairing,
    StockUpdate,
    SupplierOrderRequest,
    SupplierOrderState,
    TrackingInfo,
)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
GET_ATTEMPTS = 3
MAX_INLINE_WAIT_S = 5.0


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


class ChannelConnector(ApiClient, abc.ABC):
    """A marketplace API client (`models.ports.ChannelApi`). One instance per channel, sharing one httpx
    client; the class is its kind (`models.ports.ChannelKind`)."""

    kind: ClassVar[str]
    label: ClassVar[str]
    pairing: ClassVar[StatusPairing]
    #: The sandbox mount under /sandbox/<name> used by the demo.
    sandbox_name: ClassVar[str]
    #: The credential fields a channel of this kind needs, as (key, label) pairs, for the channel form.
    credential_fields: ClassVar[tuple[tuple[str, str], ...]]
    #: Credential fields that identify rather than unlock (the form shows them back); all others are secrets.
    visible_credentials: ClassVar[frozenset[str]] = frozenset()
    #: The production API's base URL, as the form's example.
    default_base_url: ClassVar[str]

    @classmethod
    def credential_problem(cls, key: str, value: str) -> str:
        """Why `value` cannot be credential `key` of this kind, or ""; by default any non-empty value can."""
        return ""

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


class SupplierConnector(ApiClient, abc.ABC):
    """A supplier or warehouse API client (`models.ports.SupplierApi`), one instance per supplier; the
    class is its kind (`models.ports.SupplierKind`)."""

    kind: ClassVar[str]
    label: ClassVar[str]
    sandbox_name: ClassVar[str]
    #: The credential fields this kind reads, as (key, label) pairs, for the supplier form.
    credential_fields: ClassVar[tuple[tuple[str, str], ...]]
    #: Credential fields that identify rather than unlock (the form shows them back); all others are secrets.
    visible_credentials: ClassVar[frozenset[str]] = frozenset()
    #: The production API's base URL, as the form's example.
    default_base_url: ClassVar[str]

    @classmethod
    def credential_problem(cls, key: str, value: str) -> str:
        """Why `value` cannot be credential `key` of this kind, or ""; by default any non-empty value can."""
        return ""

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
