"""The supplier page over HTTP: wallet refresh against the BigBuy sandbox, catalog import in chunks,
the catalog table, shipping mappings, the orders waiting on a supplier, and role checks."""

from __future__ import annotations

import html
import re
import socket

import httpx
import pytest

from connectors.sandbox.bigbuy import DEFAULT_API_KEY, BigBuySandbox
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import (
    CatalogItem,
    CatalogUpload,
    CatalogUploadPart,
    Channel,
    Order,
    ShippingMapping,
    Supplier,
    SupplierOrder,
    SyncIssue,
)
from models.stock.catalog import PAGE_SIZE, import_catalog_csv
from models.stock.catalog_uploads import CHUNK_ROWS, MAX_BYTES
from tests.conftest import csrf_from, import_one, login, make_order
from web.pages import forget_timezone


@pytest.fixture(autouse=True)
def fresh_timezone_cache():
    forget_timezone()
    yield
    forget_timezone()


async def add_supplier(
    name: str = "BigBuy", kind: str = "bigbuy", prepaid: bool = True, base_url: str = "", **fields
) -> dict:
    """A supplier row; credentials are encrypted with the running app's key (configured by `client`)."""
    await Supplier.insert(
        Supplier(
            name=name,
            kind=kind,
            base_url=base_url,
            credentials=credentials.encrypt({"api_key": DEFAULT_API_KEY}),
            prepaid=prepaid,
            created_at=now(),
            **fields,
        )
    )
    return await Supplier.select().where(Supplier.name == name).first()


async def as_user(client: httpx.AsyncClient, username: str, supplier_id: int) -> dict[str, str]:
    """Log in and open the supplier page; returns the headers htmx sends (with the CSRF token)."""
    await login(client, username)
    page = await client.get(f"/suppliers/{supplier_id}")
    assert page.status_code == 200, page.text
    return {"HX-Request": "true", "X-CSRFToken": csrf_from(page.text)}


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


# The page ------------------------------------------------------------------------------------------


async def test_list_links_each_supplier_to_its_page_with_facts_and_wallet(client, users):
    bigbuy = await add_supplier(base_url="https://api.bigbuy.eu", wallet_balance=12_345)
    shipbob = await add_supplier("ShipBob", kind="shipbob", prepaid=False)
    await login(client, "viewer")
    listing = await client.get("/suppliers/")
    assert f'href="/suppliers/{bigbuy["id"]}"' in listing.text
    assert f'href="/suppliers/{shipbob["id"]}"' in listing.text

    page = await client.get(f"/suppliers/{bigbuy['id']}")
    assert page.status_code == 200
    body = text_of(page.text)
    assert '<nav class="crumbs" aria-label="Breadcrumb"><a href="/suppliers">' in page.text
    assert "BigBuy" in body and "https://api.bigbuy.eu" in body and "Active" in body
    assert "€123.45" in body and "Never refreshed from BigBuy" in body
    assert "No order is held for the wallet." in body and ">Resubmit all<" not in page.text
    assert "Refresh wallet" not in page.text  # a viewer changes nothing
    assert "Import catalog" not in page.text and "Add mapping" not in page.text

    invoiced = text_of((await client.get(f"/suppliers/{shipbob['id']}")).text)
    assert "No wallet: ShipBob bills by invoice" in invoiced

    missing = await client.get("/suppliers/999999")
    assert missing.status_code == 404 and "Supplier 999999 does not exist." in missing.text


