"""Resubmit all on the supplier page, over HTTP against the app and a BigBuy sandbox on loopback:
wallet-blocked orders are resent after a top-up, each reaches the supplier exactly once, and the
summary says what BigBuy answered for each."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from connectors.sandbox.bigbuy import DEFAULT_API_KEY, BigBuySandbox
from connectors.sandbox.common import Sandbox
from jobs.supplier_dispatch import dispatch_order_now
from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import CatalogItem, Order, ResubmitResult, ResubmitRun, ReviewIssue
from models.suppliers.dispatch import process_order
from tests.conftest import csrf_from, import_one, login, make_order
from tests.integration.support import add_supplier
from tests.integration.test_supplier_page import text_of

MERCHANT = Actor("user", "merchant")


@pytest.fixture
def bigbuy() -> BigBuySandbox:
    return BigBuySandbox(seed=5, wallet="1.00")


@pytest.fixture
async def supplier_id(database_url, bigbuy, serve_sandbox: Callable[[Sandbox], str]) -> int:
    supplier = await add_supplier("BigBuy", "bigbuy", serve_sandbox(bigbuy), {"api_key": DEFAULT_API_KEY}, True)
    await CatalogItem.insert(
        CatalogItem(channel_sku="BB-1001", supplier=supplier, supplier_sku="BB-1001", cost=900, updated_at=now())
    )
    return supplier


async def wallet_blocked(channel: dict, count: int, prefix: str) -> list[int]:
    """`count` accepted orders the BigBuy sandbox refused for the wallet."""
    ids = []
    async with httpx.AsyncClient(timeout=5) as http:
        for n in range(count):
            order_id = await import_one(
                channel, make_order(f"{prefix}-{n}", lines=[("BB-1001", 2, 1990)], needs_acceptance=False)
            )
            await process_order(order_id, MERCHANT)
            await dispatch_order_now(order_id, http)
            ids.append(order_id)
    statuses = await Order.select(Order.status).where(Order.id.is_in(ids))
    assert {row["status"] for row in statuses} == {"pending_review"}
    return ids


async def needed_per_order(order_id: int) -> Decimal:
    issue = await ReviewIssue.select(ReviewIssue.message).where(ReviewIssue.order == order_id).first()
    return Decimal(re.search(r"([\d.]+) EUR needed", issue["message"]).group(1))


async def open_page(client: httpx.AsyncClient, supplier_id: int) -> tuple[str, dict[str, str]]:
    page = await client.get(f"/suppliers/{supplier_id}")
    assert page.status_code == 200, page.text
    return page.text, {"HX-Request": "true", "X-CSRFToken": csrf_from(page.text)}


async def run_to_the_end(client: httpx.AsyncClient, supplier_id: int, headers: dict[str, str]) -> str:
    """Click Resubmit all, then follow the fragment's next requests as htmx would."""
    answer = await client.post(f"/suppliers/{supplier_id}/resubmit-all/", headers=headers)
    assert answer.status_code == 200, answer.text
    for _ in range(100):
        follow = re.search(r'hx-post="(/suppliers/\d+/resubmit-all/\d+/next)"', answer.text)
        if follow is None:
            return answer.text
        answer = await client.post(follow.group(1), headers=headers)
        assert answer.status_code == 200, answer.text
    raise AssertionError("the run never finished")


