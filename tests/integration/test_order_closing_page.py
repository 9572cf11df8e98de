"""The order page's closing actions over HTTP: htmx fragments and plain form posts, field errors that
keep what was typed, role refusals, and a delivered order's page without any control."""

from __future__ import annotations

import re

import httpx
import pytest

from models.core.actors import Actor
from models.core.clock import now
from models.db.tables import Order, OrderLine
from models.fulfilment.shipping import add_shipment
from models.orders.acceptance import accept_order
from models.orders.closing import mark_delivered
from tests.conftest import csrf_from, import_one, login, make_order

HTMX = {"HX-Request": "true"}
OPERATOR = Actor.user("operator")


async def page_of(client: httpx.AsyncClient, order_id: int) -> str:
    response = await client.get(f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.text


async def post(client: httpx.AsyncClient, order_id: int, step: str, form: dict, htmx: bool = True) -> httpx.Response:
    page = await page_of(client, order_id)
    version = re.search(r'name="version" value="(\d+)"', page)
    data = {"_csrf_token": csrf_from(page), "version": version.group(1) if version else "", **form}
    return await client.post(f"/orders/{order_id}/{step}", data=data, headers=HTMX if htmx else {})


async def shipped_order(channel: dict, name: str) -> int:
    order_id = await import_one(channel, make_order(name, lines=[("SKU-1", 1, 1990)]))
    await accept_order(order_id, OPERATOR)
    line = await OrderLine.select().where(OrderLine.order == order_id).first()
    await add_shipment(order_id, {line["id"]: 1}, OPERATOR, no_tracking=True)
    return order_id


async def status(order_id: int) -> str:
    return (await Order.select(Order.status).where(Order.id == order_id).first())["status"]


async def test_mark_paid_as_a_plain_form_post_answers_the_whole_page(client, users, channel):
    order_id = await import_one(channel, make_order("CP-1", payment_method="on_account"))
    await login(client, "operator")
    page = await page_of(client, order_id)
    assert 'aria-labelledby="closing-h"' in page and "Mark as paid" in page
    response = await post(client, order_id, "mark-paid", {}, htmx=False)
    assert response.status_code == 200
    assert "<html" in response.text
    assert "Marked as paid." in response.text
    assert ">Mark as paid</button>" not in response.text


async def test_a_viewer_sees_no_controls_and_cannot_post(client, users, channel):
    order_id = await import_one(channel, make_order("CP-2", payment_method="on_account"))
    await login(client, "viewer")
    page = await page_of(client, order_id)
    assert "closing-actions" not in page
    response = await client.post(f"/orders/{order_id}/mark-paid", data={"_csrf_token": csrf_from(page)}, headers=HTMX)
    assert response.status_code == 403
    assert "can view orders but not change them" in response.text


async def test_a_refused_delivery_date_is_shown_beside_the_field_and_kept(client, users, channel):
    order_id = await shipped_order(channel, "CP-3")
    await login(client, "operator")
    response = await post(client, order_id, "deliver", {"delivered_at": "2020-01-02"})
    assert response.status_code == 200
    fragment = response.text
    assert "<html" not in fragment
    assert '<details id="deliver-panel" open>' in fragment
    assert 'value="2020-01-02"' in fragment
    assert 'aria-invalid="true" aria-describedby="e-delivered-at"' in fragment
    assert re.search(r'id="e-delivered-at">The delivery date cannot be before the order shipped \(', fragment)
    assert "Not marked as delivered: the delivery date cannot be before the order shipped" in fragment
    assert await status(order_id) == "shipped"


async def test_cancel_without_a_reason_keeps_the_panel_open(client, users, channel):
    order_id = await import_one(channel, make_order("CP-4"))
    await login(client, "operator")
    response = await post(client, order_id, "cancel", {"reason": "  "})
    assert '<details id="cancel-panel" open>' in response.text
    assert 'id="e-cancel-reason">Give a reason for cancelling, e.g. the customer asked.' in response.text
    assert "The order was not cancelled: give a reason." in response.text
    assert await status(order_id) == "awaiting_acceptance"


async def test_a_stale_form_gets_a_conflict_and_changes_nothing(client, users, channel):
    order_id = await import_one(channel, make_order("CP-5", payment_method="on_account"))
    await login(client, "operator")
    page = await page_of(client, order_id)
    await accept_order(order_id, Actor.user("alice"))  # someone else, meanwhile
    response = await client.post(
        f"/orders/{order_id}/mark-paid", data={"_csrf_token": csrf_from(page), "version": "1"}, headers=HTMX
    )
    assert "changed by alice while you were working on it" in response.text
    assert (await Order.select(Order.payment_status).where(Order.id == order_id).first())["payment_status"] == "unpaid"


@pytest.mark.parametrize("role", ["operator", "admin"])
async def test_a_delivered_order_page_has_no_control_that_changes_it(client, users, channel, role):
    order_id = await shipped_order(channel, f"CP-6-{role}")
    await mark_delivered(order_id, now(), OPERATOR)
    await login(client, role)
    page = await page_of(client, order_id)
    assert 'method="post"' not in page.split("<main", 1)[1]
    assert "hx-post" not in page
    assert "Delivered is final: nothing on this order can change any more." in page
    refused = await client.post(
        f"/orders/{order_id}/return", data={"_csrf_token": csrf_from(page), "note": ""}, headers=HTMX
    )
    assert "was delivered on" in refused.text and "A delivered order is final" in refused.text
