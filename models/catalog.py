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
from models.clock import now
from models.tables import CatalogItem, Supplier

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
        text = f"{self.total} rows: {self.created} added, {self.updated} updated"
        return text + (f", {len(self.errors)} with errors" if self.errors else "")


def _amount(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    value = Decimal(raw)  # raises InvalidOperation
    if value < 0:
        raise InvalidOperation
    return int((value * 100).to_integral_value())


async def import_catalog_csv(text: str, progress: Progress | None = None) -> CatalogImportResult:
    """Add or update catalog entries from CSV text with a header row."""
    result = CatalogImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        result.errors.append(
            RowError(
                1, f"The header must name the columns {', '.join(REQUIRED_COLUMNS)}; missing: {', '.join(missing)}."
            )
        )
        return result
    reader.fieldnames = header
    suppliers = {row["name"].lower(): row["id"] for row in await Supplier.select(Supplier.id, Supplier.name)}
    supplier_ids = set(suppliers.values())
    rows = list(reader)
    result.total = len(rows)
    valid: list[tuple[int, dict]] = []
    for index, row in enumerate(rows, start=2):
        entry = _validate(index, {k: (v or "").strip() for k, v in row.items() if k}, suppliers, supplier_ids, result)
        if entry:
            valid.append((index, entry))
    for start in range(0, len(valid), CHUNK):
        await _store(valid[start : start + CHUNK], result)
        if progress:
            await progress(min(start + CHUNK, len(valid)), len(valid))
    result.errors.sort(key=lambda e: e.line)
    return result


def _validate(
    line: int, row: dict[str, str], suppliers: dict[str, int], supplier_ids: set[int], result: CatalogImportResult
) -> dict | None:
    problems = []
    if not row.get("channel_sku"):
        problems.append("the channel SKU is empty")
    supplier_key = row.get("supplier", "")
    supplier_id = suppliers.get(supplier_key.lower())
    if supplier_id is None and supplier_key.isdigit() and int(supplier_key) in supplier_ids:
        supplier_id = int(supplier_key)
    if supplier_id is None:
        problems.append(f"no supplier is called “{supplier_key}”" if supplier_key else "the supplier is empty")
    if not row.get("supplier_sku"):
        problems.append("the supplier SKU is empty")
    cost = None
    try:
        cost = _amount(row.get("cost", ""))
    except InvalidOperation:
        problems.append(f"cost “{row.get('cost')}” is not an amount (write it like 12.30)")
    currency = (row.get("currency") or "EUR").upper()
    if len(currency) != 3 or not currency.isalpha():
        problems.append(f"currency “{row.get('currency')}” is not a three-letter code such as EUR")
    priority = 100
    if row.get("priority"):
        try:
            priority = int(row["priority"])
        except ValueError:
            problems.append(f"priority “{row['priority']}” is not a whole number")
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


async def _store(batch: list[tuple[int, dict]], result: CatalogImportResult) -> None:
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
