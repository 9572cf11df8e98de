"""The ports: what the domain needs from a marketplace (channel) or a supplier, and the values that cross.

The domain speaks only of these; `connectors/` implements them over each system's real HTTP API, and
the application layer (`web/`, `jobs/`) picks a connector for a channel or supplier row and hands it
in. Nothing here knows HTTP: a remote failure is a `RemoteError`, whatever the transport said.

Connector *kinds* (Mirakl, BigBuy…) describe themselves through `ChannelKind` and `SupplierKind`; the
application installs the directory of known kinds once (`install_directory`), and the domain reads it
with `directory()` where a rule depends on the kind (how a channel takes acceptance decisions, which
steps it has, which credential fields a supplier needs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

# --------------------------------------------------------------------------- orders as a channel delivers them


@dataclass
class IncomingAddress:
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street1: str = ""
    street2: str = ""
    postcode: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    phone: str = ""


@dataclass
class IncomingLine:
    position: int
    sku: str
    title: str
    quantity: int
    unit_price: int
    channel_line_id: str = ""


@dataclass
class IncomingOrder:
    channel_order_id: str
    placed_at: dt.datetime
    lines: list[IncomingLine]
    delivery: IncomingAddress
    customer_first_name: str = ""
    customer_last_name: str = ""
    customer_email: str = ""
    customer_phone: str = ""
    currency: str = "EUR"
    shipping_total: int = 0
    shipping_rate: str = ""
    payment_method: str = "card"
    channel_status: str = ""
    #: The channel still expects the merchant to accept or reject the order.
    needs_acceptance: bool = True
    raw: str = ""
    extra: dict = field(default_factory=dict)
    #: When the channel last changed the order, where its API says so (None: it does not). The
    #: reconciliation compares it with the import cursor: an order changed after the last poll is not
    #: lost, merely not imported yet.
    updated_at: dt.datetime | None = None

    @property
    def total(self) -> int:
        return sum(line.unit_price * max(line.quantity, 0) for line in self.lines) + self.shipping_total


#: Fields the channel must get back exactly as it sent them: never altered (an order with NUL in one is refused).
IDENTIFIER_FIELDS = frozenset({"channel_order_id", "channel_status", "sku", "channel_line_id", "currency"})


def drop_nul(value: object) -> None:
    """Remove NUL characters from the text fields of an incoming order, its address and lines, in place.

    Marketplaces do send them; PostgreSQL cannot store them in text, and they mean nothing to a person.
    Every imported order goes through here and nearly none holds a NUL, so the field names are looked
    up once per class and a text field costs one `in` test."""
    for name in _checked_fields(type(value)):
        current = getattr(value, name)
        if isinstance(current, str):
            if "\x00" in current:
                setattr(value, name, current.replace("\x00", ""))
        elif isinstance(current, list):
            for element in current:
                if dataclasses.is_dataclass(element):
                    drop_nul(element)
        elif dataclasses.is_dataclass(current):
            drop_nul(current)


#: Control characters other than NUL (which is refused in identifiers): line breaks, tabs, escapes, C1 codes and
#: the Unicode line separators. In an identifier they can only be an error or an attack (a CR/LF in an order id
#: would break every e-mail header it goes into).
CONTROL_CHARACTERS = re.compile("[\x01-\x1f\x7f-\x9f\u2028\u2029]")


def clean_identifiers(order: IncomingOrder) -> None:
    """Remove control characters from the order's and its lines' identifiers, in place (the raw payload keeps
    what the channel sent). The same id always cleans the same way, so a later import finds the order."""
    order.channel_order_id = CONTROL_CHARACTERS.sub("", order.channel_order_id)
    order.channel_status = CONTROL_CHARACTERS.sub("", order.channel_status)
    for line in order.lines:
        line.sku = CONTROL_CHARACTERS.sub("", line.sku)
        line.channel_line_id = CONTROL_CHARACTERS.sub("", line.channel_line_id)


@functools.cache
def _checked_fields(cls: type) -> tuple[str, ...]:
    """The fields of dataclass `cls` that `drop_nul` looks at: all but the identifiers."""
    return tuple(item.name for item in dataclasses.fields(cls) if item.name not in IDENTIFIER_FIELDS)


# --------------------------------------------------------------------------- remote failures


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


# --------------------------------------------------------------------------- channels


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


@dataclass(frozen=True)
class StockUpdate:
    """The quantity to offer for one of the merchant's SKUs on a channel."""

    sku: str
    quantity: int


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