async def test_resubmit_all_sends_what_the_wallet_covers_and_reports_the_rest(
    client, users, channel, supplier_id, bigbuy
):
    blocked = await wallet_blocked(channel, 3, "WALLET")
    assert not bigbuy.orders
    await login(client, "operator")
    page, headers = await open_page(client, supplier_id)
    assert "3 orders wait because the wallet at BigBuy was too low." in text_of(page)
    assert ">Resubmit all</button>" in page

    # Top up enough for two of the three orders.
    needed = await needed_per_order(blocked[0])
    bigbuy.balance = needed * 2 + Decimal("0.50")
    fragment = await run_to_the_end(client, supplier_id, headers)
    text = text_of(fragment)
    assert "Resubmitted 3 orders: 2 sent to BigBuy, 1 still blocked." in text
    assert "Insufficient wallet balance: 0.50 EUR available" in text
    assert len(bigbuy.orders) == 2
    # The waiting count and the wallet (read by the preflight) are refreshed with the summary.
    assert 'id="orders-waiting" hx-swap-oob="true"' in fragment and "1</strong> order in Pending review" in fragment
    assert 'id="wallet"' in fragment and "0.50" in fragment
    statuses = {r["id"]: r["status"] for r in await Order.select(Order.id, Order.status).where(Order.id.is_in(blocked))}
    assert sorted(statuses.values()) == ["pending_review", "processing", "processing"]

    # A second top-up and a second Resubmit all take only the order still blocked.
    bigbuy.balance += needed
    text = text_of(await run_to_the_end(client, supplier_id, headers))
    assert "Resubmitted 1 order: 1 sent to BigBuy." in text
    references = [order["internalReference"] for order in bigbuy.orders.values()]
    assert len(references) == 3 and len(set(references)) == 3  # each order exactly once at BigBuy
    page, _ = await open_page(client, supplier_id)
    assert "No order is held for the wallet." in text_of(page)
    assert "Last Resubmit all by operator" in text_of(page)


async def test_two_requests_for_the_same_run_never_take_an_order_twice(client, users, channel, supplier_id, bigbuy):
    blocked = await wallet_blocked(channel, 7, "RACE")
    bigbuy.balance = Decimal("100000.00")
    await login(client, "operator")
    _, headers = await open_page(client, supplier_id)
    started = await client.post(f"/suppliers/{supplier_id}/resubmit-all/", headers=headers)
    run_id = int(re.search(r"/resubmit-all/(\d+)/next", started.text).group(1))
    # A second click while the run is under way continues it rather than starting another.
    again = await client.post(f"/suppliers/{supplier_id}/resubmit-all/", headers=headers)
    assert f"/resubmit-all/{run_id}/next" in again.text
    url = f"/suppliers/{supplier_id}/resubmit-all/{run_id}/next"
    answers = await asyncio.gather(*(client.post(url, headers=headers) for _ in range(4)))
    assert all(answer.status_code == 200 for answer in answers)
    await run_to_the_end(client, supplier_id, headers)
    # Every order was taken once, by that one run, whichever request took it.
    results = await ResubmitResult.select(ResubmitResult.order, ResubmitResult.run)
    assert sorted(row["order"] for row in results) == sorted(blocked)
    assert {row["run"] for row in results} == {run_id}
    assert await ResubmitRun.count().where(ResubmitRun.finished_at.is_null()) == 0
    assert len(bigbuy.orders) == 7
    assert {r["status"] for r in await Order.select(Order.status).where(Order.id.is_in(blocked))} == {"processing"}


async def test_resubmit_all_without_htmx_works_through_the_run_and_shows_the_page(
    client, users, channel, supplier_id, bigbuy
):
    await wallet_blocked(channel, 2, "PLAIN")
    bigbuy.balance = Decimal("100000.00")
    await login(client, "operator")
    page, _ = await open_page(client, supplier_id)
    answer = await client.post(
        f"/suppliers/{supplier_id}/resubmit-all/", data={"_csrf_token": csrf_from(page)}, follow_redirects=True
    )
    assert answer.status_code == 200
    assert "Resubmitted 2 orders: 2 sent to BigBuy." in text_of(answer.text)
    assert len(bigbuy.orders) == 2


async def test_a_viewer_sees_the_waiting_orders_but_cannot_resubmit_them(client, users, channel, supplier_id, bigbuy):
    await wallet_blocked(channel, 1, "VIEW")
    await login(client, "viewer")
    page, headers = await open_page(client, supplier_id)
    assert "1 order waits because the wallet at BigBuy was too low." in text_of(page)
    assert ">Resubmit all</button>" not in page
    refused = await client.post(f"/suppliers/{supplier_id}/resubmit-all/", headers=headers)
    assert refused.status_code == 403
    assert not bigbuy.orders
