"""Piccolo tables: the persistent shape of Waybill's domain.

Money is stored in minor units (cents) beside an ISO currency code so sums are exact.
Timestamps are timezone-aware UTC; the merchant's time zone is applied only on display.
Composite unique indexes, search indexes and the status-count triggers live in a raw migration
(`models/db/migrations/…_indexes_and_counters.py`) because SQLite cannot add constraints later.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class User(Table, tablename="app_user"):
    username = Varchar(length=80, unique=True)
    email = Varchar(length=254, default="")
    role = Varchar(length=16, default="viewer")
    password_hash = Varchar(length=255)
    active = Boolean(default=True)
    notify_new_orders = Boolean(default=True)
    created_at = Timestamptz()


class ApiToken(Table, tablename="api_token"):
    """Per-user bearer token; only a SHA-256 digest is stored, the token is shown once."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade)
    name = Varchar(length=100)
    prefix = Varchar(length=16)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class LoginAttempt(Table, tablename="login_attempt"):
    """Every log-in attempt, reserved before its password is checked, so throttling holds across concurrent
    requests and instances; kept as the record (a success does not wipe the failures before it)."""

    #: The username as typed, lower-cased (usernames are unique without regard to case).
    username = Varchar(length=80, index=True)
    ip = Varchar(length=64, index=True)
    at = Timestamptz(index=True)
    #: pending (reserved, being checked), failed, succeeded, refused (throttled, not checked) or busy.
    outcome = Varchar(length=16, default="pending")


class LoginGate(Table, tablename="login_gate"):
    """One row per username and per address: reserving an attempt locks it, so concurrent attempts for the
    same name or address are counted one after the other."""

    gate = Varchar(length=160, unique=True)
    touched_at = Timestamptz()


class UserSession(Table, tablename="user_session"):
    """A logged-in browser. The cookie holds a random id whose digest is stored here; ending the row ends
    the session wherever the cookie was copied to."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    #: logout, logout_everywhere, expired, password_changed, role_changed, deactivated, password_reset,
    #: second_factor_on, second_factor_reset
    ended_reason = Varchar(length=32, default="")
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=200, default="")


class UserTotp(Table, tablename="user_totp"):
    """A user's second factor (TOTP). The secret is encrypted like channel credentials; until `confirmed_at` it
    is an enrolment waiting for its first code. `last_step` is the last time step accepted: no code passes twice."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True)
    secret = Text(default="")
    created_at = Timestamptz()
    confirmed_at = Timestamptz(null=True, default=None)
    last_step = BigInt(default=0)


class RecoveryCode(Table, tablename="recovery_code"):
    """One-time codes for a log-in without the authenticator app; only their SHA-256 digest is stored."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    code_hash = Varchar(length=64)
    used_at = Timestamptz(null=True, default=None)


class LoginChallenge(Table, tablename="login_challenge"):
    """A log-in whose password was right, waiting a few minutes for its second factor. The cookie holds a
    random id whose digest is stored here; no session exists until the code is accepted."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    next_path = Varchar(length=1000, default="/orders")
    ip = Varchar(length=64, default="")


class Setting(Table, tablename="app_setting"):
    key = Varchar(length=64, unique=True)
    value = Text(default="")


class Channel(Table, tablename="channel"):
    name = Varchar(length=100, unique=True)
    kind = Varchar(length=32)
    base_url = Varchar(length=500, default="")
    credentials = Text(default="")
    currency = Varchar(length=3, default="EUR")
    poll_interval_s = Integer(default=300)
    auto_accept = Boolean(default=False)
    #: Auto-accept rule (models.orders.auto_accept): hold an order whose SKU the catalog does not know …
    hold_unknown_sku = Boolean(default=False)
    #: … or with a line priced more than this many percent below its catalog cost (None: no price check).
    hold_below_cost_pct = Integer(null=True, default=None)
    auto_process = Boolean(default=False)
    #: Days from acceptance within which an order should ship; a later shipment counts as late.
    handling_days = Integer(default=2)
    active = Boolean(default=True)
    last_import_at = Timestamptz(null=True, default=None)
    last_import_result = Text(default="")
    last_import_ok = Boolean(default=True)
    #: Highest channel update time imported so far; the next poll starts a little before it.
    import_cursor = Timestamptz(null=True, default=None)
    import_lease_owner = Varchar(length=100, default="")
    import_lease_until = Timestamptz(null=True, default=None)
    #: Stock sync (models.stock.sync): offer quantities are pushed to this channel …
    stock_sync = Boolean(default=False)
    #: … keeping this many units back (a safety buffer) …
    stock_buffer = Integer(default=0)
    #: … and offering at most this many (None: no cap).
    stock_cap = Integer(null=True, default=None)
    created_at = Timestamptz()
    #: Raised by every save; a form sends back the one it was rendered with (`models.core.versions`).
    version = Integer(default=1)


