"""The secret key and the stored credentials: a key that cannot read them stops `waybill serve`, `waybill
rotate-key` moves them to a new key all or nothing, and no form save overwrites credentials it did not
change or could not read."""

from __future__ import annotations

import asyncio
import html
import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest

from jobs.stock_jobs import sync_stock
from models.accounts import credentials
from models.accounts.key_rotation import CredentialsCheck, check_credentials
from models.core.clock import now
from models.db.tables import Channel, Supplier, SyncIssue, User, UserTotp
from tests.conftest import csrf_from, login
from web.settings import Settings, parse_previous_keys

WAYBILL = [sys.executable, "-c", "from web.cli import main; main()"]
OLD_KEY = "old-secret-key-" + "a1b2c3d4" * 4
NEW_KEY = "new-secret-key-" + "e5f6g7h8" * 4
STRANGER_KEY = "another-instance-key-" + "z9y8x7" * 5
MIRAKL_SECRETS = {"api_key": "mirakl-live-key-0123"}
BIGBUY_SECRETS = {"api_key": "bigbuy-live-key-4567"}


def encrypted_with(key: str, values: dict[str, str], restore: tuple[str, list[str]] | None = None) -> str:
    """`values` encrypted with `key`; the keys in `restore` are configured again afterwards (the app's)."""
    credentials.configure(key)
    try:
        return credentials.encrypt(values)
    finally:
        if restore is not None:
            credentials.configure(*restore)


async def add_channel(name: str, stored: str) -> int:
    rows = await Channel.insert(
        Channel(name=name, kind="mirakl", base_url="https://fnac.example", credentials=stored, created_at=now())
    ).returning(Channel.id)
    return rows[0]["id"]


async def add_supplier(name: str, stored: str, kind: str = "bigbuy") -> int:
    rows = await Supplier.insert(
        Supplier(name=name, kind=kind, base_url="https://api.bigbuy.eu", credentials=stored, created_at=now())
    ).returning(Supplier.id)
    return rows[0]["id"]


async def stored_values() -> dict[str, str]:
    """Every stored credential as it is in the database, by channel or supplier name."""
    channels = await Channel.select(Channel.name, Channel.credentials)
    suppliers = await Supplier.select(Supplier.name, Supplier.credentials)
    return {f"channel {r['name']}": r["credentials"] for r in channels} | {
        f"supplier {r['name']}": r["credentials"] for r in suppliers
    }


def waybill(args: list[str], database_url: str, key: str, previous: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("WAYBILL_SECRET_KEY", "WAYBILL_SECRET_KEY_PREVIOUS")}
    env |= {"WAYBILL_DATABASE_URL": database_url, "WAYBILL_SECRET_KEY": key, "WAYBILL_SCHEDULER": "0"}
    if previous:
        env["WAYBILL_SECRET_KEY_PREVIOUS"] = previous
    return subprocess.run([*WAYBILL, *args], env=env, capture_output=True, text=True, timeout=120)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# Keys --------------------------------------------------------------------------------------------------


def test_values_written_with_the_current_key_and_read_with_any_previous_one():
    old = encrypted_with(OLD_KEY, MIRAKL_SECRETS)
    credentials.configure(NEW_KEY, [OLD_KEY])
    assert credentials.decrypt(old) == MIRAKL_SECRETS and not credentials.uses_current_key(old)
    new = credentials.encrypt(BIGBUY_SECRETS)
    assert credentials.uses_current_key(new)
    credentials.configure(NEW_KEY)
    assert credentials.decrypt(new) == BIGBUY_SECRETS
    with pytest.raises(credentials.CredentialsUnreadable, match="cannot be decrypted with this instance's secret"):
        credentials.decrypt(old)
    assert credentials.decrypt("") == {} and credentials.readable("")
    assert not credentials.readable("plain text") and not credentials.readable("enc1:garbage")


def test_previous_keys_are_one_key_or_a_comma_separated_list():
    assert parse_previous_keys("") == []
    assert parse_previous_keys(f" {OLD_KEY} ") == [OLD_KEY]
    assert parse_previous_keys(f"{STRANGER_KEY}, {OLD_KEY},") == [STRANGER_KEY, OLD_KEY]


@pytest.mark.parametrize("key", ["x" * 40, " " * 40, "\t" * 33, " a" * 20])
def test_a_key_of_one_repeated_character_or_only_whitespace_is_refused(key):
    problems = Settings(secret_key=key, database_url="sqlite:///w.sqlite3").production_problems()
    assert problems == [
        "WAYBILL_SECRET_KEY is only whitespace or one repeated character: set it to a random string of at least "
        "32 characters (python3 -c 'import secrets; print(secrets.token_urlsafe(48))')."
    ]
    assert Settings(secret_key=NEW_KEY, database_url="sqlite:///w.sqlite3").production_problems() == []


