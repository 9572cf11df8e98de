"""The channel form over HTTP: an unticked box is saved as off."""

from __future__ import annotations

from models.core.clock import now
from models.db.tables import Channel
from tests.conftest import csrf_from, login


async def test_unticking_active_pauses_the_channel(client, users):
    rows = await Channel.insert(
        Channel(name="Fnac", kind="mirakl", base_url="https://fnac.example", active=True, created_at=now())
    ).returning(Channel.id)
    channel_id = rows[0]["id"]
    await login(client, "admin")
    form = await client.get(f"/channels/{channel_id}/edit")
    assert 'name="active" checked' in form.text
    answer = await client.post(
        f"/channels/{channel_id}",
        data={
            "_csrf_token": csrf_from(form.text),
            "name": "Fnac",
            "kind": "mirakl",
            "base_url": "https://fnac.example",
            "poll_interval_s": "300",
            "currency": "EUR",
        },
    )
    assert answer.status_code == 200, answer.text
    channel = await Channel.select(Channel.active, Channel.auto_accept).where(Channel.id == channel_id).first()
    assert channel == {"active": False, "auto_accept": False}
