"""One instance imports a channel at a time: the channel row's import lease (the shared lease claim)."""

from __future__ import annotations

import datetime as dt

from models.channels.import_runs import claim_import, finish_import, renew_import
from models.core.clock import now
from models.db.tables import Channel


async def test_the_import_lease_is_one_instances_until_it_ends_or_runs_out(channel: dict) -> None:
    assert (await claim_import(channel["id"], "a"))["id"] == channel["id"]
    assert await claim_import(channel["id"], "b") is None
    assert await claim_import(channel["id"], "a") is not None  # its holder takes it again

    lease = Channel.select(Channel.import_lease_owner, Channel.import_lease_until)
    before = await lease.first()
    await renew_import(channel["id"], "b")  # not b's lease: nothing changes
    assert await lease.first() == before and before["import_lease_owner"] == "a"
    await renew_import(channel["id"], "a")
    assert (await lease.first())["import_lease_until"] > before["import_lease_until"]

    await finish_import(channel["id"], "a", ok=True, summary="done", cursor=None)
    assert await claim_import(channel["id"], "b") is not None

    await Channel.update({Channel.import_lease_until: now() - dt.timedelta(seconds=1)}).where(
        Channel.id == channel["id"]
    )
    assert await claim_import(channel["id"], "c") is not None  # b died: its lease ran out
