"""Add supplier and Edit supplier over HTTP: credentials encrypted and never shown back, validation that
keeps what was typed, the kind fixed once orders went out, and only admins allowed."""

from __future__ import annotations

import html
import re

import httpx

from connectors.sandbox.bigbuy import DEFAULT_API_KEY, BigBuySandbox
from models.accounts import credentials
from models.core.clock import now
from models.db.tables import Supplier, SupplierOrder
from tests.conftest import csrf_from, import_one, login, make_order

SHIPBOB_TOKEN = "pat-shipbob-0123456789"


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def field_error(page: str, key: str) -> str:
    """The message shown under one field of the form."""
    match = re.search(rf'<p class="field-error" id="{key}-error">([^<]*)</p>', page)
    assert match, f"no error under {key}"
    return html.unescape(match.group(1))


def input_value(page: str, field_id: str) -> str:
    match = re.search(rf'<input id="{field_id}"[^>]*?value="([^"]*)"', page, re.S)
    assert match, f"no input {field_id}"
    return html.unescape(match.group(1))


async def open_form(client: httpx.AsyncClient, path: str = "/suppliers/new") -> tuple[str, str]:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return page.text, csrf_from(page.text)


def bigbuy_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "_csrf_token": token,
        "name": "BigBuy EU",
        "kind": "bigbuy",
        "base_url": "https://api.bigbuy.eu/",
        "cred_bigbuy_api_key": "live-key-0123456789",
        "prepaid": "on",
        "active": "on",
    }
    form.update(fields)
    return form


def shipbob_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "_csrf_token": token,
        "name": "ShipBob US",
        "kind": "shipbob",
        "base_url": "https://api.shipbob.com",
        "cred_shipbob_token": SHIPBOB_TOKEN,
        "cred_shipbob_channel_id": "4711",
        "active": "on",
    }
    form.update(fields)
    return form