async def test_orders_waiting_count_only_counts_review_orders_whose_supplier_order_failed(client, users, channel):
    supplier = await add_supplier()
    other = await add_supplier("Other", kind="demo", prepaid=False)
    stamp = now()

    async def supplier_order(order_id: int, supplier_id: int, status: str) -> None:
        await SupplierOrder.insert(
            SupplierOrder(
                order=order_id,
                supplier=supplier_id,
                internal_reference=f"WB{order_id}-{supplier_id}",
                status=status,
                created_at=stamp,
                updated_at=stamp,
            )
        )

    waiting = await import_one(channel, make_order("W-1", last_name=""))  # held for review
    await supplier_order(waiting, supplier["id"], "failed")
    elsewhere = await import_one(channel, make_order("W-2", last_name=""))
    await supplier_order(elsewhere, other["id"], "failed")
    moving = await import_one(channel, make_order("W-3"))
    await supplier_order(moving, supplier["id"], "failed")
    assert (await Order.select(Order.status).where(Order.id == waiting).first())["status"] == "pending_review"
    assert (await Order.select(Order.status).where(Order.id == moving).first())["status"] != "pending_review"

    await login(client, "viewer")
    page = await client.get(f"/suppliers/{supplier['id']}")
    assert "1 order in Pending review" in text_of(page.text)
    assert f'href="/orders?tab=pending_review&amp;supplier={supplier["id"]}"' in page.text
    assert "1 order in Pending review" in text_of((await client.get(f"/suppliers/{other['id']}")).text)
    idle = await add_supplier("Idle", kind="demo", prepaid=False)
    assert '<span class="ok">None</span>' in (await client.get(f"/suppliers/{idle['id']}")).text


# Wallet ------------------------------------------------------------------------------------------


async def test_refresh_wallet_reads_the_bigbuy_sandbox_balance_over_http(client, users, serve_sandbox):
    sandbox_url = serve_sandbox(BigBuySandbox(seed=1))
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{sandbox_url}/_control/wallet", json={"balance": "321.45"})
        assert answer.status_code == 200, answer.text
    supplier = await add_supplier(base_url=sandbox_url)
    headers = await as_user(client, "operator", supplier["id"])

    response = await client.post(f"/suppliers/{supplier['id']}/wallet/refresh", headers=headers)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="wallet"'), "htmx gets only the wallet fragment"
    body = text_of(response.text)
    assert "€321.45" in body and "Balance refreshed." in body and "Refreshed just now" in body
    row = await Supplier.select().where(Supplier.id == supplier["id"]).first()
    assert row["wallet_balance"] == 32_145 and row["wallet_currency"] == "EUR"
    assert row["wallet_updated_at"] is not None


async def test_unreachable_supplier_gives_a_message_and_one_connection_issue_until_it_answers(
    client, users, serve_sandbox
):
    supplier = await add_supplier(base_url=f"http://127.0.0.1:{closed_port()}/sandbox/bigbuy", wallet_balance=500)
    headers = await as_user(client, "admin", supplier["id"])

    for _ in range(2):
        response = await client.post(f"/suppliers/{supplier['id']}/wallet/refresh", headers=headers)
        assert response.status_code == 200
        body = text_of(response.text)
        assert "Could not refresh the wallet: Could not reach BigBuy" in body
        assert "The balance shown is the last one known" in body and "€5.00" in body
        assert 'role="alert"' in response.text
    issues = await SyncIssue.select().where(SyncIssue.integration_kind == "supplier")
    assert len(issues) == 1, "a repeated failure updates the open issue"
    assert issues[0]["integration_id"] == supplier["id"] and issues[0]["operation"] == "wallet"
    assert "Could not reach BigBuy" in issues[0]["remote_message"] and issues[0]["resolved_at"] is None
    assert (await Supplier.select().where(Supplier.id == supplier["id"]).first())["wallet_balance"] == 500
    page = await client.get(f"/suppliers/{supplier['id']}")
    assert "Could not reach BigBuy" in text_of(page.text.split('aria-labelledby="ci-h"')[1])

    # Fixed: the Retry button on Connection issues refreshes the wallet and resolves the issue.
    await Supplier.update({Supplier.base_url: serve_sandbox(BigBuySandbox(seed=2))}).where(
        Supplier.id == supplier["id"]
    )
    retried = await client.post(f"/connection-issues/{issues[0]['id']}/retry", headers=headers)
    assert retried.status_code == 200 and "Retry succeeded" in retried.text
    assert (await Supplier.select().where(Supplier.id == supplier["id"]).first())["wallet_balance"] == 10_000


