"""Suppliers: one supplier's facts, its prepaid wallet, and the orders waiting on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models import db
from models.channels.sync_issues import record_issue
from models.core.clock import now
from models.core.errors import NotFound
from models.db.tables import Supplier, SyncIssue
from models.ports import RemoteError, SupplierApi

WALLET_OPERATION = "wallet"


async def get_supplier(supplier_id: int) -> dict[str, Any]:
    supplier = await Supplier.select().where(Supplier.id == supplier_id).first()
    if supplier is None:
        raise NotFound(f"Supplier {supplier_id} does not exist.")
    return supplier


async def orders_waiting_count(supplier_id: int) -> int:
    """Orders in review because their order at this supplier failed (e.g. the wallet ran short).

    One range of the (status, supplier) index of supplier orders, then each order by its key.
    """
    rows = await db.fetch(
        'SELECT COUNT(DISTINCT so."order") AS n FROM supplier_order so JOIN orders o ON o.id = so."order" '
        "WHERE so.status = 'failed' AND so.supplier = {} AND o.status = 'pending_review'",
        supplier_id,
    )
    return int(rows[0]["n"]) if rows else 0


@dataclass(frozen=True)
class WalletRefresh:
    """How a wallet refresh went, in words for the merchant."""

    ok: bool
    message: str


async def refresh_wallet(supplier_id: int, connect: Callable[[dict[str, Any]], SupplierApi]) -> WalletRefresh:
    """Ask the supplier for its prepaid balance and keep it, with the time, on the supplier.

    `connect` builds the supplier's API client from its row. A failed exchange is recorded as a
    connection issue and the last known balance stays; a successful one resolves earlier wallet issues.
    """
    supplier = await get_supplier(supplier_id)
    name = supplier["name"]
    if not supplier["prepaid"]:
        return WalletRefresh(False, f"{name} bills by invoice: there is no wallet to refresh.")
    try:
        connector = connect(supplier)
    except (KeyError, ValueError) as exc:
        return WalletRefresh(False, f"{exc} The wallet of {name} cannot be refreshed from Waybill.")
    try:
        answer = await connector.wallet()
    except RemoteError as exc:
        await _record_wallet_issue(supplier_id, exc.message)
        return WalletRefresh(
            False,
            f"Could not refresh the wallet: {exc.message} The balance shown is the last one known. "
            "Check the supplier's API base URL and key, then try again.",
        )
    if answer is None:
        return WalletRefresh(False, f"{name} reports no prepaid wallet for this account.")
    balance, currency = answer
    async with db.transaction():
        await Supplier.update(
            {Supplier.wallet_balance: balance, Supplier.wallet_currency: currency, Supplier.wallet_updated_at: now()}
        ).where(Supplier.id == supplier_id)
        await SyncIssue.update({SyncIssue.resolved_at: now(), SyncIssue.retry_succeeded: True}).where(
            _open_wallet_issues(supplier_id)
        )
    return WalletRefresh(True, "Balance refreshed.")


async def _record_wallet_issue(supplier_id: int, message: str) -> None:
    """One open wallet issue per supplier: a repeated failure updates it rather than adding another."""
    open_issue = (
        await SyncIssue.select(SyncIssue.id)
        .where(_open_wallet_issues(supplier_id))
        .order_by(SyncIssue.at, ascending=False)
        .first()
    )
    if open_issue is None:
        await record_issue("supplier", supplier_id, WALLET_OPERATION, message)
    else:
        await SyncIssue.update({SyncIssue.remote_message: message[:4000], SyncIssue.at: now()}).where(
            SyncIssue.id == open_issue["id"]
        )


def _open_wallet_issues(supplier_id: int) -> Any:
    return (
        (SyncIssue.integration_kind == "supplier")
        & (SyncIssue.integration_id == supplier_id)
        & (SyncIssue.operation == WALLET_OPERATION)
        & SyncIssue.resolved_at.is_null()
    )
