"""The catalog: which supplier ships each channel SKU. Imported from CSV, row by row.

A bad row never stops the file: it is reported with its line number and what to fix, and every
good row is stored. Every value is checked against what its column holds on both databases (SQLite
would take a priority PostgreSQL's integer cannot), so no row reaches the database to fail there.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from models import db
from models.core.clock import now
from models.core.quoting import quoted
from models.db.tables import CatalogItem, Supplier

REQUIRED_COLUMNS = ("channel_sku", "supplier", "supplier_sku")
OPTIONAL_COLUMNS = ("cost", "currency", "priority")
CHUNK = 500
#: The longest SKU the columns hold (varchar(100)).
MAX_SKU_LENGTH = 100
#: The largest cost, in cents: 99,999,999.99 (the bigint column holds far more; no real cost comes near).
MAX_COST_CENTS = 9_999_999_999
#: Priorities run 0..1,000,000 (the column is a 32-bit integer on PostgreSQL).
MAX_PRIORITY = 1_000_000
#: Why a row the checks passed was still left out (the database refused it; the log says how).
NOT_STORED = (
    "This row could not be stored: the database refused one of its values. "
    "Check its SKUs, cost and priority, then import it again."
)
#: Cells longer than this are shortened where a message quotes them.
QUOTED_CHARS = 40

AMOUNT = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
WHOLE_NUMBER = re.compile(r"-?[0-9]+")
CURRENCY = re.compile(r"[A-Za-z]{3}")

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Awaitable[None]]


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class CatalogImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.total:,} rows: {self.created:,} added, {self.updated:,} updated"
        return text + (f", {len(self.errors):,} with errors" if self.errors else "")


def _cell(value: str) -> str:
    """A cell quoted for a message: shortened, with control characters shown as U+FFFD."""
    shown = "".join("\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in value[: QUOTED_CHARS + 1])
    return quoted(shown if len(shown) <= QUOTED_CHARS else shown[: QUOTED_CHARS - 1] + "…")


def _cost_problem(raw: str) -> tuple[int | None, str | None]:
    """The cost in cents (None when the cell is empty), or why the cell is not a cost."""
    if not raw:
        return None, None
    if raw.startswith("-") and AMOUNT.fullmatch(raw[1:]):
        return None, f"cost {_cell(raw)} is below zero: a cost must be 0 or more"
    if not AMOUNT.fullmatch(raw):
        return None, f"cost {_cell(raw)} is not an amount (write it like 12.30)"
    # Digits and one point only (no exponent, NaN or infinity), rounded to the cent, compared before int().
    cents = (Decimal(raw) * 100).to_integral_value()
    if cents > MAX_COST_CENTS:
        return None, f"cost {_cell(raw)} is too large: a cost must be at most {MAX_COST_CENTS / 100:,.2f}"
    return int(cents), None


def _priority_problem(raw: str) -> tuple[int, str | None]:
    """The priority (100 when the cell is empty), or why the cell is not one."""
    if not raw:
        return 100, None
    if not WHOLE_NUMBER.fullmatch(raw):
        return 100, f"priority {_cell(raw)} is not a whole number"
    # the length first: int() of thousands of digits is refused (or slow), and too large anyway
    if raw.startswith("-") or len(raw.lstrip("0")) > len(str(MAX_PRIORITY)) or int(raw) > MAX_PRIORITY:
        return 100, f"priority {_cell(raw)} is out of range: a priority is a whole number from 0 to {MAX_PRIORITY:,}"
    return int(raw), None


def _sku_problem(what: str, sku: str) -> str | None:
    """Why a SKU cannot be stored as it is written, or None."""
    if not sku:
        return f"the {what} is empty"
    if len(sku) > MAX_SKU_LENGTH:
        return f"the {what} is {len(sku):,} characters long: at most {MAX_SKU_LENGTH} are accepted"
    hidden = sorted({ch for ch in sku if unicodedata.category(ch) in ("Cc", "Cf")})
    if hidden:
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in hidden)
        return f"the {what} contains a control or invisible character ({codes}): remove it"
    return None


def header_problem(header: list[str], *, supplier_optional: bool = False) -> str | None:
    """Why a header row (names lower-cased) cannot be imported, or None when it names what is needed."""
    required = [c for c in REQUIRED_COLUMNS if not (supplier_optional and c == "supplier")]
    missing = [c for c in required if c not in header]
    if not missing:
        return None
    return f"The header must name the columns {', '.join(required)}; missing: {', '.join(missing)}."


@dataclass
class SupplierNames:
    """Suppliers by lower-cased name and by id, and the supplier an empty `supplier` cell stands for."""

    by_name: dict[str, int]
    ids: set[int]
    default: int | None = None

    @classmethod
    async def load(cls, default: int | None = None) -> SupplierNames:
        by_name = {row["name"].lower(): row["id"] for row in await Supplier.select(Supplier.id, Supplier.name)}
        return cls(by_name, set(by_name.values()), default)

    def resolve(self, key: str) -> int | None:
        if not key:
            return self.default
        supplier_id = self.by_name.get(key.lower())
        # ASCII and short: isdigit() is true of "²", which int() refuses, and of thousands of digits
        if supplier_id is None and key.isascii() and key.isdigit() and len(key) < 19 and int(key) in self.ids:
            supplier_id = int(key)
        return supplier_id


async def import_catalog_csv(
    text: str, progress: Progress | None = None, *, default_supplier: int | None = None
) -> CatalogImportResult:
    """Add or update catalog entries from CSV text with a header row.

    With `default_supplier`, the `supplier` column may be left out or left empty: such rows are for
    that supplier.
    """
    result = CatalogImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    problem = header_problem(header, supplier_optional=default_supplier is not None)
    if problem:
        result.errors.append(RowError(1, problem))
        return result
    reader.fieldnames = header
    suppliers = await SupplierNames.load(default_supplier)
    rows = list(reader)
    result.total = len(rows)
    valid: list[tuple[int, dict]] = []
    for index, row in enumerate(rows, start=2):
        entry = validate_row(index, {k: (v or "").strip() for k, v in row.items() if k}, suppliers, result)
        if entry:
            valid.append((index, entry))
    for start in range(0, len(valid), CHUNK):
        await store_rows(valid[start : start + CHUNK], result)
        if progress:
            await progress(min(start + CHUNK, len(valid)), len(valid))
    result.errors.sort(key=lambda e: e.line)
    return result


def validate_row(line: int, row: dict[str, str], suppliers: SupplierNames, result: CatalogImportResult) -> dict | None:
    """The catalog entry a row (cells stripped, by column name) describes; or None, with its error in `result`.

    Every problem of the row is named at once, with what is accepted, so one pass fixes the row."""
    problems = []
    channel_sku = row.get("channel_sku", "")
    if problem := _sku_problem("channel SKU", channel_sku):
        problems.append(problem)
    supplier_key = row.get("supplier", "")
    supplier_id = suppliers.resolve(supplier_key)
    if supplier_id is None:
        problems.append(f"no supplier is called {_cell(supplier_key)}" if supplier_key else "the supplier is empty")
    supplier_sku = row.get("supplier_sku", "")
    if problem := _sku_problem("supplier SKU", supplier_sku):
        problems.append(problem)
    cost, problem = _cost_problem(row.get("cost", ""))
    if problem:
        problems.append(problem)
    currency = row.get("currency") or "EUR"
    if not CURRENCY.fullmatch(currency):
        problems.append(f"currency {_cell(currency)} is not a three-letter code such as EUR")
    priority, problem = _priority_problem(row.get("priority", ""))
    if problem:
        problems.append(problem)
    if problems:
        text = "; ".join(problems)
        result.errors.append(RowError(line, text[0].upper() + text[1:] + "."))
        return None
    return {
        "channel_sku": channel_sku,
        "supplier": supplier_id,
        "supplier_sku": supplier_sku,
        "cost": cost,
        "currency": currency.upper(),
        "priority": priority,
    }


async def store_rows(batch: list[tuple[int, dict]], result: CatalogImportResult) -> None:
    """Add or update validated entries in one transaction, counting them in `result`.

    Should the database still refuse a value (a check missing here, a row another import added at the
    same moment), the batch is stored again row by row, each in a savepoint: only the rows refused are
    left out, each reported with its line, and the chunk goes on."""
    if not batch:
        return
    async with db.transaction():
        try:
            async with db.savepoint():
                created, updated = await _store(batch)
        except db.VALUE_ERRORS:
            created = updated = 0
            for line, entry in batch:
                try:
                    async with db.savepoint():
                        added, changed = await _store([(line, entry)])
                except db.VALUE_ERRORS as exc:
                    log.warning("catalog row on line %d not stored: %s", line, exc)
                    result.errors.append(RowError(line, NOT_STORED))
                    continue
                created, updated = created + added, updated + changed
    result.created += created
    result.updated += updated


async def _store(batch: list[tuple[int, dict]]) -> tuple[int, int]:
    """Add or update the entries; how many were added and how many updated."""
    created = updated = 0
    keys = {(entry["channel_sku"], entry["supplier"]) for _, entry in batch}
    existing = await CatalogItem.select(CatalogItem.id, CatalogItem.channel_sku, CatalogItem.supplier).where(
        CatalogItem.channel_sku.is_in(sorted({k[0] for k in keys}))
    )
    ids = {(row["channel_sku"], row["supplier"]): row["id"] for row in existing}
    stamp = now()
    for _, entry in batch:
        key = (entry["channel_sku"], entry["supplier"])
        if key in ids:
            await CatalogItem.update(
                {
                    CatalogItem.supplier_sku: entry["supplier_sku"],
                    CatalogItem.cost: entry["cost"],
                    CatalogItem.currency: entry["currency"],
                    CatalogItem.priority: entry["priority"],
                    CatalogItem.active: True,
                    CatalogItem.updated_at: stamp,
                }
            ).where(CatalogItem.id == ids[key])
            updated += 1
        else:
            rows = await CatalogItem.insert(CatalogItem(**entry, active=True, updated_at=stamp)).returning(
                CatalogItem.id
            )
            ids[key] = rows[0]["id"]
            created += 1
    return created, updated


# -- one supplier's catalog, for its page ---------------------------------------------------------

PAGE_SIZE = 25


@dataclass
class CatalogPage:
    entries: list[dict]
    #: How many entries the supplier has in all (not only those matching the search).
    total: int
    #: The `after` value of the next page, or None on the last one.
    next_after: str | None


def _like_pattern(text: str) -> str:
    """`text` anywhere in a value, upper-cased, with LIKE's wildcards taken literally (escape `!`)."""
    escaped = text.upper().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