class Supplier(Table, tablename="supplier"):
    name = Varchar(length=100, unique=True)
    kind = Varchar(length=32)
    base_url = Varchar(length=500, default="")
    credentials = Text(default="")
    prepaid = Boolean(default=False)
    wallet_balance = BigInt(null=True, default=None)
    wallet_currency = Varchar(length=3, default="EUR")
    wallet_updated_at = Timestamptz(null=True, default=None)
    #: Below this prepaid balance (minor units) the supplier cannot take orders: its stock counts as 0.
    stock_min_wallet = BigInt(null=True, default=None)
    #: When its stock API was last read successfully.
    stock_read_at = Timestamptz(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()
    #: Raised by every save; a form sends back the one it was rendered with (`models.core.versions`).
    version = Integer(default=1)


class Carrier(Table, tablename="carrier"):
    """A carrier from the list the operator maintains on the Settings page."""

    name = Varchar(length=100, unique=True)
    #: A generic code from before per-channel codes; not edited any more, still matched against the carrier
    #: names suppliers report. What a channel receives is in `channel_codes`.
    code = Varchar(length=50, default="")
    #: The carrier's code on each channel as JSON `{"<channel id>": "<code>"}` (Mirakl carrier code,
    #: Back Market shipper, MALL carrier id); a channel without one gets the carrier's name.
    channel_codes = Text(default="{}")
    #: Link to the carrier's tracking page, `{tracking}` standing for the tracking number.
    tracking_url_pattern = Varchar(length=500, default="")
    #: A regular expression a tracking number of this carrier matches in full; empty: not checked.
    tracking_number_pattern = Varchar(length=200, default="")
    active = Boolean(default=True)
    #: Raised by every save; a form sends back the one it was rendered with (`models.core.versions`).
    version = Integer(default=1)


class Order(Table, tablename="orders"):
    channel = ForeignKey(references=Channel, on_delete=OnDelete.restrict)
    channel_order_id = Varchar(length=100)
    status = Varchar(length=32)  # indexed with placed_at (m0002)
    version = Integer(default=1)
    channel_status = Varchar(length=64, default="")
    channel_status_confirmed_at = Timestamptz(null=True, default=None)
    payment_method = Varchar(length=32, default="card")
    payment_status = Varchar(length=16, default="paid")
    currency = Varchar(length=3, default="EUR")
    total = BigInt(default=0)
    shipping_total = BigInt(default=0)
    shipping_rate = Varchar(length=200, default="")
    customer_first_name = Varchar(length=200, default="")
    customer_last_name = Varchar(length=200, default="")
    customer_email = Varchar(length=254, default="")
    customer_phone = Varchar(length=64, default="")
    ship_first_name = Varchar(length=200, default="")
    ship_last_name = Varchar(length=200, default="")
    ship_company = Varchar(length=200, default="")
    ship_street1 = Varchar(length=300, default="")
    ship_street2 = Varchar(length=300, default="")
    ship_postcode = Varchar(length=32, default="")
    ship_city = Varchar(length=200, default="")
    ship_region = Varchar(length=200, default="")
    ship_country = Varchar(length=2, default="")
    ship_phone = Varchar(length=64, default="")
    address_edited = Boolean(default=False)
    placed_at = Timestamptz()
    imported_at = Timestamptz()
    updated_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    shipped_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class OrderLine(Table, tablename="order_line"):
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade)
    position = Integer(default=1)
    channel_line_id = Varchar(length=100, default="")
    sku = Varchar(length=100, index=True)
    title = Varchar(length=500, default="")
    quantity = Integer(default=1)
    unit_price = BigInt(default=0)
    status = Varchar(length=16, default="pending")
    rejection_reason = Varchar(length=300, default="")


