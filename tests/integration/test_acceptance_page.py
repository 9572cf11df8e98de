"""The order page's acceptance actions over HTTP: htmx fragments with out-of-band parts, plain form posts
that get the whole page, field errors that keep what was typed, and roles."""

from __future__ import annotations

import re

from tests.conftest import csrf_from, import_one, login, make_order
from tests.integration.support import order_lines, order_row

HTMX = {"HX-Request": "true"}


async def open_order(client, channel, name: str, role: str = "operator") -> tuple[int, list[int], str]:
    order_id = await import_one(channel, make_order(name))
    await login(client, role)
    page = await client.get(f"/orders/{order_id}")
    assert page.status_code == 200
    return order_id, [line["id"] for line in await order_lines(order_id)], csrf_from(page.text)


async def test_the_card_offers_the_decisions_with_the_design_words(client, channel, users):
    order_id, _, _ = await open_order(client, channel, "PAGE-1")
    page = (await client.get(f"/orders/{order_id}")).text
    card = page[page.index('id="acceptance"') :]
    for words in (">Accept order<", ">Reject order<", "<legend>Rejection reason</legend>", ">Edit<", ">Accept<"):
        assert words in card, words
    for reason in ("Out of stock", "Price error", "Cannot ship to this address", "Other"):
        assert reason in card


async def test_htmx_accept_answers_the_fragment_and_out_of_band_parts(client, channel, users):
    order_id, _, token = await open_order(client, channel, "PAGE-2")
    answer = await client.post(f"/orders/{order_id}/accept", data={"_csrf_token": token, "version": "1"}, headers=HTMX)
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<div id="fulfilment"')
    assert "Order accepted. The order is awaiting fulfillment." in answer.text
    assert re.search(r'id="order-status" hx-swap-oob="true"[^>]*>Awaiting fulfillment<', answer.text)
    assert 'id="order-lines" aria-labelledby="lines-h" hx-swap-oob="true"' in answer.text
    assert 'id="acceptance"' not in answer.text, "the card is gone once the order is decided"
    assert (await order_row(order_id))["status"] == "awaiting_fulfillment"


async def test_a_plain_post_without_a_reason_gets_the_page_with_the_field_error(client, channel, users):
    order_id, _, token = await open_order(client, channel, "PAGE-3")
    answer = await client.post(
        f"/orders/{order_id}/reject", data={"_csrf_token": token, "reason": "other", "reason_text": " "}
    )
    assert answer.status_code == 200
    assert "<title>Order PAGE-3 · Waybill</title>" in answer.text
    assert 'role="alert">Describe the reason for rejecting; nothing was rejected.' in answer.text
    assert 'id="reject-text-error">Describe the reason for rejecting.</p>' in answer.text
    assert 'value="other" checked' in answer.text, "the reason chosen is kept"
    assert (await order_row(order_id))["status"] == "awaiting_acceptance"


async def test_a_line_form_opens_in_place_and_a_bad_quantity_keeps_what_was_typed(client, channel, users):
    order_id, (first, _), token = await open_order(client, channel, "PAGE-4")
    card = await client.get(f"/orders/{order_id}/acceptance?line_form=edit-{first}", headers=HTMX)
    assert card.text.lstrip().startswith('<section class="card acceptance" id="acceptance"')
    assert f'<label for="edit-qty-{first}">New quantity of SKU-1</label>' in card.text
    whole = await client.get(f"/orders/{order_id}/acceptance?line_form=reject-{first}")
    assert "<title>Order PAGE-4 · Waybill</title>" in whole.text and f'id="line-reason-{first}"' in whole.text

    answer = await client.post(
        f"/orders/{order_id}/lines/{first}/edit", data={"_csrf_token": token, "quantity": "two"}, headers=HTMX
    )
    assert f'id="edit-qty-error-{first}">Enter a whole number.</p>' in answer.text
    assert 'value="two"' in answer.text
    answer = await client.post(
        f"/orders/{order_id}/lines/{first}/edit", data={"_csrf_token": token, "quantity": "9"}, headers=HTMX
    )
    assert "At most 2: a quantity can only be lowered, not raised." in answer.text
    assert (await order_lines(order_id))[0]["quantity"] == 2


async def test_a_viewer_cannot_decide(client, channel, users):
    order_id, (first, _), token = await open_order(client, channel, "PAGE-5", role="viewer")
    page = (await client.get(f"/orders/{order_id}")).text
    assert "Your role can view orders but not accept or reject them." in page
    refused = await client.post(f"/orders/{order_id}/lines/{first}/accept", data={"_csrf_token": token})
    assert refused.status_code == 403
    assert (await order_row(order_id))["version"] == 1