async def test_supplier_without_connector_or_wallet_explains_instead_of_calling(client, users):
    demo = await add_supplier("Demo dropship", kind="demo")
    invoiced = await add_supplier("Invoiced", kind="bigbuy", prepaid=False)
    headers = await as_user(client, "operator", demo["id"])
    page = await client.get(f"/suppliers/{demo['id']}")
    assert "Refresh wallet" not in page.text and "no connector for “demo” suppliers" in page.text

    response = await client.post(f"/suppliers/{demo['id']}/wallet/refresh", headers=headers)
    assert "Waybill has no connector for suppliers of kind “demo”" in text_of(response.text)
    response = await client.post(f"/suppliers/{invoiced['id']}/wallet/refresh", headers=headers)
    assert "Invoiced bills by invoice: there is no wallet to refresh." in text_of(response.text)
    assert await SyncIssue.count() == 0


# Catalog import ------------------------------------------------------------------------------------


def catalog_csv(rows: int, bad_lines: dict[int, str]) -> str:
    """`rows` data rows without a supplier column; the rows at the given file lines are replaced."""
    lines = ["channel_sku,supplier_sku,cost,currency,priority"]
    for n in range(1, rows + 1):
        lines.append(f"SKU-{n:05d},BB-{n:05d},{n % 50}.{n % 100:02d},EUR,{10 + n % 3}")
    for line, text in bad_lines.items():
        lines[line - 1] = text
    return "\n".join(lines) + "\n"


def next_request(fragment: str) -> tuple[str, int] | None:
    """The chunk request an import fragment makes on load: its URL and offset, or None when done."""
    match = re.search(r'hx-post="([^"]+/next)" hx-vals=\'\{"offset": (\d+)\}\' hx-trigger="load"', fragment)
    return (match.group(1), int(match.group(2))) if match else None


async def upload(client, supplier_id: int, headers: dict, content: bytes, name: str = "catalog.csv"):
    return await client.post(
        f"/suppliers/{supplier_id}/catalog/uploads",
        headers=headers,
        files={"file": (name, content, "text/csv")},
    )