class SupplierOrder(Table, tablename="supplier_order"):
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade)
    supplier = ForeignKey(references=Supplier, on_delete=OnDelete.restrict)
    internal_reference = Varchar(length=100, unique=True)
    supplier_order_id = Varchar(length=100, default="")
    #: The supplier's own reference as the merchant gave it (Order sent manually); the id is looked up.
    supplier_reference = Varchar(length=100, default="")
    status = Varchar(length=16, default="pending")
    sent_manually = Boolean(default=False)
    shipping_method = Varchar(length=200, default="")
    last_message = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SupplierOrderLine(Table, tablename="supplier_order_line"):
    """Which order line (and how much of it) a supplier order carries, in the supplier's SKU."""

    supplier_order = ForeignKey(references=SupplierOrder, on_delete=OnDelete.cascade, index=True)
    order_line = ForeignKey(references=OrderLine, on_delete=OnDelete.cascade, index=True)
    supplier_sku = Varchar(length=100)
    quantity = Integer()


class CatalogItem(Table, tablename="catalog_item"):
    """Channel SKU → the supplier that ships it, under the supplier's own SKU, at a cost."""

    channel_sku = Varchar(length=100, index=True)
    supplier = ForeignKey(references=Supplier, on_delete=OnDelete.cascade)
    supplier_sku = Varchar(length=100)
    cost = BigInt(null=True, default=None)
    currency = Varchar(length=3, default="EUR")
    #: Lower is preferred when several suppliers carry the SKU.
    priority = Integer(default=100)
    active = Boolean(default=True)
    updated_at = Timestamptz()


class SupplierStock(Table, tablename="supplier_stock"):
    """How many units of one of its SKUs a supplier can ship, as its stock API last said."""

    supplier = ForeignKey(references=Supplier, on_delete=OnDelete.cascade)
    supplier_sku = Varchar(length=100)  # unique with supplier (m0016)
    quantity = Integer(default=0)
    #: When the supplier's stock of this SKU last changed (the supplier's `stock_read_at` says when it was read).
    changed_at = Timestamptz()


class ChannelOffer(Table, tablename="channel_offer"):
    """The quantity of one SKU Waybill offers on one channel, and what the channel last confirmed.

    `state`: `queued` (an outbox message will send `quantity`), `ok` (the channel has it), `failing`
    (the push gave up; sent again when the quantity changes or on *Push now*), `unknown` (the channel
    has no offer for this SKU; not sent again until the quantity changes, on *Push now* or on Retry of
    the channel's unknown-SKU issue).
    """

    channel = ForeignKey(references=Channel, on_delete=OnDelete.cascade)
    sku = Varchar(length=100)  # unique with channel (m0016)
    quantity = Integer(default=0)
    sent_quantity = Integer(null=True, default=None)
    state = Varchar(length=16, default="queued")
    #: The channel's last word on this offer when it failed, else empty.
    message = Text(default="")
    changed_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)


class StockEvent(Table, tablename="stock_event"):
    """One line of a SKU's stock history: availability changed, a push went out or failed."""

    sku = Varchar(length=100)  # indexed with at (m0016)
    channel = Integer(null=True, default=None)
    at = Timestamptz()
    kind = Varchar(length=32)
    message = Text(default="")


class ShippingMapping(Table, tablename="shipping_mapping"):
    """A channel's shipping rate name (e.g. *Free shipping*) → a supplier's carrier or method."""

    channel = ForeignKey(references=Channel, on_delete=OnDelete.cascade)
    channel_rate = Varchar(length=200)
    supplier = ForeignKey(references=Supplier, on_delete=OnDelete.cascade)
    method = Varchar(length=200)