async def supplier_catalog(supplier_id: int, q: str = "", after: str = "", limit: int = PAGE_SIZE) -> CatalogPage:
    """A page of the supplier's entries in channel SKU order, after `after`, whose channel or supplier
    SKU contains `q` (any case). Reads only this supplier's entries, through (supplier, channel_sku)."""
    sql = (
        "SELECT id, channel_sku, supplier_sku, cost, currency, priority, active FROM catalog_item "
        "WHERE supplier = {} AND channel_sku > {}"
    )
    args: list = [supplier_id, after]
    q = q.strip()
    if q:
        sql += " AND (UPPER(channel_sku) LIKE {} ESCAPE '!' OR UPPER(supplier_sku) LIKE {} ESCAPE '!')"
        args += [_like_pattern(q), _like_pattern(q)]
    sql += " ORDER BY channel_sku LIMIT {}"
    rows, counted = await db.concurrently(
        db.fetch(sql, *args, limit + 1),
        db.fetch("SELECT COUNT(*) AS n FROM catalog_item WHERE supplier = {}", supplier_id),
    )
    for row in rows:
        row["active"] = bool(row["active"])
    more = len(rows) > limit
    rows = rows[:limit]
    return CatalogPage(rows, int(counted[0]["n"]), rows[-1]["channel_sku"] if more else None)