async def test_catalog_upload_is_imported_in_chunks_with_progress_row_errors_and_a_summary(client, users):
    supplier = await add_supplier()
    other = await add_supplier("ShipBob", kind="shipbob", prepaid=False)
    existing = "\n".join(f"SKU-{n:05d},BigBuy,OLD-{n},1.00" for n in range(1, 21))
    await import_catalog_csv("channel_sku,supplier,supplier_sku,cost\n" + existing + "\n")
    await import_catalog_csv("channel_sku,supplier,supplier_sku\nSKU-00001,ShipBob,SB-1\n")
    bad = {
        2 + 30: "SKU-00031,,1.00,EUR,1",  # no supplier SKU
        2 + 600: "SKU-00601,BB-601,12;30,EUR,1",
        2 + 900: ",BB-901,1.00,EUR,1",
        2 + 1200: "SKU-01201,BB-1201,1.00,EURO,x",
    }
    content = catalog_csv(1204, bad).encode()
    headers = await as_user(client, "operator", supplier["id"])

    started = await upload(client, supplier["id"], headers, content)
    assert started.status_code == 200, started.text
    assert "Importing catalog.csv: 0 of 1,204 rows" in text_of(started.text)
    assert '<progress id="catalog-import-progress-' in started.text and 'max="1204" value="0"' in started.text
    assert await CatalogUploadPart.count() == 3  # 500 + 500 + 204 rows, kept until imported

    fragment, requests, progress = started.text, 0, []
    while step := next_request(fragment):
        url, offset = step
        response = await client.post(url, headers=headers, data={"offset": str(offset)})
        assert response.status_code == 200, response.text
        fragment, requests = response.text, requests + 1
        progress.append(int(re.search(r'value="(\d+)"', fragment).group(1)))
    assert CHUNK_ROWS == 500 and requests == 3 and progress == [500, 1000, 1204]
    assert response.headers.get("hx-trigger") == "catalog-changed"
    body = text_of(fragment)
    assert "1,204 rows: 1,180 added, 20 updated, 4 with errors" in body
    errors = re.findall(r'<td class="num mono">(\d+)</td><td>([^<]+)</td>', fragment)
    assert [int(line) for line, _ in errors] == [32, 602, 902, 1202]
    messages = dict((int(line), html.unescape(text)) for line, text in errors)
    assert messages[32] == "The supplier SKU is empty."
    assert messages[602] == "Cost “12;30” is not an amount (write it like 12.30)."
    assert messages[902] == "The channel SKU is empty."
    assert messages[1202] == (
        "Currency “EURO” is not a three-letter code such as EUR; priority “x” is not a whole number."
    )

    assert await CatalogItem.count().where(CatalogItem.supplier == supplier["id"]) == 1200
    first = await CatalogItem.select().where(
        (CatalogItem.channel_sku == "SKU-00001") & (CatalogItem.supplier == supplier["id"])
    )
    assert first[0]["supplier_sku"] == "BB-00001" and first[0]["cost"] == 101 and first[0]["priority"] == 11
    assert await CatalogItem.count().where(CatalogItem.supplier == other["id"]) == 1  # untouched
    assert await CatalogUploadPart.count() == 0, "imported rows are not kept"

    # The same chunk asked for again (a second tab, a retried request) imports nothing twice.
    url = f"/suppliers/{supplier['id']}/catalog/uploads/{(await CatalogUpload.select().first())['id']}/next"
    again = await client.post(url, headers=headers, data={"offset": "0"})
    assert "1,204 rows: 1,180 added, 20 updated, 4 with errors" in text_of(again.text)
    assert next_request(again.text) is None

    # The page shows the last import's summary and the refreshed catalog.
    page = await client.get(f"/suppliers/{supplier['id']}")
    assert "1,204 rows: 1,180 added, 20 updated, 4 with errors" in text_of(page.text)
    assert "1,200 entries in all" in text_of(page.text)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"sku;vendor;price\nA;B;1\n", "missing: channel_sku, supplier_sku"),
        (b"PK\x03\x04\x00\x00binary workbook", "This is not a CSV file"),
        ("channel_sku,supplier_sku\nCAFÉ,1\n".encode("latin-1"), "The file is not UTF-8 text"),
        (b"  \n\n", "The file is empty"),
        (b"channel_sku,supplier_sku\n\n", "The file has a header but no rows to import."),
        (b'channel_sku,supplier_sku\n"A,B\n', "cannot be read as CSV"),
        (b"x" * (MAX_BYTES + 1), "catalog files are limited to 20 MB"),
        (b"x" * (MAX_BYTES + 1024 * 1024), "The file is larger than 20 MB"),
    ],
)
async def test_a_file_that_cannot_be_imported_is_refused_with_a_message_and_nothing_stored(
    client, users, content, message
):
    supplier = await add_supplier()
    headers = await as_user(client, "operator", supplier["id"])
    response = await upload(client, supplier["id"], headers, content, "upload.csv")
    assert response.status_code == 400
    assert message in text_of(response.text) and "Nothing was imported." in text_of(response.text)
    assert 'role="alert"' in response.text
    assert await CatalogUpload.count() == 0 and await CatalogUploadPart.count() == 0
    assert await CatalogItem.count() == 0


async def test_no_file_chosen_is_refused(client, users):
    supplier = await add_supplier()
    headers = await as_user(client, "operator", supplier["id"])
    response = await client.post(
        f"/suppliers/{supplier['id']}/catalog/uploads", headers=headers, files={"other": ("x", b"", "text/plain")}
    )
    assert response.status_code == 400 and "Choose a CSV file to import." in response.text


