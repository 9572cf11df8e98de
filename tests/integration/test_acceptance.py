"""Marketplace acceptance below the browser, against the real database and sandbox marketplaces over HTTP.

Decisions reach each marketplace the way it takes them (Mirakl: every line in one call once all are
decided; Back Market: each line as it is decided; MALL: whole orders only), and the auto-accept rule
holds the orders it should for a human, with the reason in the audit trail.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.sandbox.backmarket import BackMarketSandbox
from connectors.sandbox.mall import MallSandbox
from connectors.sandbox.mirakl import MiraklSandbox
from jobs.dispatcher import dispatch_channel_order_now
from jobs.http import close_http_client
from jobs.importer import sync_channel
from models.accounts import credentials
from models.channels.setup import ChannelForm, create_channel
from models.core.actors import Actor
from models.core.clock import now
from models.core.errors import Conflict, DomainError, FieldErrors
from models.db.tables import CatalogItem, Channel, Order, Supplier
from models.orders.acceptance import accept_order, decide_line, reject_order
from tests.conftest import csrf_from, import_one, login, make_order
from tests.integration.support import event_kinds, order_events, order_lines, order_row, outbox_for
from web.orders.decisions import decide_and_send

OPERATOR = Actor.user("operator")

MARKETS = {
    "mirakl": (MiraklSandbox, {"api_key": "sandbox-mirakl-key"}, "EUR"),
    "backmarket": (BackMarketSandbox, {"token": "sandbox-backmarket-token"}, "EUR"),
    "mall": (MallSandbox, {"client_id": "sandbox-mall-client"}, "CZK"),
}


async def market_channel(kind: str, serve_sandbox, **extra: Any) -> tuple[dict, Any]:
    """A channel of `kind` on its sandbox, served over HTTP."""
    sandbox_class, creds, currency = MARKETS[kind]
    sandbox = sandbox_class(seed=3)
    await Channel.insert(
        Channel(
            name=f"{kind} acceptance",
            kind=kind,
            base_url=serve_sandbox(sandbox),
            credentials=credentials.encrypt(creds),
            currency=currency,
            created_at=now(),
            **extra,
        )
    )
    return await Channel.select().where(Channel.kind == kind).first(), sandbox


def put_order(kind: str, sandbox: Any, order_id: str, lines: list[tuple[str, int, float]]) -> str:
    """An order waiting for acceptance on the marketplace, in its own format; returns its channel id."""
    if kind == "mirakl":
        address = {
            "firstname": "Zoë",
            "lastname": "Dvořák",
            "street_1": "12 rue de la Paix",
            "zip_code": "75002",
            "city": "Paris",
            "country_iso_code": "FRA",
        }
        sandbox.add_order(
            {
                "order_id": order_id,
                "order_state": "WAITING_ACCEPTANCE",
                "currency_iso_code": "EUR",
                "customer": {"firstname": "Zoë", "lastname": "Dvořák", "shipping_address": address},
                "order_lines": [
                    {
                        "order_line_id": f"{order_id}-{n}",
                        "offer_sku": sku,
                        "product_title": sku,
                        "quantity": qty,
                        "price_unit": price,
                        "price": round(price * qty, 2),
                    }
                    for n, (sku, qty, price) in enumerate(lines, 1)
                ],
            }
        )
        return order_id
    if kind == "backmarket":
        address = {
            "first_name": "Hélène",
            "last_name": "Dvořák",
            "street": "12 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
        }
        order = sandbox.add_order(
            {
                "state": 1,
                "shipping_address": address,
                "orderlines": [{"listing": sku, "quantity": qty, "price": f"{price:.2f}"} for sku, qty, price in lines],
            }
        )
        return str(order["order_id"])
    order = sandbox.add_order(
        {
            "status": "open",
            "currency_id": "CZK",
            "address": {
                "name": "Jiří Dvořák",
                "street": "Masarykova 12",
                "city": "Brno",
                "zip": "602 00",
                "country": "CZ",
            },
            "items": [{"id": sku, "title": sku, "quantity": qty, "price": price} for sku, qty, price in lines],
        }
    )
    return str(order["id"])


async def imported(channel: dict, channel_order_id: str, http: httpx.AsyncClient) -> int:
    await sync_channel(channel["id"], http)
    row = (
        await Order.select(Order.id, Order.status)
        .where((Order.channel == channel["id"]) & (Order.channel_order_id == channel_order_id))
        .first()
    )
    assert row is not None, "the order was imported"
    return row["id"]


async def line_ids(order_id: int) -> list[int]:
    return [line["id"] for line in await order_lines(order_id)]


# Decisions reach each marketplace as it takes them ----------------------------------------------------


async def test_mirakl_gets_every_line_in_one_call_once_all_are_decided(database_url, serve_sandbox):
    channel, sandbox = await market_channel("mirakl", serve_sandbox)
    remote = put_order("mirakl", sandbox, "FR-ACC-1", [("BB-1001", 2, 19.9), ("BB-1002", 1, 24.9)])
    async with httpx.AsyncClient() as http:
        order_id = await imported(channel, remote, http)
        first, second = await line_ids(order_id)

        outcome = await decide_line(order_id, first, True, OPERATOR)
        assert not outcome.sent_to_channel
        assert outcome.message == (
            "Line BB-1001 accepted. 1 line still to decide. Mirakl receives the decisions once every line is decided."
        )
        assert await dispatch_channel_order_now(order_id, http) == []
        assert sandbox.view(remote)["operations"]["accept"] == 0

        outcome = await decide_line(order_id, second, False, OPERATOR, reason="out_of_stock")
        assert outcome.sent_to_channel
        [delivered] = await dispatch_channel_order_now(order_id, http)
    assert delivered["state"] == "done"
    view = sandbox.view(remote)
    assert view["operations"]["accept"] == 1
    assert view["order_state"] == "SHIPPING"
    assert [line["order_line_state"] for line in view["lines"]] == ["SHIPPING", "REFUSED"]
    order = await order_row(order_id)
    assert (order["status"], order["channel_status"]) == ("awaiting_fulfillment", "SHIPPING")


async def test_back_market_gets_each_line_as_it_is_decided(database_url, serve_sandbox):
    channel, sandbox = await market_channel("backmarket", serve_sandbox)
    remote = put_order("backmarket", sandbox, "", [("IPH-13", 1, 489.0), ("CASE-9", 2, 19.0)])
    async with httpx.AsyncClient() as http:
        order_id = await imported(channel, remote, http)
        first, second = await line_ids(order_id)

        outcome = await decide_line(order_id, first, True, OPERATOR)
        assert outcome.sent_to_channel
        assert "Back Market receives" not in outcome.message
        await dispatch_channel_order_now(order_id, http)
        view = sandbox.view(remote)
        assert [line["state"] for line in view["lines"]] == [2, 1], "the first line is accepted at once"
        assert view["state"] == 1

        await decide_line(order_id, second, False, OPERATOR, reason="price_error")
        [delivered] = await dispatch_channel_order_now(order_id, http)
    assert delivered["state"] == "done"
    view = sandbox.view(remote)
    assert [line["state"] for line in view["lines"]] == [2, 4]
    assert view["state"] == 3
    assert view["operations"] == {"accept_line": 1, "refuse_line": 1}
    keys = [m["idempotency_key"] for m in await outbox_for(order_id)]
    assert len(keys) == 2 and len(set(keys)) == 2, "one message per line"


async def test_mall_takes_whole_orders_only(database_url, serve_sandbox):
    channel, sandbox = await market_channel("mall", serve_sandbox)
    remote = put_order("mall", sandbox, "", [("SB-0007", 1, 799), ("SB-0008", 2, 199)])
    async with httpx.AsyncClient() as http:
        order_id = await imported(channel, remote, http)
        first, second = await line_ids(order_id)
        await decide_line(order_id, first, True, OPERATOR)
        version = (await order_row(order_id))["version"]
        with pytest.raises(DomainError, match="MALL cannot refuse single items: an order is accepted or rejected"):
            await decide_line(order_id, second, False, OPERATOR, reason="out_of_stock")
        assert (await order_row(order_id))["version"] == version, "nothing changed"
        await decide_line(order_id, second, True, OPERATOR)
        await dispatch_channel_order_now(order_id, http)
        view = sandbox.control_view(sandbox.orders[int(remote)])
        assert (view["status"], view["confirmed"]) == ("shipping", True)

        other = put_order("mall", sandbox, "", [("SB-0009", 1, 99)])
        other_id = await imported(channel, other, http)
        outcome = await reject_order(other_id, OPERATOR, "cannot_ship_to_address")
        assert (
            outcome.message
            == "Order rejected (Cannot ship to this address). Every line is rejected, so the order is rejected."
        )
        await dispatch_channel_order_now(other_id, http)
    assert sandbox.control_view(sandbox.orders[int(other)])["status"] == "cancelled"
    assert (await order_row(other_id))["status"] == "rejected"


# Refusals ----------------------------------------------------------------------------------------------


async def test_deciding_an_order_that_moved_on_is_a_conflict(channel):
    order_id = await import_one(channel, make_order("ACC-MOVED"))
    await accept_order(order_id, OPERATOR)
    with pytest.raises(Conflict, match=r"^Reject order is not possible: the order is no longer awaiting acceptance"):
        await reject_order(order_id, OPERATOR, "out_of_stock")
    await reject_order(await import_one(channel, make_order("ACC-GONE")), OPERATOR, "price_error")
    rejected = (await Order.select(Order.id).where(Order.channel_order_id == "ACC-GONE").first())["id"]
    with pytest.raises(Conflict, match="the order is rejected, which is final"):
        await accept_order(rejected, OPERATOR)


async def test_an_order_in_review_is_fixed_before_it_is_decided(channel):
    order_id = await import_one(channel, make_order("ACC-REVIEW", last_name=""))
    with pytest.raises(DomainError, match="this order needs review first"):
        await accept_order(order_id, OPERATOR)


async def test_a_rejection_needs_a_reason_at_its_field(channel):
    order_id = await import_one(channel, make_order("ACC-REASON"))
    first, _ = await line_ids(order_id)
    with pytest.raises(FieldErrors) as missing:
        await decide_line(order_id, first, False, OPERATOR, reason="")
    assert missing.value.errors == {"reason": "Choose a rejection reason."}
    with pytest.raises(FieldErrors) as too_long:
        await reject_order(order_id, OPERATOR, "other", "x" * 301)
    assert too_long.value.errors == {"reason_text": "Keep the reason to 300 characters (it has 301)."}
    assert await event_kinds(order_id) == ["imported"]


# The auto-accept rule --------------------------------------------------------------------------------


async def catalog(*entries: tuple[str, int | None, str]) -> None:
    await Supplier.insert(Supplier(name="Rule supplier", kind="bigbuy", created_at=now()))
    supplier = await Supplier.select(Supplier.id).first()
    for sku, cost, currency in entries:
        await CatalogItem.insert(
            CatalogItem(
                channel_sku=sku,
                supplier=supplier["id"],
                supplier_sku=sku,
                cost=cost,
                currency=currency,
                updated_at=now(),
            )
        )


async def rule_channel(**rule: Any) -> dict:
    await Channel.insert(Channel(name="Auto shop", kind="demo", auto_accept=True, created_at=now(), **rule))
    return await Channel.select().where(Channel.name == "Auto shop").first()


async def test_auto_accept_holds_an_unknown_sku_for_manual_acceptance(database_url):
    await catalog(("BB-1001", 1000, "EUR"))
    channel = await rule_channel(hold_unknown_sku=True)
    held = await import_one(channel, make_order("RULE-1", lines=[("BB-1001", 1, 1500), ("NOPE-7", 1, 900)]))
    accepted = await import_one(channel, make_order("RULE-2", lines=[("BB-1001", 1, 1500)]))

    assert (await order_row(held))["status"] == "awaiting_acceptance"
    assert {line["status"] for line in await order_lines(held)} == {"pending"}
    assert await outbox_for(held) == [], "the marketplace hears nothing until a person decides"
    events = await order_events(held)
    assert [e["kind"] for e in events] == ["imported", "held_for_acceptance"]
    assert events[1]["message"] == ("Held for manual acceptance (auto-accept rule): SKU NOPE-7 is not in the catalog.")
    assert events[1]["actor_kind"] == "channel"

    assert (await order_row(accepted))["status"] == "awaiting_fulfillment"
    assert await event_kinds(accepted) == ["imported", "accepted"]
    assert [m["action"] for m in await outbox_for(accepted)] == ["accept"]

    await accept_order(held, OPERATOR)  # a person takes it from there
    assert (await order_row(held))["status"] == "awaiting_fulfillment"


async def test_auto_accept_holds_a_price_far_below_catalog_cost(database_url):
    await catalog(("BB-1001", 1000, "EUR"), ("BB-USD", 1000, "USD"))
    channel = await rule_channel(hold_below_cost_pct=20)
    cheap = await import_one(channel, make_order("PRICE-1", lines=[("BB-1001", 1, 700)]))
    fair = await import_one(channel, make_order("PRICE-2", lines=[("BB-1001", 1, 800), ("NOPE-7", 1, 1)]))
    other_currency = await import_one(channel, make_order("PRICE-3", lines=[("BB-USD", 1, 1)]))
    assert (await order_row(cheap))["status"] == "awaiting_acceptance"
    reason = (await order_events(cheap))[-1]["message"]
    assert reason == (
        "Held for manual acceptance (auto-accept rule): BB-1001 sells at 7.00 EUR, 30 % below its catalog cost "
        "of 10.00 EUR (the limit is 20 %)."
    )
    assert (await order_row(fair))["status"] == "awaiting_fulfillment", "unknown SKUs are not held by this rule"
    assert (await order_row(other_currency))["status"] == "awaiting_fulfillment"


async def test_a_held_order_with_invalid_data_goes_to_review_with_lines_still_to_decide(database_url):
    channel = await rule_channel(hold_unknown_sku=True)
    order_id = await import_one(channel, make_order("RULE-BAD", last_name="", lines=[("NOPE-1", 1, 100)]))
    assert (await order_row(order_id))["status"] == "pending_review"
    assert {line["status"] for line in await order_lines(order_id)} == {"pending"}
    assert "held_for_acceptance" in await event_kinds(order_id)


async def test_without_auto_accept_the_rule_changes_nothing(channel):
    await Channel.update({Channel.hold_unknown_sku: True}).where(Channel.id == channel["id"])
    channel = await Channel.select().where(Channel.id == channel["id"]).first()
    order_id = await import_one(channel, make_order("NO-AUTO", lines=[("NOPE-1", 1, 100)]))
    assert await event_kinds(order_id) == ["imported"]


async def test_the_rule_is_applied_when_a_channel_is_synced(database_url, serve_sandbox):
    await catalog(("BB-1001", 1500, "EUR"))
    channel, sandbox = await market_channel("mirakl", serve_sandbox, auto_accept=True, hold_below_cost_pct=10)
    put_order("mirakl", sandbox, "SYNC-OK", [("BB-1001", 1, 19.9)])
    put_order("mirakl", sandbox, "SYNC-CHEAP", [("BB-1001", 1, 9.9)])
    async with httpx.AsyncClient() as http:
        ok = await imported(channel, "SYNC-OK", http)
        cheap = await imported(channel, "SYNC-CHEAP", http)
        await dispatch_channel_order_now(ok, http)
        await dispatch_channel_order_now(cheap, http)
    assert sandbox.view("SYNC-OK")["order_state"] == "SHIPPING"
    assert sandbox.view("SYNC-CHEAP")["order_state"] == "WAITING_ACCEPTANCE"
    assert (await order_row(cheap))["status"] == "awaiting_acceptance"
    assert "34 % below its catalog cost of 15.00 EUR" in (await order_events(cheap))[-1]["message"]


async def test_the_channel_form_checks_the_percentage(database_url):
    kinds = {"mirakl": object}
    form = ChannelForm(name="Rule", kind="mirakl", base_url="https://x.example", hold_below_cost_pct="150")
    with pytest.raises(FieldErrors) as refused:
        await create_channel(form, kinds)
    assert set(refused.value.errors) == {"hold_below_cost_pct"}
    form.hold_below_cost_pct, form.hold_unknown_sku, form.auto_accept = " 25 ", True, True
    channel_id = await create_channel(form, kinds)
    stored = await Channel.select().where(Channel.id == channel_id).first()
    assert (stored["auto_accept"], stored["hold_unknown_sku"], stored["hold_below_cost_pct"]) == (True, True, 25)


# What the merchant is told when the marketplace does not take the decision ----------------------------


@pytest.fixture
async def shared_http_client():
    """`web.orders.decisions` sends through the process's shared httpx client: close it with this test's loop."""
    yield
    await close_http_client()


async def test_a_marketplace_that_fails_is_retried_and_one_that_refuses_is_shown(
    database_url, serve_sandbox, shared_http_client
):
    channel, sandbox = await market_channel("mirakl", serve_sandbox)
    failing = put_order("mirakl", sandbox, "FR-DOWN", [("BB-1001", 1, 19.9)])
    refusing = put_order("mirakl", sandbox, "FR-GONE", [("BB-1001", 1, 19.9)])
    async with httpx.AsyncClient() as http:
        failing_id = await imported(channel, failing, http)
        refusing_id = await imported(channel, refusing, http)

    sandbox.faults.update({"error_rate": 1.0})
    answer = await decide_and_send(failing_id, lambda: accept_order(failing_id, OPERATOR))
    assert answer.level == "info"
    assert answer.message.startswith("Order accepted. The order is awaiting fulfillment. mirakl acceptance did not")
    assert "Waybill keeps trying" in answer.message
    assert (await order_row(failing_id))["status"] == "awaiting_fulfillment", "the decision itself is saved"
    [message] = await outbox_for(failing_id)
    assert (message["state"], message["attempts"]) == ("pending", 1)

    sandbox.faults.update({"error_rate": 0.0})
    sandbox.set_state(refusing, "CANCELED")  # the customer cancelled on Mirakl meanwhile
    answer = await decide_and_send(refusing_id, lambda: accept_order(refusing_id, OPERATOR))
    assert answer.level == "error"
    assert answer.message.startswith(
        "Order accepted. The order is awaiting fulfillment. mirakl acceptance did not take"
    )
    assert "Fix the cause, then use Retry on the Connection issues page." in answer.message


# The order page answers first and then asks for the channel's answer ----------------------------------

HTMX = {"HX-Request": "true"}


async def decide_on_the_page(client, order_id: int, action: str = "accept") -> str:
    await login(client, "operator")
    token = csrf_from((await client.get(f"/orders/{order_id}")).text)
    answer = await client.post(f"/orders/{order_id}/{action}", data={"_csrf_token": token}, headers=HTMX)
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_the_page_answers_first_then_shows_what_the_marketplace_said(client, users, serve_sandbox):
    channel, sandbox = await market_channel("mirakl", serve_sandbox)
    remote = put_order("mirakl", sandbox, "FR-PAGE", [("BB-1001", 1, 19.9)])
    async with httpx.AsyncClient() as http:
        order_id = await imported(channel, remote, http)

    answer = await decide_on_the_page(client, order_id)
    assert 'role="status">Order accepted. The order is awaiting fulfillment.</div>' in answer
    assert "Sending the decision to mirakl acceptance…" in answer
    assert f'hx-get="/orders/{order_id}/decision-answer?attempt=1"' in answer
    # The decision went out after the answer (the test transport waits for that too), exactly once.
    assert sandbox.view(remote)["operations"]["accept"] == 1

    said = (await client.get(f"/orders/{order_id}/decision-answer?attempt=1", headers=HTMX)).text
    assert 'id="decision-answer">mirakl acceptance has the decision.</div>' in said
    assert "hx-get" not in said.split('id="decision-answer"')[1].split("</div>")[0], "it stops asking"
    summary = said[said.index('id="order-summary"') :]
    assert 'hx-swap-oob="true"' in summary.split(">")[0]
    assert "SHIPPING" in summary.split("</section>")[0], "the channel status it confirmed"


async def test_a_decision_not_sent_yet_is_asked_for_again_then_no_longer(client, users, serve_sandbox):
    channel, sandbox = await market_channel("mirakl", serve_sandbox)
    remote = put_order("mirakl", sandbox, "FR-WAIT", [("BB-1001", 1, 19.9)])
    async with httpx.AsyncClient() as http:
        order_id = await imported(channel, remote, http)
    await accept_order(order_id, OPERATOR)  # queued, not delivered (as when the instance died meanwhile)
    await login(client, "operator")

    waiting = (await client.get(f"/orders/{order_id}/decision-answer?attempt=3", headers=HTMX)).text
    assert "Sending the decision to mirakl acceptance…" in waiting
    assert f'hx-get="/orders/{order_id}/decision-answer?attempt=4"' in waiting
    enough = (await client.get(f"/orders/{order_id}/decision-answer?attempt=30", headers=HTMX)).text
    assert "mirakl acceptance has not been reached yet; Waybill keeps trying" in enough
    assert "hx-get" not in enough
    assert (await client.get("/orders/999999/decision-answer", headers=HTMX)).status_code == 404


async def test_a_refusal_is_shown_as_an_alert_when_the_page_asks(client, users, serve_sandbox):
    channel, sandbox = await market_channel("mirakl", serve_sandbox)
    remote = put_order("mirakl", sandbox, "FR-NO", [("BB-1001", 1, 19.9)])
    async with httpx.AsyncClient() as http:
        order_id = await imported(channel, remote, http)
    sandbox.set_state(remote, "CANCELED")  # the customer cancelled on Mirakl meanwhile

    await decide_on_the_page(client, order_id)
    said = (await client.get(f"/orders/{order_id}/decision-answer?attempt=1", headers=HTMX)).text
    assert 'role="alert" id="decision-answer">mirakl acceptance did not take the decision:' in said
    assert "Fix the cause, then use Retry on the Connection issues page." in said
    assert 'id="review-issues" aria-labelledby="issues-h" hx-swap-oob="true"' in said
