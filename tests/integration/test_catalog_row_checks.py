"""Catalog rows with values the columns cannot hold, through the supplier page's upload on both
databases: each is refused with its line and what is accepted, the other rows of its chunk are
imported, and no chunk answers 500 — including a file whose rows are all refused."""

from __future__ import annotations

import html
import re

from models import db
from models.core.clock import now
from models.db.tables import CatalogItem, CatalogUpload, Supplier
from models.stock.catalog import (
    NOT_STORED,
    CatalogImportResult,
    RowError,
    import_catalog_csv,
    store_rows,
)
from tests.conftest import csrf_from, login
from tests.integration.test_supplier_page import add_supplier, as_user, next_request, text_of, upload

COST_ACCEPTED = "a cost must be at most 99,999,999.99"
PRIORITY_ACCEPTED = "a priority is a whole number from 0 to 1,000,000"
#: Padding that puts the later rows past the first 64 KiB, which the upload checks whole for NUL bytes.
PAD = "-" + "P" * 60


async def import_through_page(client, supplier_id: int, headers: dict, content: bytes) -> tuple[str, list[int]]:
    """Upload the file, then make every chunk request the fragment asks for; the last fragment and
    the status of each response."""
    response = await upload(client, supplier_id, headers, content)
    statuses = [response.status_code]
    fragment = response.text
    while statuses[-1] == 200 and (step := next_request(fragment)):
        url, offset = step
        response = await client.post(url, headers=headers, data={"offset": str(offset)})
        statuses.append(response.status_code)
        fragment = response.text
    return fragment, statuses


def row_errors(fragment: str) -> dict[int, str]:
    """The summary's table of rows with errors: message by line."""
    cells = re.findall(r'<td class="num mono">(\d+)</td><td>([^<]+)</td>', fragment)
    return {int(line): html.unescape(message) for line, message in cells}


async def test_values_out_of_range_are_refused_by_line_and_every_other_row_is_imported(client, users):
    supplier = await add_supplier()
    lines = ["channel_sku,supplier_sku,cost,currency,priority"]
    lines += [f"SKU-{n:05d},BB-{n:05d}{PAD},{n % 50}.{n % 100:02d},EUR,{10 + n % 3}" for n in range(1, 1101)]
    bad = {
        # the first chunk (file lines 2..501)
        3: "SKU-00002,BB-00002,99999999999999999999.00,EUR,1",
        4: "SKU-00003,BB-00003,1.00,EUR,99999999999999999999",
        5: "SKU-00004,BB-00004,1.00,EUR,3000000000",  # fits SQLite's integer, not PostgreSQL's
        6: "SKU-00005,BB-00005,-1.00,EUR,-1",
        7: "SKU-00006,BB-00006,1e5,EUR,1",
        8: "SKU-00007,BB-00007,NaN,EUR,1",
        9: "SKU-00008,BB-00008,99999999.995,EUR,1",  # rounds up to a cent past the largest cost
        10: "SKU-00009," + "B" * 101 + ",1.00,EUR,1",
        11: "SKU-00010\u200b,BB-00010,1.00,EUR,1",
        12: "SKU-00011,BB-00011,1.00,ÉUR,1",
        # the last chunk (file lines 1002..1101), past the first 64 KiB
        1050: "SKU-01049,BB-\x00-01049,1.00,EUR,1",
        # the most each column accepts
        1100: "SKU-01099,BB-01099,99999999.99,EUR,1000000",
        1101: "S" * 100 + ",BB-01100,0,eur,0",
    }
    for line, text in bad.items():
        lines[line - 1] = text
    content = ("\n".join(lines) + "\n").encode()
    assert content.index(b"\x00") > 65536
    headers = await as_user(client, "operator", supplier["id"])

    fragment, statuses = await import_through_page(client, supplier["id"], headers, content)

    assert statuses == [200, 200, 200, 200], "the upload, then three chunks of 500, 500 and 100 rows"
    assert "1,100 rows: 1,089 added, 0 updated, 11 with errors" in text_of(fragment)
    assert row_errors(fragment) == {
        3: f"Cost “99999999999999999999.00” is too large: {COST_ACCEPTED}.",
        4: f"Priority “99999999999999999999” is out of range: {PRIORITY_ACCEPTED}.",
        5: f"Priority “3000000000” is out of range: {PRIORITY_ACCEPTED}.",
        6: f"Cost “-1.00” is below zero: a cost must be 0 or more; priority “-1” is out of range: {PRIORITY_ACCEPTED}.",
        7: "Cost “1e5” is not an amount (write it like 12.30).",
        8: "Cost “NaN” is not an amount (write it like 12.30).",
        9: f"Cost “99999999.995” is too large: {COST_ACCEPTED}.",
        10: "The supplier SKU is 101 characters long: at most 100 are accepted.",
        11: "The channel SKU contains a control or invisible character (U+200B): remove it.",
        12: "Currency “ÉUR” is not a three-letter code such as EUR.",
        1050: "The supplier SKU contains a control or invisible character (U+0000): remove it.",
    }

    stored = {
        row["channel_sku"]: row for row in await CatalogItem.select().where(CatalogItem.supplier == supplier["id"])
    }
    assert len(stored) == 1089
    assert not {"SKU-00002", "SKU-00003", "SKU-00004", "SKU-01049"} & set(stored)
    assert (stored["SKU-00001"]["cost"], stored["SKU-00001"]["priority"]) == (101, 11)
    assert (stored["SKU-01099"]["cost"], stored["SKU-01099"]["priority"]) == (9_999_999_999, 1_000_000)
    widest = stored["S" * 100]
    assert (widest["cost"], widest["currency"], widest["priority"]) == (0, "EUR", 0)
    finished = await CatalogUpload.select().first()
    assert finished["finished_at"] is not None and finished["error_rows"] == 11