async def test_plain_form_upload_imports_everything_then_shows_the_summary(client, users):
    supplier = await add_supplier()
    other = await add_supplier("ShipBob", kind="shipbob", prepaid=False)
    await login(client, "admin")
    token = csrf_from((await client.get(f"/suppliers/{supplier['id']}")).text)
    # Semicolons and decimal commas, as spreadsheets write CSV in much of Europe; the supplier column
    # is there but empty in most rows (this supplier), and names another supplier in one.
    content = (
        "\ufeffChannel_SKU;Supplier;Supplier_SKU;Cost;Currency\n"
        "MUG-1;;BB-MUG-1;4,50;EUR\n"
        '"MUG-2";"";"BB-MUG-2";"12,30";EUR\n'
        "MUG-3;ShipBob;SB-MUG-3;3.10;EUR\n"
        "MUG-4;Nobody;X;1;EUR\n"
        "MUG-5;;BB-MUG-5;1;EUR;extra\n"
    ).encode()
    response = await client.post(
        f"/suppliers/{supplier['id']}/catalog/uploads",
        data={"_csrf_token": token},
        files={"file": ("mugs.csv", content, "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert re.fullmatch(rf"/suppliers/{supplier['id']}\?upload=\d+#catalog", location)
    page = text_of((await client.get(location)).text)
    assert "5 rows: 3 added, 0 updated, 2 with errors" in page
    old_link = await client.get(f"/suppliers/{supplier['id']}", params={"upload": 999999})
    assert old_link.status_code == 200 and "5 rows: 3 added" in text_of(old_link.text)  # the latest upload
    assert "No supplier is called “Nobody”." in page
    assert "This row has 6 cells but the header names 5 columns" in page
    costs = {
        row["channel_sku"]: (row["supplier"], row["cost"])
        for row in await CatalogItem.select(CatalogItem.channel_sku, CatalogItem.supplier, CatalogItem.cost)
    }
    assert costs == {"MUG-1": (supplier["id"], 450), "MUG-2": (supplier["id"], 1230), "MUG-3": (other["id"], 310)}


async def test_a_plain_form_post_over_the_size_limit_gets_a_page_that_says_so(client, users):
    supplier = await add_supplier()
    await login(client, "operator")
    token = csrf_from((await client.get(f"/suppliers/{supplier['id']}")).text)
    response = await client.post(
        f"/suppliers/{supplier['id']}/catalog/uploads",
        data={"_csrf_token": token},
        files={"file": ("huge.csv", b"x" * (MAX_BYTES + 1024 * 1024), "text/csv")},
    )
    assert response.status_code == 413
    assert "larger than this form accepts. Nothing was saved" in response.text
    assert await CatalogUpload.count() == 0


async def test_import_csv_with_a_default_supplier_accepts_rows_without_the_supplier_column(database_url):
    await Supplier.insert(Supplier(name="BigBuy", kind="demo", created_at=now()))
    supplier = await Supplier.select().first()
    result = await import_catalog_csv("channel_sku,supplier_sku\nA,BB-A\nB,\n", default_supplier=supplier["id"])
    assert (result.total, result.created, len(result.errors)) == (2, 1, 1)
    assert result.errors[0].message == "The supplier SKU is empty."
    refused = await import_catalog_csv("channel_sku,supplier_sku\nA,BB-A\n")
    assert "missing: supplier" in refused.errors[0].message


async def test_catalog_table_pages_by_channel_sku_and_searches_either_sku(client, users):
    supplier = await add_supplier()
    await add_supplier("ShipBob", kind="shipbob", prepaid=False)
    rows = "".join(f"CH-{n:03d},BigBuy,BB-{n:03d},1.00,EUR,{n}\n" for n in range(1, 121))
    await import_catalog_csv(
        "channel_sku,supplier,supplier_sku,cost,currency,priority\n" + rows + "CH-999,ShipBob,SB-999,2.00,EUR,1\n"
    )
    headers = await as_user(client, "viewer", supplier["id"])
    url = f"/suppliers/{supplier['id']}/catalog"

    first = await client.get(url, headers=headers)
    assert first.text.lstrip().startswith('<div id="catalog-entries"')
    skus = re.findall(r'<td class="mono">(CH-\d+)</td>', first.text)
    assert skus == [f"CH-{n:03d}" for n in range(1, PAGE_SIZE + 1)]
    assert "120 entries in all" in first.text and "CH-999" not in first.text
    next_url = html.unescape(re.search(r'rel="next" href="[^"]+" hx-get="([^"]+)"', first.text).group(1))
    second = await client.get(next_url, headers=headers)
    assert re.findall(r'<td class="mono">(CH-\d+)</td>', second.text)[0] == f"CH-{PAGE_SIZE + 1:03d}"
    assert "First page" in second.text

    found = await client.get(url, params={"q": "bb-11"}, headers=headers)  # any case, either SKU
    assert re.findall(r'<td class="mono">(CH-\d+)</td>', found.text) == [f"CH-{n}" for n in range(110, 120)]
    none = await client.get(url, params={"q": "50%_"}, headers=headers)  # wildcards are literal
    assert "No SKU of BigBuy contains “50%_”." in html.unescape(none.text)

    plain = await client.get(url, params={"q": "CH-1"}, follow_redirects=False)
    assert plain.status_code in (302, 303) and plain.headers["location"].endswith("#catalog")
    page = await client.get(f"/suppliers/{supplier['id']}", params={"q": "ch-12"})
    assert re.findall(r'<td class="mono">(CH-\d+)</td>', page.text) == ["CH-120"]


# Shipping mappings -------------------------------------------------------------------------------


async def test_shipping_mappings_add_edit_delete_and_refuse_duplicates(client, users, channel):
    supplier = await add_supplier()
    order = make_order("SM-1")
    order.shipping_rate = "Free shipping"
    await import_one(channel, order)
    headers = await as_user(client, "operator", supplier["id"])
    base = f"/suppliers/{supplier['id']}/shipping-mappings"

    rates = await client.get(f"{base}/rates", params={"channel": channel["id"]}, headers=headers)
    assert rates.text.strip() == '<datalist id="rate-options"><option value="Free shipping"></option></datalist>'

    empty = await client.post(base, headers=headers, data={"channel": "", "channel_rate": " ", "method": ""})
    assert empty.status_code == 400
    body = html.unescape(empty.text)
    assert "Choose the channel whose shipping rate this is." in body
    assert "Enter the channel's shipping rate name, e.g. “Free shipping”." in body
    assert "Enter the supplier's carrier or shipping method, e.g. “UPS Ground”." in body
    assert await ShippingMapping.count() == 0

    added = await client.post(
        base, headers=headers, data={"channel": str(channel["id"]), "channel_rate": " Free shipping ", "method": "GLS"}
    )
    assert added.status_code == 200 and added.text.lstrip().startswith('<section id="shipping-mappings"')
    assert "Mapping added: “Free shipping” → “GLS”." in html.unescape(added.text)
    assert re.search(r"<td>Test Marketplace</td>\s*<td>Free shipping</td>\s*<td>GLS</td>", added.text)
    mapping = await ShippingMapping.select().first()
    assert (mapping["channel"], mapping["channel_rate"], mapping["supplier"], mapping["method"]) == (
        channel["id"],
        "Free shipping",
        supplier["id"],
        "GLS",
    )

    duplicate = await client.post(
        base, headers=headers, data={"channel": str(channel["id"]), "channel_rate": "Free shipping", "method": "DHL"}
    )
    assert duplicate.status_code == 400
    assert "A mapping for “Free shipping” on Test Marketplace already exists." in html.unescape(duplicate.text)
    assert 'value="DHL"' in duplicate.text, "what was typed is kept"
    assert await ShippingMapping.count() == 1

    editing = await client.get(base, params={"edit": mapping["id"]}, headers=headers)
    assert 'aria-label="Method for “Free shipping” on Test Marketplace"' in html.unescape(editing.text)
    refused = await client.post(f"{base}/{mapping['id']}", headers=headers, data={"method": "  "})
    assert refused.status_code == 400 and "Enter the supplier's carrier" in html.unescape(refused.text)
    saved = await client.post(f"{base}/{mapping['id']}", headers=headers, data={"method": "UPS Ground"})
    assert saved.status_code == 200 and "Mapping saved." in saved.text
    assert (await ShippingMapping.select().first())["method"] == "UPS Ground"
    assert '<option value="UPS Ground"></option>' in saved.text  # the supplier's known methods

    deleted = await client.post(f"{base}/{mapping['id']}/delete", headers=headers)
    assert deleted.status_code == 200 and "Mapping for “Free shipping” deleted." in html.unescape(deleted.text)
    assert await ShippingMapping.count() == 0
    gone = await client.post(f"{base}/{mapping['id']}/delete", headers=headers)
    assert gone.status_code == 404 and "no longer exists" in gone.text


async def test_shipping_mapping_as_plain_form_posts(client, users, channel):
    supplier = await add_supplier()
    second = await Channel.insert(Channel(name="Mirakl", kind="demo", created_at=now())).returning(Channel.id)
    await login(client, "admin")
    token = csrf_from((await client.get(f"/suppliers/{supplier['id']}")).text)
    base = f"/suppliers/{supplier['id']}/shipping-mappings"
    form = {"_csrf_token": token, "channel": str(second[0]["id"]), "channel_rate": "Express", "method": "DHL"}
    added = await client.post(base, data=form, follow_redirects=False)
    assert added.status_code in (302, 303) and added.headers["location"].endswith("#shipping-mappings")
    again = await client.post(base, data=form)
    assert again.status_code == 400 and "<h1>BigBuy</h1>" in again.text
    assert "A mapping for “Express” on Mirakl already exists." in html.unescape(again.text)
    mapping = await ShippingMapping.select().first()
    edit_page = await client.get(f"/suppliers/{supplier['id']}", params={"edit_mapping": mapping["id"]})
    assert 'aria-label="Method for “Express” on Mirakl"' in html.unescape(edit_page.text)
    await client.post(f"{base}/{mapping['id']}", data={"_csrf_token": token, "method": "DHL Express"})
    assert (await ShippingMapping.select().first())["method"] == "DHL Express"


# Roles -----------------------------------------------------------------------------------------------


async def test_a_viewer_can_look_but_not_post(client, users, channel):
    supplier = await add_supplier(base_url="http://127.0.0.1:9/none")
    await ShippingMapping.insert(
        ShippingMapping(channel=channel["id"], channel_rate="Free shipping", supplier=supplier["id"], method="GLS")
    )
    mapping = await ShippingMapping.select().first()
    headers = await as_user(client, "viewer", supplier["id"])
    sid = supplier["id"]
    posts = [
        (f"/suppliers/{sid}/wallet/refresh", {}),
        (f"/suppliers/{sid}/shipping-mappings", {"channel": str(channel["id"]), "channel_rate": "X", "method": "Y"}),
        (f"/suppliers/{sid}/shipping-mappings/{mapping['id']}", {"method": "Y"}),
        (f"/suppliers/{sid}/shipping-mappings/{mapping['id']}/delete", {}),
        (f"/suppliers/{sid}/catalog/uploads/1/next", {"offset": "0"}),
    ]
    for path, data in posts:
        response = await client.post(path, headers=headers, data=data)
        assert response.status_code == 403, path
        assert "can view orders but not change them" in response.text
    refused = await upload(client, sid, headers, b"channel_sku,supplier_sku\nA,B\n")
    assert refused.status_code == 403
    assert await CatalogUpload.count() == 0 and await CatalogItem.count() == 0
    assert (await ShippingMapping.select().first())["method"] == "GLS"
    assert await SyncIssue.count() == 0, "the viewer's refresh never reached the supplier"

    anonymous = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with anonymous:
        response = await anonymous.get(f"/suppliers/{sid}", follow_redirects=False)
        assert response.status_code in (302, 303, 307)
