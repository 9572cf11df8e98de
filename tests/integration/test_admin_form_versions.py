"""Two admins editing the same channel, supplier or carrier: the second save, based on the version the first
one replaced, is refused with a message and keeps what was typed; the first admin's change stays."""

from __future__ import annotations

import re

import pytest

from models.core.app_settings import get_setting
from models.core.clock import now
from models.db.tables import Carrier, Channel, Supplier
from tests.conftest import csrf_from, login

CHANGED_MEANWHILE = "was changed by someone else after you opened this form, so nothing was saved"


def hidden_version(page: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', page)
    assert match, "the form carries the version it was opened with"
    return match.group(1)


async def opened(client, path: str) -> tuple[str, str]:
    """(csrf token, version) of an edit form as a browser tab holds them."""
    page = (await client.get(path)).text
    return csrf_from(page), hidden_version(page)


def channel_form(token: str, version: str, name: str) -> dict[str, str]:
    return {
        "_csrf_token": token,
        "version": version,
        "name": name,
        "kind": "mirakl",
        "base_url": "https://fnac.example",
        "poll_interval_s": "300",
        "currency": "EUR",
        "active": "on",
    }


def supplier_form(token: str, version: str, name: str) -> dict[str, str]:
    return {
        "_csrf_token": token,
        "version": version,
        "name": name,
        "kind": "bigbuy",
        "base_url": "https://api.bigbuy.eu/",
        "cred_bigbuy_api_key": "live-key-0123456789",
        "active": "on",
    }


def carrier_form(token: str, version: str, name: str) -> dict[str, str]:
    return {"_csrf_token": token, "version": version, "name": name, "tracking_url_pattern": ""}


async def new_channel() -> tuple[str, int]:
    rows = await Channel.insert(
        Channel(name="Fnac", kind="mirakl", base_url="https://fnac.example", created_at=now())
    ).returning(Channel.id)
    return "channels", rows[0]["id"]


async def new_supplier() -> tuple[str, int]:
    rows = await Supplier.insert(
        Supplier(name="BigBuy", kind="bigbuy", base_url="https://api.bigbuy.eu/", created_at=now())
    ).returning(Supplier.id)
    return "suppliers", rows[0]["id"]


async def new_carrier() -> tuple[str, int]:
    rows = await Carrier.insert(Carrier(name="DHL", active=True)).returning(Carrier.id)
    return "carriers", rows[0]["id"]


CASES = {
    "channel": (new_channel, channel_form, Channel, "/channels/{id}/edit", "/channels/{id}"),
    "supplier": (new_supplier, supplier_form, Supplier, "/suppliers/{id}/edit", "/suppliers/{id}"),
    "carrier": (new_carrier, carrier_form, Carrier, "/settings/carriers/{id}/edit", "/settings/carriers/{id}"),
}


@pytest.mark.parametrize("kind", list(CASES))
async def test_the_second_of_two_admins_saving_the_same_form_is_told_and_overwrites_nothing(client, users, kind):
    create, form, table, edit_path, save_path = CASES[kind]
    _, row_id = await create()
    await login(client, "admin")
    edit, save = edit_path.format(id=row_id), save_path.format(id=row_id)
    first_tab = await opened(client, edit)
    second_tab = await opened(client, edit)

    first = await client.post(save, data=form(*first_tab, name="Saved first"))
    assert first.status_code == 200, first.text
    second = await client.post(save, data=form(*second_tab, name="Saved second"))
    assert second.status_code == 409
    assert CHANGED_MEANWHILE in second.text
    assert 'value="Saved second"' in second.text, "what the second admin typed is still in the form"
    row = await table.select(table.name, table.version).where(table.id == row_id).first()
    assert row == {"name": "Saved first", "version": int(first_tab[1]) + 1}

    again = await opened(client, edit)
    assert (await client.post(save, data=form(*again, name="Saved after reload"))).status_code == 200
    assert (await table.select(table.name).where(table.id == row_id).first())["name"] == "Saved after reload"


@pytest.mark.parametrize("kind", list(CASES))
async def test_a_version_that_is_not_a_number_is_refused_not_ignored(client, users, kind):
    create, form, table, edit_path, save_path = CASES[kind]
    _, row_id = await create()
    await login(client, "admin")
    token, _ = await opened(client, edit_path.format(id=row_id))
    refused = await client.post(save_path.format(id=row_id), data=form(token, "abc", name="Sneaked in"))
    assert refused.status_code == 400
    assert "version “abc” is not a whole number" in refused.text
    assert (await table.select(table.name).where(table.id == row_id).first())["name"] != "Sneaked in"


async def test_a_time_zone_chosen_on_a_page_opened_before_another_admin_saved_is_refused(client, users):
    await login(client, "admin")
    page = (await client.get("/settings")).text
    token = csrf_from(page)
    shown = re.search(r'name="shown_timezone" value="([^"]+)"', page).group(1)
    first = await client.post(
        "/settings/timezone", data={"_csrf_token": token, "shown_timezone": shown, "timezone": "Europe/Prague"}
    )
    assert first.status_code == 200 and "Time zone saved." in first.text
    second = await client.post(
        "/settings/timezone", data={"_csrf_token": token, "shown_timezone": shown, "timezone": "America/New_York"}
    )
    assert second.status_code == 409
    assert "The time zone was changed to Europe/Prague by someone else" in second.text
    assert await get_setting("timezone") == "Europe/Prague"
