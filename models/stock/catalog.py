"""The catalog: which supplier ships each channel SKU. Imported from CSV, row by row.

A bad row never stops the file: it is reported with its line number and what to fix, and every
good row is stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from models import db
from models.core.clock import now
from models.core.quoting import quoted
from models.db.tables import CatalogItem, Supplier

REQUIRED_COLUMNS = ("channel_sku", "supplier", "supplier_sku")
OPTIONAL_COLUMNS = ("cost", "currency", "priority")
CHUNK = 500

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


def _amount(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    value = Decimal(raw)  # raises InvalidOperation
    if value < 0:
        raise InvalidOperation
    return int((value * 100).to_integral_value())


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
        if supplier_id is None and key.isdigit() and int(key) in self.ids:
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
    """The catalog entry a row (cells stripped, by column name) describes; or None, with its error in `result`."""
    problems = []
    if not row.get("channel_sku"):
        problems.append("the channel SKU is empty")
    supplier_key = row.get("supplier", "")
    supplier_id = suppliers.resolve(supplier_key)
    if supplier_id is None:
        problems.append(f"no supplier is called {quoted(supplier_key)}" if supplier_key else "the supplier is empty")
    if not row.get("supplier_sku"):
        problems.append("the supplier SKU is empty")
    cost = None
    try:
        cost = _amount(row.get("cost", ""))
    except InvalidOperation:
        problems.append(f"cost {quoted(row.get('cost'))} is not an amount (write it like 12.30)")
    currency = (row.get("currency") or "EUR").upper()
    if len(currency) != 3 or not currency.isalpha():
        problems.append(f"currency {quoted(row.get('currency'))} is not a three-letter code such as EUR")
    priority = 100
    if row.get("priority"):
        try:
            priority = int(row["priority"])
        except ValueError:
            problems.append(f"priority {quoted(row['priority'])} is not a whole number")
    if len(row.get("channel_sku", "")) > 100 or len(row.get("supplier_sku", "")) > 100:
        problems.append("a SKU is longer than 100 characters")
    if problems:
        text = "; ".join(problems)
        result.errors.append(RowError(line, text[0].upper() + text[1:] + "."))
        return None
    return {
        "channel_sku": row["channel_sku"],
        "supplier": supplier_id,
        "supplier_sku": row["supplier_sku"],
        "cost": cost,
        "currency": currency,
        "priority": priority,
    }


async def store_rows(batch: list[tuple[int, dict]], result: CatalogImportResult) -> None:
    """Add or update validated entries in one transaction, counting them in `result`."""
    async with db.transaction():
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
                result.updated += 1
            else:
                rows = await CatalogItem.insert(CatalogItem(**entry, active=True, updated_at=stamp)).returning(
                    CatalogItem.id
                )
                ids[key] = rows[0]["id"]
                result.created += 1


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
