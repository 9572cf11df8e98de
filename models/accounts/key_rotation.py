"""Whether the stored channel and supplier credentials can be read with the configured secret keys, and
rotating them to the current key.

An instance started with a key that reads none of them would work with no credentials at all (every
channel "has no API key") and would save over them; `waybill serve` therefore checks them first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models import db
from models.accounts import credentials, second_factor
from models.core.errors import DomainError
from models.db.tables import Channel, Supplier

__all__ = ["CredentialsCheck", "KeyRotation", "check_credentials", "rotate_credentials"]

RIGHT_KEY_HINT = (
    "Start Waybill with the WAYBILL_SECRET_KEY they were saved with. To change the key, set the new one as "
    "WAYBILL_SECRET_KEY and the old one as WAYBILL_SECRET_KEY_PREVIOUS, then run `waybill rotate-key`."
)
PREVIOUS_KEY_HINT = (
    "Add the key they were saved with to WAYBILL_SECRET_KEY_PREVIOUS and run `waybill rotate-key` again."
)
LOST_KEY_HINT = (
    "If that key is lost, `waybill rotate-key --drop-unreadable` empties these credentials: enter them again on "
    "each channel's and supplier's page."
)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _some(names: list[str], shown: int = 5) -> str:
    """The first few names, so that the message stays readable with many integrations."""
    rest = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {rest} more" if rest > 0 else "")


@dataclass
class CredentialsCheck:
    """Names of the channels and suppliers whose credentials no configured key reads, and how many are
    readable only with a previous key (they still need `waybill rotate-key`)."""

    unreadable_channels: list[str] = field(default_factory=list)
    unreadable_suppliers: list[str] = field(default_factory=list)
    on_previous_key: int = 0

    @property
    def readable(self) -> bool:
        return not self.unreadable_channels and not self.unreadable_suppliers

    def refusal(self, hint: str = RIGHT_KEY_HINT) -> str:
        """What an operator reads when Waybill refuses these credentials, and what to do about it."""
        parts = [
            f"{_count(len(names), noun)} ({_some(names)})"
            for names, noun in ((self.unreadable_channels, "channel"), (self.unreadable_suppliers, "supplier"))
            if names
        ]
        return (
            f"the stored credentials of {' and '.join(parts)} cannot be decrypted with WAYBILL_SECRET_KEY"
            f" (nor with WAYBILL_SECRET_KEY_PREVIOUS). {hint} {LOST_KEY_HINT}"
        )


@dataclass
class KeyRotation:
    channels: int = 0
    suppliers: int = 0
    #: Users' second-factor secrets encrypted again (they are kept with the same key).
    second_factors: int = 0
    #: Names of the integrations whose unreadable credentials were emptied (only when asked to).
    dropped: list[str] = field(default_factory=list)


async def _rows(table: type[Channel] | type[Supplier], lock: bool = False) -> list[dict]:
    if not await table.table_exists():  # a database not migrated yet stores nothing
        return []
    query = table.select(table.id, table.name, table.credentials).where(table.credentials != "").order_by(table.id)
    if lock and not db.is_sqlite():
        query = query.lock_rows()
    return await query


async def check_credentials() -> CredentialsCheck:
    """Which stored credentials the configured keys cannot read (see `credentials.configure`)."""
    check = CredentialsCheck()
    for table, unreadable in ((Channel, check.unreadable_channels), (Supplier, check.unreadable_suppliers)):
        for row in await _rows(table):
            if not credentials.readable(row["credentials"]):
                unreadable.append(row["name"])
            elif not credentials.uses_current_key(row["credentials"]):
                check.on_previous_key += 1
    return check


async def rotate_credentials(*, drop_unreadable: bool = False) -> KeyRotation:
    """Encrypt every stored credential again with the current key, in one transaction.

    Refuses, changing nothing, when any value decrypts with none of the keys; with `drop_unreadable`
    such values are emptied instead (the key they were saved with is lost: they are entered again)."""
    result = KeyRotation()
    async with db.transaction():
        rows = {Channel: await _rows(Channel, lock=True), Supplier: await _rows(Supplier, lock=True)}
        check = CredentialsCheck(
            unreadable_channels=[r["name"] for r in rows[Channel] if not credentials.readable(r["credentials"])],
            unreadable_suppliers=[r["name"] for r in rows[Supplier] if not credentials.readable(r["credentials"])],
        )
        if not check.readable and not drop_unreadable:
            raise DomainError(f"Nothing was re-encrypted: {check.refusal(PREVIOUS_KEY_HINT)}")
        for table, noun in ((Channel, "channel"), (Supplier, "supplier")):
            for row in rows[table]:
                if credentials.readable(row["credentials"]):
                    value = credentials.reencrypt(row["credentials"])
                    if table is Channel:
                        result.channels += 1
                    else:
                        result.suppliers += 1
                else:
                    value = ""
                    result.dropped.append(f"{noun} {row['name']}")
                await table.update({table.credentials: value}).where(table.id == row["id"])
        result.second_factors = await second_factor.reencrypt_secrets()
    return result
