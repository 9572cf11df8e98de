"""Nobody is offered a control their role may not use: every form and htmx post on the pages a viewer or an
operator opens goes to a route the authorization matrix lets that role use."""

from __future__ import annotations

import re

import pytest

from models.orders.lifecycle import OrderStatus
from tests.conftest import login
from tests.integration.support import add_supplier
from tests.integration.test_authorization_matrix import MATRIX, OPERATOR, PARAM, SIGNED_IN
from tests.integration.test_operations import order_in

S = OrderStatus
POST_TARGET = re.compile(r'(?:<form[^>]*method="post"[^>]*action="([^"]+)"|hx-post="([^"]+)")')


ROLE_LEVEL = {"viewer": SIGNED_IN, "operator": OPERATOR}


def may_post(role: str, path: str) -> bool:
    """Whether the matrix lets `role` POST to `path` (a concrete address, its query left out)."""
    path = path.split("?", 1)[0]
    for (method, pattern), least_role in MATRIX.items():
        if method != "POST" or "{unknown:path}" in pattern:
            continue
        if re.fullmatch(PARAM.sub(r"[^/]+", pattern), path):
            return least_role <= ROLE_LEVEL[role]
    raise AssertionError(f"a page posts to {path}, which no route answers")


@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_no_role_is_offered_a_control_it_cannot_use(client, users, channel, role):
    orders = [
        await order_in(channel, status, name=f"VIEW-{status.value}")
        for status in (S.PENDING_REVIEW, S.AWAITING_ACCEPTANCE, S.AWAITING_FULFILLMENT, S.PROCESSING, S.SHIPPED)
    ]
    supplier_id = await add_supplier("BigBuy", "bigbuy", "http://127.0.0.1:9/none", {"api_key": "k"})
    pages = [
        "/orders",
        *[f"/orders?tab={tab}" for tab in ("pending_review", "awaiting_acceptance", "awaiting_fulfillment")],
        *[f"/orders/{order_id}" for order_id in orders],
        "/inventory",
        "/suppliers",
        f"/suppliers/{supplier_id}",
        "/channels",
        f"/channels/{channel['id']}",
        "/connection-issues",
        "/metrics",
        "/notifications",
        "/settings",
        "/account",
    ]
    await login(client, role)
    offered = []
    for page in pages:
        answer = await client.get(page)
        assert answer.status_code == 200, page
        for match in POST_TARGET.finditer(answer.text):
            target = match.group(1) or match.group(2)
            if not may_post(role, target):
                offered.append(f"{page}: {target}")
    assert not offered, f"controls a {role} cannot use:\n" + "\n".join(sorted(set(offered)))