async def test_a_file_whose_rows_are_all_refused_finishes_with_a_summary_of_each_row(client, users):
    supplier = await add_supplier()
    content = (
        b"channel_sku,supplier_sku,cost,priority\n"
        b"A,BB-A,99999999999999999999.00,1\n"
        b"B,BB-B,1.00,99999999999999999999\n"
        b"\n"
        b",BB-C,1.00,1\n"
    )
    headers = await as_user(client, "operator", supplier["id"])

    fragment, statuses = await import_through_page(client, supplier["id"], headers, content)

    assert statuses == [200, 200]
    assert next_request(fragment) is None
    assert "Imported catalog.csv: 3 of 3 rows" in text_of(fragment)
    assert "3 rows: 0 added, 0 updated, 3 with errors" in text_of(fragment)
    assert row_errors(fragment) == {
        2: f"Cost “99999999999999999999.00” is too large: {COST_ACCEPTED}.",
        3: f"Priority “99999999999999999999” is out of range: {PRIORITY_ACCEPTED}.",
        5: "The channel SKU is empty.",
    }
    assert await CatalogItem.count() == 0
    assert (await CatalogUpload.select().first())["finished_at"] is not None

    page = await client.get(f"/suppliers/{supplier['id']}")
    assert page.status_code == 200 and "3 rows: 0 added, 0 updated, 3 with errors" in text_of(page.text)


async def test_a_plain_form_post_of_refused_rows_redirects_to_the_summary(client, users):
    supplier = await add_supplier()
    await login(client, "operator")
    token = csrf_from((await client.get(f"/suppliers/{supplier['id']}")).text)
    content = b"channel_sku;supplier_sku;cost;priority\nA;BB-A;99999999999999999999,00;1\nB;BB-B;1,00;3000000000\n"

    response = await client.post(
        f"/suppliers/{supplier['id']}/catalog/uploads",
        data={"_csrf_token": token},
        files={"file": ("refused.csv", content, "text/csv")},
        follow_redirects=False,
    )

    assert response.status_code in (302, 303), response.text
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert "2 rows: 0 added, 0 updated, 2 with errors" in text_of(page.text)
    assert row_errors(page.text) == {
        2: f"Cost “99999999999999999999.00” is too large: {COST_ACCEPTED}.",
        3: f"Priority “3000000000” is out of range: {PRIORITY_ACCEPTED}.",
    }
    assert await CatalogItem.count() == 0


async def test_the_csv_import_checks_the_same_bounds(database_url):
    await Supplier.insert(Supplier(name="BigBuy", kind="demo", created_at=now()))
    result = await import_catalog_csv(
        "channel_sku,supplier,supplier_sku,cost,priority\n"
        "A,BigBuy,BB-A,99999999999999999999.00,1\n"
        "B,BigBuy,BB-B,1.00,99999999999999999999\n"
        "C,²,BB-C,1.00,1\n"
        "D,BigBuy,BB-D,2.50,7\n"
    )
    assert (result.total, result.created, result.updated) == (4, 1, 0)
    assert [(e.line, e.message) for e in result.errors] == [
        (2, f"Cost “99999999999999999999.00” is too large: {COST_ACCEPTED}."),
        (3, f"Priority “99999999999999999999” is out of range: {PRIORITY_ACCEPTED}."),
        (4, "No supplier is called “²”."),
    ]
    assert [(r["channel_sku"], r["cost"], r["priority"]) for r in await CatalogItem.select()] == [("D", 250, 7)]


async def test_a_value_the_database_refuses_leaves_out_only_its_row_and_the_transaction_goes_on(database_url):
    """Values past the checks (a priority beyond 64 bits, refused as it is sent; a supplier that is gone,
    refused by the database itself) are reported with their lines; the batch is stored row by row
    around them, inside the caller's transaction."""
    rows = await Supplier.insert(Supplier(name="BigBuy", kind="demo", created_at=now())).returning(Supplier.id)
    supplier_id = rows[0]["id"]

    def entry(sku: str, priority: int, supplier: int = supplier_id) -> dict:
        return {
            "channel_sku": sku,
            "supplier": supplier,
            "supplier_sku": f"BB-{sku}",
            "cost": 100,
            "currency": "EUR",
            "priority": priority,
        }

    await store_rows([(2, entry("A", 5))], CatalogImportResult())
    result = CatalogImportResult()
    async with db.transaction():
        await store_rows(
            [(2, entry("A", 6)), (3, entry("B", 2**70)), (4, entry("C", 7)), (5, entry("D", 8, supplier_id + 99))],
            result,
        )
        # the caller's transaction still takes statements (on PostgreSQL it would be aborted)
        await Supplier.update({Supplier.name: "BigBuy EU"}).where(Supplier.id == supplier_id)

    assert result.errors == [RowError(3, NOT_STORED), RowError(5, NOT_STORED)]
    assert (result.created, result.updated) == (1, 1)
    stored = {
        r["channel_sku"]: r["priority"] for r in await CatalogItem.select(CatalogItem.channel_sku, CatalogItem.priority)
    }
    assert stored == {"A": 6, "C": 7}
    assert (await Supplier.select(Supplier.name).first())["name"] == "BigBuy EU"
