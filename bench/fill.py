"""Generate a realistic order history and bulk-load it into a migrated Waybill database.

The rows are what Waybill's own operations would have written for that history: an import
(`models.channels.importing`) followed by acceptance, routing to suppliers, shipments, delivery, returns,
cancellations and review issues, each with its audit events. Search terms are computed with
`models.core.search_terms` exactly as the import and `add_shipment` store them; the per-status counters
are recomputed from the orders at the end so they are exact.

Rows are produced in chunks by `Generator` and written by a backend writer (`SQLiteWriter`,
`PostgresWriter`); indexes and triggers are dropped for the load and recreated from the very
statements the migrations created them with.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import functools
import itertools
import multiprocessing
import random
from collections.abc import Iterator
from dataclasses import dataclass

from bench import data
from models.core.search_terms import MAX_TERM_LENGTH, identifier_terms, name_terms, normalise, order_terms
from models.orders.lifecycle import STATUS_LABELS, OrderStatus
from models.orders.validation import postcode_problem

#: Bump when the generated data changes, so cached databases are rebuilt.
FILL_VERSION = 1
HISTORY_DAYS = 730

S = OrderStatus

COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": (
        "id", "channel", "channel_order_id", "status", "version", "channel_status", "channel_status_confirmed_at",
        "payment_method", "payment_status", "currency", "total", "shipping_total", "shipping_rate",
        "customer_first_name", "customer_last_name", "customer_email", "customer_phone", "ship_first_name",
        "ship_last_name", "ship_company", "ship_street1", "ship_street2", "ship_postcode", "ship_city",
        "ship_region", "ship_country", "ship_phone", "address_edited", "placed_at", "imported_at", "updated_at",
        "accepted_at", "shipped_at", "delivered_at", "closed_at",
    ),
    "order_line": (
        "id", "order", "position", "channel_line_id", "sku", "title", "quantity", "unit_price", "status",
        "rejection_reason",
    ),
    "supplier_order": (
        "id", "order", "supplier", "internal_reference", "supplier_order_id", "status", "sent_manually",
        "shipping_method", "last_message", "created_at", "updated_at",
    ),
    "shipment": (
        "id", "order", "supplier_order", "carrier", "carrier_name", "tracking_number", "tracking_url", "no_tracking",
        "shipped_at", "created_by",
    ),
    "shipment_line": ("shipment", "order_line", "quantity"),
    "review_issue": ("order", "order_line", "code", "message", "source", "opened_at", "resolved_at", "resolved_by"),
    "event": ("order", "order_line", "at", "actor_kind", "actor_name", "kind", "message", "details"),
    "order_search_term": ("order", "term"),
}  # fmt: skip

#: Tables whose ids other rows refer to: generated per chunk from 1, shifted by `Offsets.apply`.
#: The others get their ids from the database.
LOCAL_ID_TABLES = ("order_line", "supplier_order", "shipment")

#: Which columns hold timestamps (converted per backend).
TIMESTAMP_COLUMNS = {
    table: tuple(i for i, c in enumerate(cols) if c.endswith("_at") or c == "at") for table, cols in COLUMNS.items()
}

# Status mix by age: the newest orders are still open, older ones have reached the end of the lifecycle.
RECENT_SHARE, TRANSIT_SHARE = 0.03, 0.05
RECENT_MIX = {
    S.PENDING_REVIEW: 12, S.AWAITING_ACCEPTANCE: 22, S.AWAITING_FULFILLMENT: 18, S.PROCESSING: 30,
    S.PARTIALLY_SHIPPED: 3, S.SHIPPED: 11, S.CANCELLED: 2, S.REJECTED: 2,
}  # fmt: skip
TRANSIT_MIX = {
    S.PENDING_REVIEW: 2, S.PROCESSING: 6, S.PARTIALLY_SHIPPED: 2, S.SHIPPED: 52, S.DELIVERED: 30,
    S.RETURNED: 1, S.CANCELLED: 4, S.REJECTED: 3,
}  # fmt: skip
OLD_MIX = {S.PENDING_REVIEW: 0.4, S.DELIVERED: 88, S.RETURNED: 2, S.CANCELLED: 5.6, S.REJECTED: 4}

#: Why an order waits in Pending review: (code, share, found at import by validation?)
REVIEW_REASONS = [
    ("missing_surname", 25, True),
    ("invalid_postcode", 30, True),
    ("missing_street", 10, True),
    ("wallet_insufficient", 20, False),
    ("unknown_sku", 10, False),
    ("address_error", 5, False),
]
OPERATORS = ["claire", "marek", "sofia"]
LINE_COUNTS = ([1, 2, 3, 4, 5], [20, 20, 25, 20, 15])
QUANTITIES = ([1, 2, 3, 4], [70, 20, 7, 3])
CATALOGUE_SIZE = 2400


def _cumulative(weights) -> list[float]:
    return list(itertools.accumulate(weights))


def _zipf_weights(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    price: int
    supplier_index: int


def catalogue(rng: random.Random) -> list[Product]:
    """SKUs in each supplier's style, most popular first."""
    products = []
    seen = set()
    while len(products) < CATALOGUE_SIZE:
        supplier_index = rng.choices(range(len(data.SUPPLIERS)), weights=[5, 3, 2])[0]
        prefix = data.SUPPLIERS[supplier_index][4]
        sku = f"{prefix}-{rng.randrange(1000, 99999)}"
        if sku in seen:
            continue
        seen.add(sku)
        noun, variants = rng.choice(data.PRODUCT_NOUNS)
        title = f"{rng.choice(data.ADJECTIVES)}{noun}, {rng.choice(variants)}"
        price = rng.choice([490, 990, 1290, 1490, 1990, 2490, 2990, 3490, 4990, 6990, 8990, 12900, 19900])
        products.append(Product(sku, title, price, supplier_index))
    return products