# --------------------------------------------------------------------------- the connectors themselves


class ChannelApi(Protocol):
    """One marketplace account's API, as the domain calls it (see `connectors.base.ChannelConnector`)."""

    label: str
    pairing: StatusPairing

    def fetch_orders(self, updated_since: dt.datetime | None) -> AsyncIterator[OrderPage]: ...

    async def fetch_order_state(self, channel_order_id: str) -> str: ...

    async def fetch_order(self, channel_order_id: str) -> IncomingOrder: ...

    async def accept(self, channel_order_id: str, decisions: list[LineDecision]) -> None: ...

    async def push_tracking(self, channel_order_id: str, tracking: TrackingInfo) -> None: ...

    async def ship(self, channel_order_id: str) -> None: ...

    async def cancel(self, channel_order_id: str, reason: str) -> None: ...

    async def mark_delivered(self, channel_order_id: str, delivered_at: dt.datetime) -> None: ...

    async def mark_returned(self, channel_order_id: str) -> None: ...

    async def push_stock(self, updates: list[StockUpdate]) -> dict[str, str]: ...


class SupplierApi(Protocol):
    """One supplier account's API, as the domain calls it (see `connectors.base.SupplierConnector`)."""

    label: str

    async def check(self, order: SupplierOrderRequest) -> CheckResult: ...

    async def create(self, order: SupplierOrderRequest) -> str: ...

    async def find_by_reference(self, internal_reference: str) -> SupplierOrderState | None: ...

    async def fetch_state(self, supplier_order_id: str) -> SupplierOrderState: ...

    async def stock(self) -> dict[str, int]: ...

    async def wallet(self) -> tuple[int, str] | None: ...

    async def cancel(self, supplier_order_id: str) -> None: ...


class ConnectorKind(Protocol):
    """What a kind of connector says of itself, read before any account is connected."""

    kind: str
    label: str
    #: The credential fields an account of this kind needs, as (key, label) pairs, for its form.
    credential_fields: tuple[tuple[str, str], ...]
    #: Credential fields that identify rather than unlock (a form shows them back); the others are secrets.
    visible_credentials: frozenset[str]
    #: The production API's base URL.
    default_base_url: str
    #: The sandbox mount under /sandbox/<name> used by the demo.
    sandbox_name: str

    def credential_problem(self, key: str, value: str) -> str:
        """Why `value` cannot be this kind's credential `key` (typed in a form), or "" when it can be."""
        ...


class ChannelKind(ConnectorKind, Protocol):
    pairing: StatusPairing
    #: What the marketplace calls a carrier's code in tracking; empty when it takes none.
    carrier_code_name: str
    #: Each line's decision goes out as soon as it is made, instead of all lines at once.
    decides_each_line: bool
    #: Some lines may be refused while others are accepted.
    refuses_single_lines: bool
    #: Offers sent in one stock push.
    stock_batch_size: int


class SupplierKind(ConnectorKind, Protocol):
    #: Orders are paid from a prepaid wallet that must cover them.
    prepaid: bool


class Directory(Protocol):
    """The connector kinds this installation knows, by kind name."""

    def channel_kinds(self) -> Mapping[str, ChannelKind]: ...

    def supplier_kinds(self) -> Mapping[str, SupplierKind]: ...


_installed: Directory | None = None


def install_directory(known: Directory) -> None:
    """Called once by the application at start; the domain then reads the kinds through `directory()`."""
    global _installed
    _installed = known


def directory() -> Directory:
    if _installed is None:
        raise RuntimeError("No connector directory is installed: the application installs one when it starts.")
    return _installed