async def add_through_form(client: httpx.AsyncClient, form: dict[str, str]) -> int:
    response = await client.post("/suppliers", data=form, follow_redirects=False)
    assert response.status_code in (302, 303), text_of(response.text)
    match = re.fullmatch(r"/suppliers/(\d+)\?created=1", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def stored(supplier_id: int) -> dict:
    return await Supplier.select().where(Supplier.id == supplier_id).first()


# Adding ------------------------------------------------------------------------------------------------


async def test_admin_adds_a_bigbuy_supplier_whose_wallet_then_refreshes_from_the_sandbox(client, users, serve_sandbox):
    sandbox_url = serve_sandbox(BigBuySandbox(seed=3))
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{sandbox_url}/_control/wallet", json={"balance": "88.20"})
        assert answer.status_code == 200, answer.text
    await login(client, "admin")
    listing = await client.get("/suppliers/")
    assert '<a class="btn primary" href="/suppliers/new">Add supplier</a>' in listing.text

    page, token = await open_form(client)
    assert '<option value="bigbuy" data-prepaid="yes" selected>BigBuy</option>' in page
    assert '<option value="shipbob" data-prepaid="no" >ShipBob</option>' in page
    assert re.search(r'<input type="checkbox" id="prepaid" name="prepaid"[^>]*checked>', page), "BigBuy is prepaid"
    assert 'name="cred_bigbuy_api_key" type="password"' in page

    form = bigbuy_form(token, name="  BigBuy   sandbox ", base_url=f"{sandbox_url}/")
    supplier_id = await add_through_form(client, {**form, "cred_bigbuy_api_key": DEFAULT_API_KEY})
    row = await stored(supplier_id)
    assert row["name"] == "BigBuy sandbox" and row["kind"] == "bigbuy" and row["base_url"] == sandbox_url
    assert row["prepaid"] is True and row["active"] is True
    assert DEFAULT_API_KEY not in row["credentials"] and row["credentials"].startswith("enc1:")
    assert credentials.decrypt(row["credentials"]) == {"api_key": DEFAULT_API_KEY}

    page = await client.get(f"/suppliers/{supplier_id}?created=1")
    body = text_of(page.text)
    assert "Supplier added. Import its catalog below so orders are routed to it. Refresh wallet checks" in body
    assert "API key stored (never shown)" in body and DEFAULT_API_KEY not in page.text
    assert f'<a class="btn" href="/suppliers/{supplier_id}/edit">Edit supplier</a>' in page.text

    refreshed = await client.post(f"/suppliers/{supplier_id}/wallet/refresh", data={"_csrf_token": token})
    assert refreshed.status_code == 200 and "Balance refreshed." in text_of(refreshed.text)
    assert (await stored(supplier_id))["wallet_balance"] == 8_820


async def test_a_shipbob_supplier_needs_its_token_and_a_numeric_channel_id_and_has_no_wallet(client, users):
    await login(client, "admin")
    _, token = await open_form(client)
    refused = await client.post(
        "/suppliers",
        data=shipbob_form(token, cred_shipbob_token="", cred_shipbob_channel_id="main", prepaid="on"),
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "cred_token") == "Enter the personal access token from ShipBob."
    assert field_error(refused.text, "cred_channel_id").startswith("The ShipBob channel id is a number")
    assert "not “main”" in field_error(refused.text, "cred_channel_id")
    assert field_error(refused.text, "prepaid") == (
        "ShipBob has no prepaid wallet (it bills by invoice): untick Prepaid wallet."
    )
    assert await Supplier.count() == 0

    supplier_id = await add_through_form(client, shipbob_form(token))
    row = await stored(supplier_id)
    assert row["prepaid"] is False
    assert credentials.decrypt(row["credentials"]) == {"token": SHIPBOB_TOKEN, "channel_id": "4711"}
    page = text_of((await client.get(f"/suppliers/{supplier_id}?created=1")).text)
    assert "Supplier added." in page and "Refresh wallet" not in page
    assert "Personal access token stored (never shown) Channel id 4711" in page, "an id is no secret"
    assert SHIPBOB_TOKEN not in page


async def test_bad_input_comes_back_with_what_was_typed_and_a_message_per_field(client, users):
    await login(client, "admin")
    _, token = await open_form(client)
    await add_through_form(client, bigbuy_form(token, name="BigBuy"))

    response = await client.post(
        "/suppliers",
        data=bigbuy_form(token, name="bigbuy", base_url="api.bigbuy.eu", cred_bigbuy_api_key="typed-key", active=""),
    )
    assert response.status_code == 422
    page = response.text
    assert "Please correct the fields marked below; nothing was saved." in html.unescape(page)
    assert field_error(page, "name") == (
        "A supplier named “bigbuy” already exists: choose another name, or edit that supplier."
    )
    assert field_error(page, "base_url") == (
        "Enter the API base URL, starting with https:// (e.g. https://api.bigbuy.eu)."
    )
    assert input_value(page, "name") == "bigbuy" and input_value(page, "base_url") == "api.bigbuy.eu"
    assert input_value(page, "cred_bigbuy_api_key") == "typed-key", "what was typed is not lost"
    assert 'aria-invalid="true"' in page and 'aria-describedby="name-error"' in page
    assert re.search(r'id="prepaid" name="prepaid"[^>]*checked', page)
    assert not re.search(r'id="active" name="active"[^>]*checked', page), "an unticked box stays unticked"
    assert await Supplier.count() == 1

    blank = await client.post("/suppliers", data={"_csrf_token": token, "kind": "warehouse9"})
    assert blank.status_code == 422
    assert field_error(blank.text, "name") == "Give the supplier a name, e.g. “BigBuy EU”."
    assert field_error(blank.text, "kind") == "Choose a supplier kind from the list."
    too_long = await client.post("/suppliers", data=bigbuy_form(token, name="x" * 101))
    assert field_error(too_long.text, "name") == "Use at most 100 characters."
    no_key = await client.post("/suppliers", data=bigbuy_form(token, name="Other", cred_bigbuy_api_key=" "))
    assert field_error(no_key.text, "cred_api_key") == "Enter the API key from BigBuy."
    assert await Supplier.count() == 1


# Editing -----------------------------------------------------------------------------------------------


async def test_edit_keeps_a_secret_left_empty_replaces_a_typed_one_and_never_shows_it(client, users):
    await login(client, "admin")
    _, token = await open_form(client)
    supplier_id = await add_through_form(client, shipbob_form(token))

    page, token = await open_form(client, f"/suppliers/{supplier_id}/edit")
    assert SHIPBOB_TOKEN not in page
    assert 'placeholder="stored — leave empty to keep"' in html.unescape(page)
    assert input_value(page, "cred_shipbob_channel_id") == "4711", "an id is not a secret: it is shown"
    assert input_value(page, "name") == "ShipBob US"

    saved = await client.post(
        f"/suppliers/{supplier_id}",
        data=shipbob_form(token, name="ShipBob EU", cred_shipbob_token="", cred_shipbob_channel_id="99", active=""),
        follow_redirects=False,
    )
    assert saved.status_code in (302, 303) and saved.headers["location"] == f"/suppliers/{supplier_id}?saved=1"
    row = await stored(supplier_id)
    assert row["name"] == "ShipBob EU" and row["active"] is False
    assert credentials.decrypt(row["credentials"]) == {"token": SHIPBOB_TOKEN, "channel_id": "99"}
    detail = text_of((await client.get(saved.headers["location"])).text)
    assert "Supplier saved." in detail and "Paused" in detail

    await client.post(f"/suppliers/{supplier_id}", data=shipbob_form(token, cred_shipbob_token="pat-new"))
    assert credentials.decrypt((await stored(supplier_id))["credentials"])["token"] == "pat-new"

    cleared = await client.post(f"/suppliers/{supplier_id}", data=shipbob_form(token, cred_shipbob_channel_id=""))
    assert cleared.status_code == 422
    assert field_error(cleared.text, "cred_channel_id") == "Enter the channel id from ShipBob."

    # Its own name is no clash; another supplier's name is, whatever the case.
    await add_through_form(client, bigbuy_form(token, name="BigBuy"))
    clash = await client.post(f"/suppliers/{supplier_id}", data=shipbob_form(token, name="BIGBUY"))
    assert clash.status_code == 422 and "A supplier named “BIGBUY” already exists" in field_error(clash.text, "name")
    assert (await stored(supplier_id))["name"] == "ShipBob US"


async def test_changing_the_kind_needs_the_new_kinds_credentials_and_is_refused_once_orders_went_out(
    client, users, channel
):
    await login(client, "admin")
    _, token = await open_form(client)
    supplier_id = await add_through_form(client, bigbuy_form(token))

    # The BigBuy key does not carry over to ShipBob.
    switched = await client.post(f"/suppliers/{supplier_id}", data=shipbob_form(token, cred_shipbob_token=""))
    assert switched.status_code == 422
    assert field_error(switched.text, "cred_token") == "Enter the personal access token from ShipBob."
    switched = await client.post(f"/suppliers/{supplier_id}", data=shipbob_form(token), follow_redirects=False)
    assert switched.status_code in (302, 303)
    row = await stored(supplier_id)
    assert row["kind"] == "shipbob" and row["prepaid"] is False
    assert credentials.decrypt(row["credentials"]) == {"token": SHIPBOB_TOKEN, "channel_id": "4711"}

    order_id = await import_one(channel, make_order("K-1"))
    await SupplierOrder.insert(
        SupplierOrder(
            order=order_id,
            supplier=supplier_id,
            internal_reference=f"WB{order_id}-{supplier_id}",
            status="processed",
            created_at=now(),
            updated_at=now(),
        )
    )
    page, token = await open_form(client, f"/suppliers/{supplier_id}/edit")
    assert "Orders were already sent to ShipBob US through this connection, so its kind stays." in text_of(page)
    refused = await client.post(f"/suppliers/{supplier_id}", data=bigbuy_form(token, name="ShipBob US"))
    assert refused.status_code == 422
    assert field_error(refused.text, "kind").startswith(
        "ShipBob US already has orders sent through its shipbob connection"
    )
    assert (await stored(supplier_id))["kind"] == "shipbob"


async def test_a_supplier_without_a_connector_can_still_be_renamed_and_paused(client, users):
    secret = credentials.encrypt({"pin": "1234"})
    await Supplier.insert(Supplier(name="Local warehouse", kind="demo", credentials=secret, created_at=now()))
    supplier = await Supplier.select().where(Supplier.name == "Local warehouse").first()
    await login(client, "admin")
    page, token = await open_form(client, f"/suppliers/{supplier['id']}/edit")
    assert '<option value="demo" data-prepaid="unknown" selected>demo (no connector)</option>' in page
    saved = await client.post(
        f"/suppliers/{supplier['id']}",
        data={"_csrf_token": token, "name": "Back room", "kind": "demo", "base_url": ""},
        follow_redirects=False,
    )
    assert saved.status_code in (302, 303), text_of(saved.text)
    row = await stored(supplier["id"])
    assert row["name"] == "Back room" and row["active"] is False and row["kind"] == "demo"
    assert credentials.decrypt(row["credentials"]) == {"pin": "1234"}, "credentials it cannot read stay as they are"


# Who may -----------------------------------------------------------------------------------------------


async def test_only_admins_add_and_edit_suppliers(client, users):
    await Supplier.insert(Supplier(name="BigBuy", kind="bigbuy", base_url="https://api.bigbuy.eu", created_at=now()))
    supplier = await Supplier.select().where(Supplier.name == "BigBuy").first()
    sid = supplier["id"]
    for role in ("operator", "viewer"):
        await login(client, role)
        listing = await client.get("/suppliers/")
        assert "/suppliers/new" not in listing.text
        page = await client.get(f"/suppliers/{sid}")
        assert "Edit supplier" not in page.text
        headers = {"X-CSRFToken": csrf_from(page.text)}
        for path in ("/suppliers/new", f"/suppliers/{sid}/edit"):
            refused = await client.get(path)
            assert refused.status_code == 403, (role, path)
            assert f"Only admins can do this; your role is {role}." in text_of(refused.text)
        for path in ("/suppliers", f"/suppliers/{sid}"):
            refused = await client.post(path, headers=headers, data={"name": "Taken over", "kind": "bigbuy"})
            assert refused.status_code == 403, (role, path)
        assert await Supplier.count() == 1 and (await stored(sid))["name"] == "BigBuy"