# Start-up ----------------------------------------------------------------------------------------------


async def test_serve_refuses_to_start_with_a_key_that_cannot_read_the_stored_credentials(database_url):
    await add_channel("Fnac", encrypted_with(OLD_KEY, MIRAKL_SECRETS))
    await add_channel("Darty", encrypted_with(OLD_KEY, MIRAKL_SECRETS))
    await add_channel("Not connected yet", "")
    await add_supplier("BigBuy", encrypted_with(OLD_KEY, BIGBUY_SECRETS))
    before = await stored_values()

    result = await asyncio.to_thread(waybill, ["serve", "--port", "1"], database_url, NEW_KEY)
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert (
        "Cannot start: the stored credentials of 2 channels (Fnac, Darty) and 1 supplier (BigBuy) cannot be "
        "decrypted with WAYBILL_SECRET_KEY (nor with WAYBILL_SECRET_KEY_PREVIOUS). Start Waybill with the "
        "WAYBILL_SECRET_KEY they were saved with. To change the key, set the new one as WAYBILL_SECRET_KEY and "
        "the old one as WAYBILL_SECRET_KEY_PREVIOUS, then run `waybill rotate-key`."
    ) in message
    assert "`waybill rotate-key --drop-unreadable` empties these credentials" in message
    assert "Traceback" not in result.stderr
    assert await stored_values() == before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_starts_with_the_old_key_given_as_previous_and_says_to_rotate(database_url):
    await add_channel("Fnac", encrypted_with(OLD_KEY, MIRAKL_SECRETS))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYBILL_SECRET_KEY")}
    env |= {
        "WAYBILL_DATABASE_URL": database_url,
        "WAYBILL_SECRET_KEY": NEW_KEY,
        "WAYBILL_SECRET_KEY_PREVIOUS": OLD_KEY,
        "WAYBILL_SCHEDULER": "0",
    }
    process = subprocess.Popen(
        [*WAYBILL, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() - started < 60, "waybill serve did not start"
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[1]
    assert "Stored credentials still encrypted with a key from WAYBILL_SECRET_KEY_PREVIOUS: 1. Run `waybill " in output


def test_the_refusal_names_a_few_integrations_and_counts_the_rest():
    check = CredentialsCheck(unreadable_channels=[f"Shop {n}" for n in range(1, 8)])
    assert check.refusal().startswith(
        "the stored credentials of 7 channels (Shop 1, Shop 2, Shop 3, Shop 4, Shop 5 and 2 more) cannot be decrypted"
    )


# Rotation ----------------------------------------------------------------------------------------------


async def test_rotate_key_reencrypts_everything_so_that_only_the_new_key_is_needed(database_url):
    await add_channel("Fnac", encrypted_with(OLD_KEY, MIRAKL_SECRETS))
    await add_channel("Not connected yet", "")
    await add_supplier("BigBuy", encrypted_with(OLD_KEY, BIGBUY_SECRETS))
    await add_supplier("Local", encrypted_with(NEW_KEY, {"pin": "1234"}), kind="demo")

    result = await asyncio.to_thread(
        waybill, ["rotate-key"], database_url, NEW_KEY, previous=f"{STRANGER_KEY},{OLD_KEY}"
    )
    assert result.returncode == 0, result.stderr
    assert "Re-encrypted the credentials of 1 channel and 2 suppliers with WAYBILL_SECRET_KEY." in result.stdout
    assert "WAYBILL_SECRET_KEY_PREVIOUS can go" in result.stdout

    credentials.configure(NEW_KEY)
    stored = await stored_values()
    assert stored["channel Not connected yet"] == ""
    assert credentials.decrypt(stored["channel Fnac"]) == MIRAKL_SECRETS
    assert credentials.decrypt(stored["supplier BigBuy"]) == BIGBUY_SECRETS
    assert credentials.decrypt(stored["supplier Local"]) == {"pin": "1234"}
    assert (await check_credentials()).readable and (await check_credentials()).on_previous_key == 0
    credentials.configure(OLD_KEY)
    assert not credentials.readable(stored["channel Fnac"]), "the old key no longer reads them"


async def test_rotate_key_reencrypts_the_two_step_secrets_too(database_url, users):
    admin = await User.select(User.id).where(User.username == "admin").first()
    await UserTotp.insert(
        UserTotp(user=admin["id"], secret=encrypted_with(OLD_KEY, {"totp": "JBSWY3DPEHPK3PXP"}), created_at=now())
    )
    result = await asyncio.to_thread(waybill, ["rotate-key"], database_url, NEW_KEY, previous=OLD_KEY)
    assert result.returncode == 0, result.stderr
    assert "Re-encrypted 1 two-step verification secret(s)." in result.stdout
    credentials.configure(NEW_KEY)
    stored = (await UserTotp.select(UserTotp.secret).first())["secret"]
    assert credentials.uses_current_key(stored) and credentials.decrypt(stored) == {"totp": "JBSWY3DPEHPK3PXP"}


async def test_rotate_key_refuses_a_value_no_key_reads_and_changes_nothing(database_url):
    await add_channel("Fnac", encrypted_with(OLD_KEY, MIRAKL_SECRETS))
    await add_supplier("BigBuy", encrypted_with(OLD_KEY, BIGBUY_SECRETS))
    await add_supplier("ShipBob", encrypted_with(STRANGER_KEY, {"token": "pat-1"}), kind="shipbob")
    before = await stored_values()

    result = await asyncio.to_thread(waybill, ["rotate-key"], database_url, NEW_KEY, previous=OLD_KEY)
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert (
        "Nothing was re-encrypted: the stored credentials of 1 supplier (ShipBob) cannot be decrypted with "
        "WAYBILL_SECRET_KEY (nor with WAYBILL_SECRET_KEY_PREVIOUS). Add the key they were saved with to "
        "WAYBILL_SECRET_KEY_PREVIOUS and run `waybill rotate-key` again."
    ) in message
    assert await stored_values() == before, "all or nothing"

    dropped = await asyncio.to_thread(
        waybill, ["rotate-key", "--drop-unreadable"], database_url, NEW_KEY, previous=OLD_KEY
    )
    assert dropped.returncode == 0, dropped.stderr
    assert "Re-encrypted the credentials of 1 channel and 1 supplier" in dropped.stdout
    assert "Emptied the unreadable credentials of supplier ShipBob: enter them again" in dropped.stdout
    credentials.configure(NEW_KEY)
    after = await stored_values()
    assert after["supplier ShipBob"] == "" and credentials.decrypt(after["supplier BigBuy"]) == BIGBUY_SECRETS


def test_rotate_key_needs_a_usable_new_key(tmp_path):
    result = waybill(["rotate-key"], f"sqlite:///{tmp_path / 'w.sqlite3'}", "short", previous=OLD_KEY)
    assert result.returncode == 2
    assert "Cannot rotate: WAYBILL_SECRET_KEY must be set to a random string of at least 32 characters." in (
        result.stderr
    )


# Forms -------------------------------------------------------------------------------------------------


def channel_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "_csrf_token": token,
        "name": "Fnac",
        "kind": "mirakl",
        "base_url": "https://fnac.example",
        "poll_interval_s": "300",
        "handling_days": "2",
        "currency": "EUR",
        "active": "on",
        "cred_api_key": "",
    }
    return form | fields


def bigbuy_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "_csrf_token": token,
        "name": "BigBuy",
        "kind": "bigbuy",
        "base_url": "https://api.bigbuy.eu",
        "cred_bigbuy_api_key": "",
        "active": "on",
    }
    return form | fields


