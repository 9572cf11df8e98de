"""Catalog CSV files uploaded on a supplier page, imported a chunk of rows at a time.

The file is checked whole when it arrives (size, text encoding, delimiter, header): one that cannot
be imported is refused with a message saying what to fix, and nothing is stored. Its rows are then
kept in the database in parts of `CHUNK_ROWS`, so each request imports one part, whichever app
instance serves it, and the page can show progress in between. A part is claimed by moving the
upload's `rows_done` from where the part starts, in the transaction that stores its rows, so a part
sent twice (two tabs, a retried request) is imported once. Imported parts are deleted; the upload
row keeps the counts and the first row errors for the summary.

Rows follow `models.stock.catalog`: the same columns, checks and messages. On a supplier page the
`supplier` column may be left out, or a cell left empty, for rows of that supplier.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from models import db
from models.core.clock import now
from models.core.errors import FieldErrors, NotFound
from models.db.tables import CatalogUpload, CatalogUploadPart
from models.stock.catalog import (
    CHUNK,
    CatalogImportResult,
    RowError,
    SupplierNames,
    header_problem,
    store_rows,
    validate_row,
)

MAX_BYTES = 20 * 1024 * 1024
CHUNK_ROWS = CHUNK
#: Row errors kept for the summary (every one is counted).
KEPT_ERRORS = 1000
#: Unfinished uploads older than this are dropped (with their rows) when the next one starts.
ABANDONED_AFTER = dt.timedelta(days=1)
#: Finished uploads (counts and errors only) are kept this long.
KEPT_FOR = dt.timedelta(days=30)
DELIMITERS = (",", ";", "\t", "|")
DECIMAL_COMMA = re.compile(r"^\d+,\d+$")


def _refuse(message: str) -> FieldErrors:
    return FieldErrors({"file": message}, message)


@dataclass
class ParsedCsv:
    columns: list[str]
    delimiter: str
    #: (line number where the row starts, its cells), blank rows left out.
    rows: list[tuple[int, list[str]]]


def parse_csv(data: bytes) -> ParsedCsv:
    """Read an uploaded file; raises `FieldErrors` (field `file`) when it cannot be imported."""
    if len(data) > MAX_BYTES:
        raise _refuse(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; catalog files are limited to {MAX_BYTES // 1024 // 1024} "
            "MB. Split it into smaller files and import them one after the other."
        )
    if not data.strip():
        raise _refuse("The file is empty. Choose a CSV file with a header row and one row per SKU.")
    if b"\x00" in data[:65536]:
        raise _refuse(
            "This is not a CSV file (it looks like a spreadsheet or another binary file). "
            "Save it as “CSV UTF-8” in your spreadsheet program and upload that file."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” in your spreadsheet program and upload it again."
        ) from None
    first_line = text.lstrip().split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count) if any(d in first_line for d in DELIMITERS) else ","
    # strict: an unclosed quote is an error, not the rest of the file read as one value
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header: list[str] = []
        for cells in reader:
            if any(cell.strip() for cell in cells):
                header = [cell.strip().lower() for cell in cells]
                break
        problem = header_problem(header, supplier_optional=True)
        if problem:
            raise _refuse(
                f"This file cannot be imported as a catalog. {problem} The first line must be the header, "
                "e.g. channel_sku,supplier_sku,cost,currency,priority."
            )
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        message = f"Line {reader.line_num} cannot be read as CSV ({exc}). Fix it and upload the file again."
        raise _refuse(message) from None
    if not rows:
        raise _refuse("The file has a header but no rows to import.")
    return ParsedCsv(header, delimiter, rows)


@dataclass
class UploadState:
    id: int
    supplier_id: int
    filename: str
    total_rows: int
    rows_done: int
    created: int
    updated: int
    error_rows: int
    errors: list[RowError] = field(default_factory=list)
    finished_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    columns: list[str] = field(default_factory=list)
    delimiter: str = ","

    @property
    def done(self) -> bool:
        return self.rows_done >= self.total_rows

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.rows_done * 100 // self.total_rows)

    def summary(self) -> str:
        rows = f"{self.total_rows:,} row{'s' if self.total_rows != 1 else ''}"
        text = f"{rows}: {self.created:,} added, {self.updated:,} updated"
        return text + (f", {self.error_rows:,} with errors" if self.error_rows else "")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UploadState:
        return cls(
            id=row["id"],
            supplier_id=row["supplier"],
            filename=row["filename"],
            total_rows=row["total_rows"],
            rows_done=row["rows_done"],
            created=row["created"],
            updated=row["updated"],
            error_rows=row["error_rows"],
            errors=[RowError(line, message) for line, message in json.loads(row["errors"] or "[]")],
            finished_at=row["finished_at"],
            created_at=row["created_at"],
            columns=json.loads(row["columns"] or "[]"),
            delimiter=row["delimiter"] or ",",
        )


async def start_upload(supplier_id: int, filename: str, data: bytes, uploaded_by: str) -> UploadState:
    """Check an uploaded file and keep its rows, in parts, for `import_next_chunk`."""
    parsed = parse_csv(data)
    stamp = now()
    await _drop_old_uploads(stamp)
    async with db.transaction():
        rows = await CatalogUpload.insert(
            CatalogUpload(
                supplier=supplier_id,
                filename=filename[:255],
                uploaded_by=uploaded_by[:100],
                columns=json.dumps(parsed.columns),
                delimiter=parsed.delimiter,
                total_rows=len(parsed.rows),
                created_at=stamp,
            )
        ).returning(CatalogUpload.id)
        upload_id = rows[0]["id"]
        parts = [
            CatalogUploadPart(
                upload=upload_id,
                first_row=start,
                rows=json.dumps(parsed.rows[start : start + CHUNK_ROWS], ensure_ascii=False),
            )
            for start in range(0, len(parsed.rows), CHUNK_ROWS)
        ]
        await db.insert_chunked(parts)
    return await get_upload(supplier_id, upload_id)


async def _drop_old_uploads(stamp: dt.datetime) -> None:
    await CatalogUpload.delete().where(
        (CatalogUpload.finished_at.is_null() & (CatalogUpload.created_at < stamp - ABANDONED_AFTER))
        | (CatalogUpload.created_at < stamp - KEPT_FOR)
    )


async def get_upload(supplier_id: int, upload_id: int) -> UploadState:
    row = (
        await CatalogUpload.select()
        .where((CatalogUpload.id == upload_id) & (CatalogUpload.supplier == supplier_id))
        .first()
    )
    if row is None:
        raise NotFound("This catalog upload no longer exists. Upload the file again.")
    return UploadState.from_row(row)


def _cells_by_column(columns: list[str], cells: list[str], delimiter: str) -> tuple[dict[str, str], str | None]:
    row = {}
    for name, cell in zip(columns, cells, strict=False):
        if name:
            row[name] = cell.strip()
    if delimiter != "," and DECIMAL_COMMA.match(row.get("cost", "")):
        row["cost"] = row["cost"].replace(",", ".")  # a decimal comma, as spreadsheets write it in much of Europe
    extra = [cell for cell in cells[len(columns) :] if cell.strip()]
    problem = None
    if extra:
        problem = (
            f"This row has {len(cells)} cells but the header names {len(columns)} columns; "
            "put a value that contains the delimiter in double quotes."
        )
    return row, problem


async def import_next_chunk(supplier_id: int, upload_id: int, offset: int) -> UploadState:
    """Import the part of the upload that starts at row `offset`, unless it has been imported already."""
    upload = await get_upload(supplier_id, upload_id)
    if upload.done or upload.rows_done != offset:
        return upload
    part = (
        await CatalogUploadPart.select(CatalogUploadPart.id, CatalogUploadPart.rows)
        .where((CatalogUploadPart.upload == upload_id) & (CatalogUploadPart.first_row == offset))
        .first()
    )
    if part is None:
        raise NotFound("The rest of this catalog upload is gone (left unfinished too long). Upload the file again.")
    rows = json.loads(part["rows"])
    suppliers = await SupplierNames.load(default=supplier_id)
    result = CatalogImportResult(total=len(rows))
    valid: list[tuple[int, dict]] = []
    for line, cells in rows:
        row, problem = _cells_by_column(upload.columns, cells, upload.delimiter)
        if problem:
            result.errors.append(RowError(line, problem))
            continue
        entry = validate_row(line, row, suppliers, result)
        if entry:
            valid.append((line, entry))
    async with db.transaction():
        claimed = (
            await CatalogUpload.update({CatalogUpload.rows_done: offset + len(rows)})
            .where((CatalogUpload.id == upload_id) & (CatalogUpload.rows_done == offset))
            .returning(CatalogUpload.id)
        )
        if claimed:
            await store_rows(valid, result)
            current = (
                await CatalogUpload.select(
                    CatalogUpload.created, CatalogUpload.updated, CatalogUpload.error_rows, CatalogUpload.errors
                )
                .where(CatalogUpload.id == upload_id)
                .first()
            )
            kept = json.loads(current["errors"] or "[]")
            kept += [[e.line, e.message] for e in sorted(result.errors, key=lambda e: e.line)]
            finished = offset + len(rows) >= upload.total_rows
            await CatalogUpload.update(
                {
                    CatalogUpload.created: current["created"] + result.created,
                    CatalogUpload.updated: current["updated"] + result.updated,
                    CatalogUpload.error_rows: current["error_rows"] + len(result.errors),
                    CatalogUpload.errors: json.dumps(kept[:KEPT_ERRORS], ensure_ascii=False),
                    CatalogUpload.finished_at: now() if finished else None,
                }
            ).where(CatalogUpload.id == upload_id)
            await CatalogUploadPart.delete().where(CatalogUploadPart.id == part["id"])
    return await get_upload(supplier_id, upload_id)


async def import_all(supplier_id: int, upload_id: int) -> UploadState:
    """Import every remaining part (for a plain form post, without the page's progress requests)."""
    upload = await get_upload(supplier_id, upload_id)
    while not upload.done:
        before = upload.rows_done
        upload = await import_next_chunk(supplier_id, upload_id, before)
        if upload.rows_done == before:  # cannot happen while parts exist; never loop for ever
            break
    return upload


async def latest_upload(supplier_id: int) -> UploadState | None:
    row = (
        await CatalogUpload.select()
        .where(CatalogUpload.supplier == supplier_id)
        .order_by(CatalogUpload.id, ascending=False)
        .first()
    )
    return UploadState.from_row(row) if row else None
