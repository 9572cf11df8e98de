"""A connector installed as its own distribution is found through its entry point and offered on the forms.

The throw-away distribution is real: a package and its `.dist-info` with `entry_points.txt`, on
`sys.path`, found by `importlib.metadata` exactly as an installed wheel would be.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import registry
from models.db.tables import Channel
from tests.conftest import csrf_from, login

ACME = """
from connectors.base import ChannelConnector
from models.ports import RemoteError, StatusPairing


class AcmeConnector(ChannelConnector):
    kind = "acme"
    label = "Acme Marketplace"
    sandbox_name = "acme"
    credential_fields = (("shop_key", "Shop key"),)
    default_base_url = "https://api.acme.example"
    pairing = StatusPairing(
        to_internal={"NEW": "awaiting_acceptance", "SENT": "shipped"},
        from_internal={"shipped": "SENT"},
        importable=frozenset({"NEW"}),
        actions={"accept": frozenset({"NEW"})},
    )

    async def fetch_orders(self, updated_since):
        raise RemoteError("Acme is a test double.", retryable=False)
        yield

    async def fetch_order_state(self, channel_order_id):
        return "NEW"

    async def accept(self, channel_order_id, decisions):
        return None

    async def push_tracking(self, channel_order_id, tracking):
        return None

    async def ship(self, channel_order_id):
        return None

    async def cancel(self, channel_order_id, reason):
        return None


class NotAConnector:
    kind = "impostor"
"""


def install_distribution(root: Path, entry_points: str) -> None:
    (root / "waybill_acme").mkdir()
    (root / "waybill_acme" / "__init__.py").write_text(ACME)
    info = root / "waybill_acme-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: waybill-acme\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def acme_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    install_distribution(
        tmp_path,
        """
        [waybill.channels]
        acme = waybill_acme:AcmeConnector
        impostor = waybill_acme:NotAConnector
        missing = waybill_acme:NoSuchClass
        clash = connectors.backmarket:BackMarketConnector
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.reload()
    yield
    monkeypatch.undo()
    registry.reload()


def test_an_installed_connector_is_known_and_broken_ones_are_left_out_with_a_warning(
    acme_installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.registry"):
        kinds = registry.channel_kinds()

    assert kinds["acme"].label == "Acme Marketplace"
    assert set(kinds) == {"mirakl", "backmarket", "mall", "acme"}
    assert kinds["backmarket"].__module__ == "connectors.backmarket"
    warnings = "\n".join(record.getMessage() for record in caplog.records)
    assert "'impostor'" in warnings and "is not a ChannelConnector" in warnings
    assert "'missing'" in warnings and "does not load" in warnings
    assert "'clash'" in warnings and "the kind 'backmarket' of another connector" in warnings


def test_without_the_distribution_the_kind_is_unknown() -> None:
    registry.reload()
    assert "acme" not in registry.channel_kinds()


async def test_the_channel_form_offers_and_saves_the_installed_kind(acme_installed: None, client, users) -> None:
    await login(client, "admin")
    form = await client.get("/channels/new")
    assert form.status_code == 200
    assert 'value="acme"' in form.text and "Acme Marketplace" in form.text and "Shop key" in form.text

    answer = await client.post(
        "/channels",
        data={
            "_csrf_token": csrf_from(form.text),
            "name": "Acme FR",
            "kind": "acme",
            "base_url": "https://api.acme.example",
            "poll_interval_s": "300",
            "currency": "EUR",
            "cred_shop_key": "secret-shop-key",
            "active": "on",
        },
        follow_redirects=False,
    )
    assert answer.status_code in (302, 303), answer.text[:500]
    saved = await Channel.select(Channel.kind, Channel.base_url).where(Channel.name == "Acme FR").first()
    assert saved == {"kind": "acme", "base_url": "https://api.acme.example"}