async def test_an_instance_with_another_key_refuses_to_save_a_channel_and_keeps_its_credentials(
    client, users, settings
):
    app_keys = (settings.secret_key, [])
    channel_id = await add_channel("Fnac", encrypted_with(STRANGER_KEY, MIRAKL_SECRETS, restore=app_keys))
    before = await stored_values()
    await login(client, "admin")

    page = await client.get(f"/channels/{channel_id}")
    assert "Credentials stored, but unreadable with this instance's secret key" in text_of(page.text)
    form = await client.get(f"/channels/{channel_id}/edit")
    assert "so this form cannot be saved" in text_of(form.text)
    for typed in ("", "a-new-key"):
        refused = await client.post(
            f"/channels/{channel_id}", data=channel_form(csrf_from(form.text), name="Fnac FR", cred_api_key=typed)
        )
        assert refused.status_code == 400
        assert (
            "The stored credentials cannot be decrypted with this instance's secret key, so nothing was saved and "
            "they are kept as they are."
        ) in text_of(refused.text)
        assert await stored_values() == before


async def test_an_instance_with_another_key_refuses_to_save_a_supplier_and_keeps_its_credentials(
    client, users, settings
):
    app_keys = (settings.secret_key, [])
    supplier_id = await add_supplier("BigBuy", encrypted_with(STRANGER_KEY, BIGBUY_SECRETS, restore=app_keys))
    before = await stored_values()
    await login(client, "admin")

    page = await client.get(f"/suppliers/{supplier_id}")
    assert "Credentials stored, but unreadable with this instance's secret key" in text_of(page.text)
    form = await client.get(f"/suppliers/{supplier_id}/edit")
    assert "so this form cannot be saved" in text_of(form.text)
    for typed in ("", "bigbuy-typed-key-0123"):
        refused = await client.post(
            f"/suppliers/{supplier_id}",
            data=bigbuy_form(csrf_from(form.text), name="BigBuy EU", cred_bigbuy_api_key=typed),
        )
        assert refused.status_code == 422
        assert "cannot be decrypted with this instance's secret key, so nothing was saved" in text_of(refused.text)
        assert await stored_values() == before