class CatalogUpload(Table, tablename="catalog_upload"):
    """A catalog CSV uploaded on a supplier page, imported a chunk of rows per request."""

    supplier = ForeignKey(references=Supplier, on_delete=OnDelete.cascade, index=True)
    filename = Varchar(length=255, default="")
    uploaded_by = Varchar(length=100, default="")
    #: The header's column names (lower-cased) as a JSON list, and the delimiter the file uses.
    columns = Text(default="[]")
    delimiter = Varchar(length=1, default=",")
    total_rows = Integer(default=0)
    rows_done = Integer(default=0)
    created = Integer(default=0)
    updated = Integer(default=0)
    error_rows = Integer(default=0)
    #: The first row errors as JSON `[[line, message], …]`; `error_rows` counts them all.
    errors = Text(default="[]")
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class CatalogUploadPart(Table, tablename="catalog_upload_part"):
    """Rows of an upload not imported yet, as JSON `[[line, [cell, …]], …]`; deleted once imported."""

    upload = ForeignKey(references=CatalogUpload, on_delete=OnDelete.cascade)  # unique with first_row (m0008)
    first_row = Integer()
    rows = Text(default="[]")


class ResubmitRun(Table, tablename="resubmit_run"):
    """*Resubmit all* on a supplier page: the orders it takes, worked through a few per request."""

    supplier = ForeignKey(references=Supplier, on_delete=OnDelete.cascade, index=True)
    started_by = Varchar(length=100, default="")
    #: The order ids, as a JSON list, fixed when the run starts; `position` of them are done.
    order_ids = Text(default="[]")
    total = Integer(default=0)
    position = Integer(default=0)
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class ResubmitResult(Table, tablename="resubmit_result"):
    """What resubmitting one order of a run did: sent, still blocked, or skipped, and the words why."""

    run = ForeignKey(references=ResubmitRun, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade)
    outcome = Varchar(length=16)
    message = Text(default="")


class Shipment(Table, tablename="shipment"):
    """A parcel. `ready`: tracking added, waiting for *Mark as shipped* (nothing sent to the channel yet,
    `shipped_at` is when it was added); `shipped`: it left, and the channel is told."""

    order = ForeignKey(references=Order, on_delete=OnDelete.cascade)
    supplier_order = ForeignKey(references=SupplierOrder, null=True, on_delete=OnDelete.set_null)
    carrier = ForeignKey(references=Carrier, null=True, on_delete=OnDelete.set_null)
    carrier_name = Varchar(length=100, default="")
    tracking_number = Varchar(length=100, default="", index=True)
    tracking_url = Varchar(length=500, default="")
    no_tracking = Boolean(default=False)
    shipped_at = Timestamptz()
    created_by = Varchar(length=100, default="")
    state = Varchar(length=16, default="shipped")


class ShipmentLine(Table, tablename="shipment_line"):
    shipment = ForeignKey(references=Shipment, on_delete=OnDelete.cascade)
    order_line = ForeignKey(references=OrderLine, on_delete=OnDelete.cascade)
    quantity = Integer()


class ReviewIssue(Table, tablename="review_issue"):
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade)
    order_line = ForeignKey(references=OrderLine, null=True, on_delete=OnDelete.cascade)
    code = Varchar(length=64)
    message = Text()
    source = Varchar(length=32, default="validation")
    opened_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)
    resolved_by = Varchar(length=100, default="")