_CLOCK = [f" {h:02d}:{m:02d}:{sec:02d}+00:00" for h in range(24) for m in range(60) for sec in range(60)]
_DAYS: dict[int, str] = {}


def sqlite_timestamp(epoch: int) -> str:
    """`epoch` as Piccolo writes a whole-second UTC timestamp to SQLite (`str(datetime)`)."""
    day, seconds = divmod(epoch, 86400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = str(dt.date(1970, 1, 1) + dt.timedelta(days=day))
    return date + _CLOCK[seconds]


def postgres_timestamp(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _fast_identifier(value: str) -> set[str]:
    """Ids and tracking numbers as the import and `add_shipment` store them (unique: not worth caching)."""
    return identifier_terms(value)


def _name_words(name: str) -> tuple[str, ...]:
    return name_terms(name)


@functools.cache
def _identifier(value: str) -> frozenset[str]:
    return frozenset(identifier_terms(value))


@functools.cache
def _ascii_name(name: str) -> str:
    return normalise(name).replace(" ", "").replace("'", "")


def import_terms(channel_order_id: str, names: list[str], email: str, skus: list[str]) -> set[str]:
    """`models.core.search_terms.order_terms`, composed from cached parts; the generator checks the two agree."""
    terms = _fast_identifier(channel_order_id)
    for name in names:
        terms.update(_name_words(name))
    if email:
        terms.add(email.strip().lower()[:MAX_TERM_LENGTH] if email.isascii() else normalise(email))
    for sku in skus:
        terms.update(_identifier(sku))
    terms.discard("")
    return terms


def tracking_terms(tracking: str) -> set[str]:
    """What `models.fulfilment.shipping.add_shipment` stores for a tracking number."""
    return _fast_identifier(tracking)


def _details_code(code: str) -> str:
    return f'{{"code": "{code}"}}'


def _details_move(src: str, dst: str) -> str:
    return f'{{"from": "{src}", "to": "{dst}"}}'


class Offsets:
    """Turns chunk-local ids of lines, supplier orders and shipments into global ones, chunk after chunk."""

    def __init__(self) -> None:
        self.base = dict.fromkeys(LOCAL_ID_TABLES, 0)

    def apply(self, rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
        line, so, shipment = (self.base[t] for t in LOCAL_ID_TABLES)
        if line:
            rows["order_line"] = [(r[0] + line, *r[1:]) for r in rows["order_line"]]
            rows["review_issue"] = [(r[0], r[1] + line, *r[2:]) if r[1] else r for r in rows["review_issue"]]
            rows["event"] = [(r[0], r[1] + line, *r[2:]) if r[1] else r for r in rows["event"]]
        if so:
            rows["supplier_order"] = [(r[0] + so, *r[1:]) for r in rows["supplier_order"]]
        if shipment or so:
            rows["shipment"] = [(r[0] + shipment, r[1], r[2] + so if r[2] else None, *r[3:]) for r in rows["shipment"]]
        if shipment or line:
            rows["shipment_line"] = [(r[0] + shipment, r[1] + line, r[2]) for r in rows["shipment_line"]]
        for table in LOCAL_ID_TABLES:
            self.base[table] += len(rows[table])
        return rows


class Generator:
    """A deterministic order history, generated chunk by chunk (each chunk independently, so in parallel)."""

    def __init__(
        self,
        total: int,
        seed: int,
        now_epoch: int,
        channel_ids: list[int],
        supplier_ids: list[int],
        carrier_ids: list[int],
        timestamp=sqlite_timestamp,
    ) -> None:
        self.total = total
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now_epoch
        self.start = now_epoch - HISTORY_DAYS * 86400
        self.channels = list(zip(data.CHANNELS, channel_ids, strict=True))
        self.channel_cw = _cumulative(c.share for c in data.CHANNELS)
        self.suppliers = list(zip(data.SUPPLIERS, supplier_ids, strict=True))
        self.carriers = list(zip(data.CARRIERS, carrier_ids, strict=True))
        self.country_cw = _cumulative(c.share for c in data.COUNTRIES)
        self.products = catalogue(random.Random(seed + 1))
        self.product_cw = _cumulative(_zipf_weights(len(self.products), 0.7))
        self.mixes = {
            name: (list(mix), _cumulative(mix.values()))
            for name, mix in (("recent", RECENT_MIX), ("transit", TRANSIT_MIX), ("old", OLD_MIX))
        }
        self.reason_cw = _cumulative(r[1] for r in REVIEW_REASONS)
        self.line_cw = _cumulative(LINE_COUNTS[1])
        self.quantity_cw = _cumulative(QUANTITIES[1])
        self.ts = timestamp
        self.ids = {table: itertools.count(1).__next__ for table in LOCAL_ID_TABLES}
        self.checks_left = 0
        self.moves = {
            (a, b): (f"Status changed from {STATUS_LABELS[a]} to {STATUS_LABELS[b]}", _details_move(a, b))
            for a in OrderStatus
            for b in OrderStatus
        }

    # -- helpers ---------------------------------------------------------------------------

    def _pick(self, cw: list[float]) -> int:
        return bisect.bisect(cw, self.rng.random() * cw[-1])

    def _between(self, low: int, high: int) -> int:
        return low + int(self.rng.random() * (high - low))

    def placed_epoch(self, index: int) -> int:
        """Orders per day grow linearly over the history; index order is placement order."""
        f = (index + self.rng.random()) / self.total
        t = -1.0 + (1.0 + 3.0 * f) ** 0.5  # inverse of F(t) = (t + t²/2) / 1.5
        return self.start + int(t * HISTORY_DAYS * 86400)

    def status_for(self, index: int) -> OrderStatus:
        age_rank = (self.total - 1 - index) / self.total
        bucket = (
            "recent" if age_rank < RECENT_SHARE else "transit" if age_rank < RECENT_SHARE + TRANSIT_SHARE else "old"
        )
        statuses, cw = self.mixes[bucket]
        return statuses[self._pick(cw)]

    def chunk(self, number: int, size: int) -> dict[str, list[tuple]]:
        """Rows for orders `number * size …`; ids of `LOCAL_ID_TABLES` start at 1 (see `Offsets`)."""
        self.rng = random.Random(self.seed * 1_000_003 + number)
        self.ids = {table: itertools.count(1).__next__ for table in LOCAL_ID_TABLES}
        self.checks_left = 50
        rows: dict[str, list[tuple]] = {table: [] for table in COLUMNS}
        for index in range(number * size, min((number + 1) * size, self.total)):
            self.order(index, rows)
        return rows

    def chunks(self, size: int) -> Iterator[dict[str, list[tuple]]]:
        """Every chunk in order, with global ids (single process)."""
        offsets = Offsets()
        for number in range((self.total + size - 1) // size):
            yield offsets.apply(self.chunk(number, size))

    # -- one order -------------------------------------------------------------------------

    def order(self, index: int, out: dict[str, list[tuple]]) -> None:
        rng = self.rng
        rand = rng.random
        between = self._between
        pick = self._pick
        ts = self.ts
        ids = self.ids
        spec, channel_id = self.channels[pick(self.channel_cw)]
        channel_order_id = spec.order_id(index + 1)
        order_id = index + 1
        placed = self.placed_epoch(index)
        status = self.status_for(index)
        marketplace_acceptance = spec.needs_acceptance and not spec.auto_accept
        if not spec.needs_acceptance and status == S.REJECTED:
            status = S.CANCELLED
        if not marketplace_acceptance and status == S.AWAITING_ACCEPTANCE:
            status = S.AWAITING_FULFILLMENT
        country = data.COUNTRIES[pick(self.country_cw)]

        # Customer and delivery address.
        first_names, last_names = country.first_names, country.last_names
        first = first_names[int(rand() * len(first_names))]
        last = last_names[int(rand() * len(last_names))]
        ship_first, ship_last = first, last
        if rand() < 0.08:
            ship_first = first_names[int(rand() * len(first_names))]
            ship_last = last_names[int(rand() * len(last_names))]
        domains = country.email_domains
        email = f"{_ascii_name(first)}.{_ascii_name(last)}{between(1, 100)}@{domains[int(rand() * len(domains))]}"
        phone = f"{country.phone_prefix} {between(10, 100)} {between(10, 100)} {between(10, 100)}"
        streets = country.streets
        street = country.street_format.format(s=streets[int(rand() * len(streets))], n=between(1, 180))
        street2 = "Appartement 4B" if rand() < 0.04 else ""
        company = data.COMPANIES[int(rand() * len(data.COMPANIES))] if rand() < 0.05 else ""
        postcode = country.postcode(rng)
        city = country.cities[int(rand() * len(country.cities))]

        review_code = ""
        from_validation = False
        if status == S.PENDING_REVIEW:
            review_code, _, from_validation = REVIEW_REASONS[pick(self.reason_cw)]
            if review_code == "missing_surname":
                ship_last = ""
            elif review_code == "invalid_postcode":
                postcode = rng.choice(
                    [c for c in ("7500", "ABC12", "1234567", "000") if postcode_problem(country.code, c)]
                )
            elif review_code == "missing_street":
                street = ""

        # Lines.
        n_lines = LINE_COUNTS[0][pick(self.line_cw)]
        if status == S.PARTIALLY_SHIPPED and n_lines == 1:
            n_lines = 2
        products: list[Product] = []
        catalogue_ = self.products
        product_cw = self.product_cw
        while len(products) < n_lines:
            product = catalogue_[pick(product_cw)]
            if product not in products:
                products.append(product)
        quantities = [QUANTITIES[0][pick(self.quantity_cw)] for _ in range(n_lines)]
        shipping_rate, shipping_total = data.SHIPPING_RATES[int(rand() * len(data.SHIPPING_RATES))]
        currency = spec.currency
        price_factor = 25 if currency == "CZK" else 1
        total = shipping_total * price_factor + sum(
            p.price * price_factor * q for p, q in zip(products, quantities, strict=True)
        )
        payment_method = "on_account" if rand() < 0.12 else "card"
        payment_status = "unpaid" if payment_method == "on_account" else "paid"

        # Timeline of the lifecycle.
        imported = placed + between(30, 900)
        accepted_at = shipped_at = delivered_at = closed_at = None
        accepted = (
            status not in (S.AWAITING_ACCEPTANCE, S.REJECTED)
            and not (status == S.PENDING_REVIEW and from_validation and marketplace_acceptance)
            and not (status == S.CANCELLED and marketplace_acceptance and rand() < 0.3)
        )
        at_supplier = (
            status in (S.PROCESSING, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.RETURNED)
            or (status == S.PENDING_REVIEW and not from_validation)
            or (status == S.CANCELLED and accepted and rand() < 0.4)
        )
        has_shipment = status in (S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.RETURNED)
        t = imported
        if accepted and not (status == S.PENDING_REVIEW and from_validation):
            t = accepted_at = imported if not marketplace_acceptance else imported + between(300, 60_000)
        sent_at = t + between(60, 20_000) if at_supplier else None
        if sent_at:
            t = sent_at
        shipment_at = t + between(4 * 3600, 3 * 86400) if has_shipment else None
        if shipment_at:
            t = shipment_at
            if status != S.PARTIALLY_SHIPPED:
                shipped_at = shipment_at
        if status == S.DELIVERED:
            t = delivered_at = t + between(86400, 5 * 86400)
        elif status == S.RETURNED:
            t = closed_at = t + between(5 * 86400, 20 * 86400)
        elif status in (S.CANCELLED, S.REJECTED):
            t = closed_at = t + between(600, 2 * 86400)
        elif status == S.PENDING_REVIEW and not from_validation:
            t = t + between(5, 120)
        updated = min(t, self.now)
        if payment_method == "on_account" and status in (S.DELIVERED, S.RETURNED) and rand() < 0.9:
            payment_status = "paid"

        # Line rows.
        if status == S.REJECTED:
            line_status = "rejected"
        elif status == S.CANCELLED:
            line_status = "cancelled"
        else:
            line_status = "accepted" if accepted else "pending"
        next_line = ids["order_line"]
        line_ids = []
        line_rows = out["order_line"]
        rejected_position = 0
        if accepted and n_lines >= 2 and marketplace_acceptance and rand() < 0.03:
            rejected_position = n_lines
        reasons = data.REJECTION_REASONS
        for position, (product, quantity) in enumerate(zip(products, quantities, strict=True), 1):
            line_id = next_line()
            line_ids.append(line_id)
            lstatus, reason = line_status, ""
            if status == S.REJECTED:
                reason = reasons[int(rand() * len(reasons))]
            if position == rejected_position:
                lstatus, reason = "rejected", reasons[int(rand() * len(reasons))]
            line_rows.append(
                (
                    line_id,
                    order_id,
                    position,
                    f"{channel_order_id}-{position}",
                    product.sku,
                    product.title,
                    quantity,
                    product.price * price_factor,
                    lstatus,
                    reason,
                )
            )
        shippable = [(line_ids[i], products[i], quantities[i]) for i in range(n_lines) if i + 1 != rejected_position]

        out["orders"].append(
            (
                order_id, channel_id, channel_order_id, status.value, 1, spec.statuses[status.value], ts(updated),
                payment_method, payment_status, currency, total, shipping_total * price_factor, shipping_rate,
                first, last, email, phone, ship_first, ship_last, company, street, street2, postcode, city,
                "", country.code, phone, False, ts(placed), ts(imported), ts(updated),
                ts(accepted_at) if accepted_at else None, ts(shipped_at) if shipped_at else None,
                ts(delivered_at) if delivered_at else None, ts(closed_at) if closed_at else None,
            )
        )  # fmt: skip

        # Audit trail, review issues, supplier orders, shipments.
        events = out["event"]
        channel_actor = ("channel", spec.name)
        moves = self.moves

        def event(at: int, actor: tuple[str, str], kind: str, message: str, details: str, line_id=None) -> None:
            events.append((order_id, line_id, ts(at), actor[0], actor[1], kind, message, details))

        def moved(at: int, actor: tuple[str, str], src: OrderStatus, dst: OrderStatus, note: str = "") -> None:
            message, details = moves[src, dst]
            event(at, actor, "status_changed", f"{message}: {note}" if note else message, details)

        if status == S.PENDING_REVIEW and from_validation:
            import_status = S.PENDING_REVIEW
        elif marketplace_acceptance:
            import_status = S.AWAITING_ACCEPTANCE
        else:
            import_status = S.AWAITING_FULFILLMENT
        event(
            imported,
            channel_actor,
            "imported",
            f"Imported from {spec.name} as {STATUS_LABELS[import_status]}",
            f'{{"channel_status": "", "lines": {n_lines}}}',
        )
        if import_status == S.AWAITING_FULFILLMENT and spec.needs_acceptance:
            event(imported, channel_actor, "accepted", "Accepted automatically (auto-accept is on)", "{}")
        operator = ("user", OPERATORS[int(rand() * len(OPERATORS))])
        if review_code and from_validation:
            message = {
                "missing_surname": "Missing surname: the delivery address has no last name.",
                "missing_street": "Missing street: the delivery address has no street.",
            }.get(review_code) or postcode_problem(country.code, postcode)
            assert message
            self._issue(out, order_id, None, review_code, message, "validation", imported)
            event(imported, channel_actor, "review_issue_opened", message, _details_code(review_code))
        if accepted_at and marketplace_acceptance:
            moved(accepted_at, operator, S.AWAITING_ACCEPTANCE, S.AWAITING_FULFILLMENT)

        supplier_orders: list[tuple[int, int]] = []
        if sent_at:
            by_supplier: dict[int, list] = {}
            for item in shippable:
                by_supplier.setdefault(item[1].supplier_index, []).append(item)
            failed = status == S.PENDING_REVIEW
            if failed:
                so_status = "failed"
            elif status == S.CANCELLED:
                so_status = "cancelled"
            elif status in (S.SHIPPED, S.DELIVERED, S.RETURNED):
                so_status = "shipped"
            else:
                so_status = "processed"
            method = data.SUPPLIER_METHODS[shipping_rate]
            for n, supplier_index in enumerate(sorted(by_supplier), 1):
                (name, _kind, _prepaid, _balance, _prefix), supplier_id = self.suppliers[supplier_index]
                so_id = ids["supplier_order"]()
                supplier_orders.append((so_id, supplier_index))
                out["supplier_order"].append(
                    (
                        so_id,
                        order_id,
                        supplier_id,
                        f"WB-{order_id}-{n}",
                        "" if failed else f"{name[:2].upper()}{7_000_000 + so_id}",
                        so_status,
                        not failed and rand() < 0.02,
                        method,
                        "",
                        ts(sent_at),
                        ts(updated),
                    )
                )
            supplier_name = self.suppliers[supplier_orders[0][1]][0][0]
            supplier_actor = ("supplier", supplier_name)
            if failed:
                sku = shippable[0][1].sku
                message = {
                    "wallet_insufficient": f"Insufficient wallet balance: {supplier_name} needs "
                    f"{total / 100:.2f} {currency} more. Top up the wallet, then resubmit the order.",
                    "unknown_sku": f"Unknown SKU: {supplier_name} does not know {sku}. "
                    "Map it to a supplier product, then resubmit the order.",
                    "address_error": f"Address error: {supplier_name} could not validate the delivery address. "
                    "Check street and postcode, then resubmit the order.",
                }[review_code]
                line_id = shippable[0][0] if review_code == "unknown_sku" else None
                self._issue(out, order_id, line_id, review_code, message, "supplier", updated)
                event(updated, supplier_actor, "review_issue_opened", message, _details_code(review_code), line_id)
                moved(updated, supplier_actor, S.AWAITING_FULFILLMENT, S.PENDING_REVIEW)
            else:
                moved(sent_at, supplier_actor, S.AWAITING_FULFILLMENT, S.PROCESSING)

        term_rows = out["order_search_term"]
        names = [first, last, ship_first, ship_last]
        skus = [p.sku for p in products]
        terms = import_terms(channel_order_id, names, email, skus)
        if self.checks_left:
            assert terms == order_terms(channel_order_id, names=names, emails=[email], skus=skus)
            self.checks_left -= 1
        for term in terms:
            term_rows.append((order_id, term))

        if has_shipment:
            (carrier_name, _code, url_pattern, _pattern, make_number), carrier_id = self.carriers[
                int(rand() * len(self.carriers))
            ]
            no_tracking = rand() < 0.03
            tracking = "" if no_tracking else make_number(rng)
            parcels = shippable[:1] if status == S.PARTIALLY_SHIPPED else shippable
            shipment_id = ids["shipment"]()
            source = ("supplier", self.suppliers[supplier_orders[0][1]][0][0]) if supplier_orders else operator
            out["shipment"].append(
                (
                    shipment_id,
                    order_id,
                    supplier_orders[0][0] if supplier_orders else None,
                    None if no_tracking else carrier_id,
                    "" if no_tracking else carrier_name,
                    tracking,
                    url_pattern.replace("{tracking}", tracking) if tracking else "",
                    no_tracking,
                    ts(shipment_at),
                    f"{source[0]}: {source[1]}" if source[0] != "user" else source[1],
                )
            )
            for lid, _product, quantity in parcels:
                out["shipment_line"].append((shipment_id, lid, quantity))
            if tracking:
                new_terms = tracking_terms(tracking)
                if self.checks_left:
                    assert new_terms == identifier_terms(tracking)
                for term in new_terms:
                    term_rows.append((order_id, term))
            items = ", ".join(f"{p.sku} × {q}" for _, p, q in parcels)
            parcel = f"{carrier_name} {tracking}" if tracking else "no tracking"
            event(
                shipment_at,
                source,
                "shipment_added",
                f"Shipment added ({parcel}): {items}",
                f'{{"shipment": {shipment_id}}}',
            )
            moved(
                shipment_at, source, S.PROCESSING, S.PARTIALLY_SHIPPED if status == S.PARTIALLY_SHIPPED else S.SHIPPED
            )
        if status == S.DELIVERED:
            day = sqlite_timestamp(delivered_at)[:10]
            tracker = ("job", "tracking")
            event(delivered_at, tracker, "delivered", f"Marked as delivered on {day}", "{}")
            moved(delivered_at, tracker, S.SHIPPED, S.DELIVERED)
        elif status == S.RETURNED:
            moved(closed_at, operator, S.SHIPPED, S.RETURNED, "parcel refused by the recipient")
        elif status == S.CANCELLED:
            source = S.PROCESSING if supplier_orders else S.AWAITING_FULFILLMENT if accepted else S.AWAITING_ACCEPTANCE
            reason = data.CANCEL_REASONS[int(rand() * len(data.CANCEL_REASONS))]
            moved(closed_at, operator, source, S.CANCELLED, reason)
        elif status == S.REJECTED:
            reason = reasons[int(rand() * len(reasons))]
            for lid in line_ids:
                event(
                    closed_at, operator, "line_rejected", f"Rejected line: {reason}", f'{{"reason": "{reason}"}}', lid
                )
            moved(closed_at, operator, S.AWAITING_ACCEPTANCE, S.REJECTED)

    def _issue(self, out, order_id: int, line_id, code: str, message: str, source: str, at: int) -> None:
        out["review_issue"].append((order_id, line_id, code, message, source, self.ts(at), None, ""))


_worker_generator: Generator | None = None


def _start_worker(generator: Generator) -> None:
    global _worker_generator
    _worker_generator = generator


def _worker_chunk(number: int, size: int) -> dict[str, list[tuple]]:
    assert _worker_generator is not None
    return _worker_generator.chunk(number, size)


def parallel_chunks(generator: Generator, size: int, workers: int) -> Iterator[dict[str, list[tuple]]]:
    """`generator.chunks(size)`, generated by `workers` processes while the caller writes; at most a few
    chunks are held in memory at once."""
    if workers <= 1:
        yield from generator.chunks(size)
        return
    offsets = Offsets()
    count = (generator.total + size - 1) // size
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_start_worker, initargs=(generator,)) as pool:
        pending: collections.deque = collections.deque()
        submitted = 0
        while submitted < count or pending:
            while submitted < count and len(pending) < workers + 1:
                pending.append(pool.apply_async(_worker_chunk, (submitted, size)))
                submitted += 1
            yield offsets.apply(pending.popleft().get())