async def test_saving_other_fields_of_a_channel_leaves_its_credentials_as_stored(client, users):
    stored = credentials.encrypt({**MIRAKL_SECRETS, "shop_id": "2041"})  # the app's key (configured by client)
    channel_id = await add_channel("Fnac", stored)
    await login(client, "admin")
    form = await client.get(f"/channels/{channel_id}/edit")
    assert 'placeholder="stored — leave empty to keep"' in html.unescape(form.text)

    saved = await client.post(f"/channels/{channel_id}", data=channel_form(csrf_from(form.text), name="Fnac FR"))
    assert saved.status_code == 200, saved.text
    row = await Channel.select().where(Channel.id == channel_id).first()
    assert row["name"] == "Fnac FR" and row["credentials"] == stored, "not even encrypted again"

    await client.post(f"/channels/{channel_id}", data=channel_form(csrf_from(form.text), cred_api_key="rotated-1"))
    row = await Channel.select().where(Channel.id == channel_id).first()
    assert credentials.decrypt(row["credentials"]) == {"api_key": "rotated-1", "shop_id": "2041"}


async def test_saving_other_fields_of_a_supplier_leaves_its_credentials_as_stored(client, users):
    stored = credentials.encrypt({**BIGBUY_SECRETS, "account": "eu-7"})
    supplier_id = await add_supplier("BigBuy", stored)
    await login(client, "admin")
    form = await client.get(f"/suppliers/{supplier_id}/edit")

    saved = await client.post(
        f"/suppliers/{supplier_id}", data=bigbuy_form(csrf_from(form.text), name="BigBuy EU", active="")
    )
    assert saved.status_code == 200, text_of(saved.text)
    row = await Supplier.select().where(Supplier.id == supplier_id).first()
    assert row["name"] == "BigBuy EU" and row["active"] is False
    assert row["credentials"] == stored, "not even encrypted again"

    typed = bigbuy_form(csrf_from(form.text), cred_bigbuy_api_key="bigbuy-rotated-key-89")
    await client.post(f"/suppliers/{supplier_id}", data=typed)
    row = await Supplier.select().where(Supplier.id == supplier_id).first()
    assert credentials.decrypt(row["credentials"]) == {"api_key": "bigbuy-rotated-key-89", "account": "eu-7"}


# Jobs --------------------------------------------------------------------------------------------------


async def test_the_stock_sync_says_which_supplier_it_cannot_read_and_still_pulls_the_others(suppliers, http):
    """Credentials saved by an instance with another key (both started on an empty database) are never
    taken for "no credentials": the supplier is reported, and the stock of the others is read."""
    keys = ("test-secret-key", [])  # what the database fixture configured
    unreadable = encrypted_with(STRANGER_KEY, {"token": "pat-1", "channel_id": "1"}, restore=keys)
    await Supplier.update({Supplier.credentials: unreadable}).where(Supplier.id == suppliers["shipbob"])

    result = await sync_stock(http)
    assert result.pulled == ["BigBuy"]
    assert result.failed == ["ShipBob (The credentials of ShipBob cannot be decrypted with this instance's secret key)"]
    issue = await SyncIssue.select().where(SyncIssue.integration_id == suppliers["shipbob"]).first()
    assert issue["remote_message"] == "The credentials of ShipBob cannot be decrypted with this instance's secret key."
    assert (await Supplier.select(Supplier.credentials).where(Supplier.id == suppliers["shipbob"]).first()) == {
        "credentials": unreadable
    }