class Event(Table, tablename="event"):
    """One line of the audit trail."""

    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, null=True)
    order_line = ForeignKey(references=OrderLine, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz()
    actor_kind = Varchar(length=16)
    actor_name = Varchar(length=100, default="")
    kind = Varchar(length=64)
    message = Text(default="")
    details = JSON(default="{}")


class OutboxMessage(Table, tablename="outbox_message"):
    """A message that must reach a channel or supplier, written in the same transaction as the change."""

    target_kind = Varchar(length=16)
    target_id = Integer()
    order = ForeignKey(references=Order, null=True, on_delete=OnDelete.cascade)
    action = Varchar(length=32)
    idempotency_key = Varchar(length=200, unique=True)
    payload = JSON(default="{}")
    state = Varchar(length=16, default="pending", index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    lease_owner = Varchar(length=100, default="")
    lease_until = Timestamptz(null=True, default=None)
    #: The last attempt may have reached the remote side (timeout after sending): check before resending.
    ambiguous = Boolean(default=False)
    last_error = Text(default="")
    created_at = Timestamptz()
    done_at = Timestamptz(null=True, default=None)


class SyncIssue(Table, tablename="sync_issue"):
    """A failed exchange with a channel or supplier ("connection issue")."""

    integration_kind = Varchar(length=16)
    integration_id = Integer()
    order = ForeignKey(references=Order, null=True, on_delete=OnDelete.cascade)
    outbox = ForeignKey(references=OutboxMessage, null=True, on_delete=OnDelete.set_null)
    operation = Varchar(length=32)
    remote_message = Text(default="")
    #: What was received, when it could not be understood (for diagnosis and replay).
    payload = Text(default="")
    at = Timestamptz(index=True)
    resolved_at = Timestamptz(null=True, default=None)
    retry_succeeded = Boolean(default=False)


class NotificationMessage(Table, tablename="notification_message"):
    """What one user is told: an e-mail, or (without a mail server or an address) a message kept in Waybill.

    Every message stays readable on the Notifications page, whatever happened to the e-mail.
    """

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    #: The address it went (or goes) to; empty when the user had none.
    recipient = Varchar(length=254, default="")
    subject = Varchar(length=300)
    body = Text(default="")
    orders = Integer(default=0)
    #: `queued` (waiting for the mail server), `sent`, or `kept` (not e-mailed; `note` says why).
    state = Varchar(length=16, default="queued", index=True)
    note = Text(default="")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    lease_owner = Varchar(length=100, default="")
    lease_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    read_at = Timestamptz(null=True, default=None, index=True)


class Notification(Table, tablename="notification"):
    """One user to tell that one order waits for acceptance, written in the transaction that made it wait.

    A job gathers a user's waiting rows into one `NotificationMessage` (a digest when there are several).
    """

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=32, default="awaiting_acceptance")
    created_at = Timestamptz()
    #: Set when the job took the row: into the message `gathered_into`, or none (the order no longer waited).
    gathered_at = Timestamptz(null=True, default=None, index=True)
    gathered_into = ForeignKey(references=NotificationMessage, null=True, on_delete=OnDelete.set_null, index=True)


class RawPayload(Table, tablename="raw_payload"):
    """Every distinct version of an order as the channel sent it, for diagnosis and replay."""

    channel = ForeignKey(references=Channel, on_delete=OnDelete.cascade)
    channel_order_id = Varchar(length=100)  # indexed with channel (m0002)
    digest = Varchar(length=64)
    received_at = Timestamptz()
    body = Text()


class OrderSearchTerm(Table, tablename="order_search_term"):
    """Normalised words (ids, names, SKUs, tracking numbers) for index-backed prefix search."""

    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    term = Varchar(length=100)


class OrderStatusCount(Table, tablename="order_status_count"):
    """Orders per (channel, status), kept exact by database triggers so badges never scan orders."""

    channel_id = Integer()
    status = Varchar(length=32)
    n = BigInt(default=0)


ALL_TABLES: list[type[Table]] = [
    User,
    ApiToken,
    LoginAttempt,
    LoginGate,
    UserSession,
    UserTotp,
    RecoveryCode,
    LoginChallenge,
    Setting,
    Channel,
    Supplier,
    Carrier,
    Order,
    OrderLine,
    SupplierOrder,
    SupplierOrderLine,
    CatalogItem,
    SupplierStock,
    ChannelOffer,
    StockEvent,
    ShippingMapping,
    CatalogUpload,
    CatalogUploadPart,
    ResubmitRun,
    ResubmitResult,
    Shipment,
    ShipmentLine,
    ReviewIssue,
    Event,
    OutboxMessage,
    SyncIssue,
    NotificationMessage,
    Notification,
    RawPayload,
    OrderSearchTerm,
    OrderStatusCount,
]
