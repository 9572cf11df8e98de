"""Sessions end: logout ends the session wherever its cookie was copied to, sessions have an idle limit and
an absolute lifetime, and log out everywhere, a password change, a role change and deactivation end them."""

from __future__ import annotations

import datetime as dt

import httpx

from models.core.clock import now
from models.db.tables import Event, UserSession
from tests.conftest import TEST_PASSWORD, csrf_from, login


def copy_of(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another client holding the same cookies, as an attacker with a copied cookie would."""
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url, cookies=dict(client.cookies))


def another_browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url)


async def opens(client: httpx.AsyncClient, path: str = "/orders") -> bool:
    answer = await client.get(path)
    return answer.status_code == 200 and "/login" not in str(answer.url)


async def post(client: httpx.AsyncClient, path: str, page: str = "/account", **data: str) -> httpx.Response:
    token = csrf_from((await client.get(page)).text)
    return await client.post(path, data={"_csrf_token": token, **data})


async def test_a_copied_cookie_opens_nothing_after_logout(client, users):
    await login(client, "operator")
    async with copy_of(client) as thief:
        assert await opens(thief)
        await post(client, "/logout", "/orders")
        assert not await opens(thief), "the copied cookie still worked after logout"
    ended = await UserSession.select().first()
    assert ended["ended_reason"] == "logout" and ended["ended_at"] is not None


async def test_a_session_ends_after_its_lifetime_however_busy_and_after_idle_time(client, users):
    await login(client, "operator")
    assert await opens(client)
    await UserSession.update({UserSession.created_at: now() - dt.timedelta(hours=25)}).where(
        UserSession.ended_at.is_null()
    )
    assert not await opens(client), "a session used all the time still has an absolute lifetime"
    assert (await UserSession.select().first())["ended_reason"] == "expired"

    await login(client, "operator")
    await UserSession.update({UserSession.last_seen_at: now() - dt.timedelta(hours=13)}).where(
        UserSession.ended_at.is_null()
    )
    assert not await opens(client)


async def test_log_out_everywhere_ends_every_session_of_the_user(client, users):
    await login(client, "operator")
    async with another_browser(client) as other:
        await login(other, "operator")
        assert await opens(other)
        answer = await post(client, "/account/logout-everywhere")
        assert answer.status_code in (200, 302, 303)
        assert not await opens(other) and not await opens(client)
    assert await Event.exists().where(Event.kind == "account_logged_out_everywhere")


async def change_password(client, current: str, new: str):
    """My account → Change password, the new one typed twice."""
    return await post(client, "/account/password", current_password=current, new_password=new, new_password_again=new)


async def test_changing_my_password_ends_my_other_sessions_and_keeps_this_one(client, users):
    await login(client, "operator")
    async with another_browser(client) as other:
        await login(other, "operator")
        wrong = await change_password(client, "not-mine", "a-new-long-password")
        assert wrong.status_code == 400 and "This is not your current password." in wrong.text
        weak = await change_password(client, TEST_PASSWORD, "password123")
        assert weak.status_code == 400 and "among the first that attackers try" in weak.text
        changed = await change_password(client, TEST_PASSWORD, "a-new-long-password")
        assert changed.status_code == 200 and "Password changed. 1 other session(s) ended." in changed.text
        assert await opens(client) and not await opens(other)
    client.cookies.clear()
    await login(client, "operator", "a-new-long-password")
    assert await opens(client)


async def test_an_admin_takes_access_away_and_it_holds_at_once(client, users):
    from models.accounts.users import create_api_token
    from models.db.tables import ApiToken, User

    async with another_browser(client) as operator:
        await login(operator, "operator")
        operator_id = (await User.select(User.id).where(User.username == "operator").first())["id"]
        api = {"Authorization": f"Bearer {await create_api_token(operator_id, 'script')}"}
        await login(client, "admin")

        demoted = await post(client, f"/settings/users/{operator_id}/role", "/settings", role="viewer")
        assert demoted.status_code == 200 and "operator is now viewer" in demoted.text
        assert not await opens(operator), "a role change ends the user's sessions"
        assert (await client.get("/api/v1/orders", headers=api)).status_code == 200, "tokens read the new role"
        refused = await client.post("/api/v1/orders/1/accept", headers=api)
        assert refused.status_code == 403

        await login(operator, "operator")
        off = await post(client, f"/settings/users/{operator_id}/deactivate", "/settings")
        assert off.status_code == 200 and "operator is deactivated" in off.text
        assert not await opens(operator)
        assert (await client.get("/api/v1/orders", headers=api)).status_code == 401
        assert await ApiToken.count().where(ApiToken.revoked_at.is_null()) == 0
        operator.cookies.clear()
        page = await operator.get("/login")
        again = await operator.post(
            "/login", data={"username": "operator", "password": TEST_PASSWORD, "_csrf_token": csrf_from(page.text)}
        )
        assert again.status_code == 401

        back = await post(client, f"/settings/users/{operator_id}/reactivate", "/settings")
        assert "operator is active again" in back.text
        reset = await post(client, f"/settings/users/{operator_id}/reset-password", "/settings")
        new_password = reset.text.split('id="new-password">')[1].split("<")[0]
        assert len(new_password) >= 12 and "shown only once" in reset.text
        await login(operator, "operator", new_password)
        assert await opens(operator)

    kinds = [row["kind"] for row in await Event.select(Event.kind).where(Event.order.is_null()).order_by(Event.id)]
    assert kinds == [
        "account_role_changed",
        "account_deactivated",
        "account_reactivated",
        "account_password_reset",
    ]
    history = (await client.get("/settings")).text
    assert "Role of operator changed from operator to viewer." in history


async def test_the_last_admin_cannot_be_demoted_or_deactivated(client, users):
    from models.db.tables import User

    await login(client, "admin")
    admin_id = (await User.select(User.id).where(User.username == "admin").first())["id"]
    demote = await post(client, f"/settings/users/{admin_id}/role", "/settings", role="operator")
    assert demote.status_code == 409 and "the only active admin" in demote.text
    myself = await post(client, f"/settings/users/{admin_id}/deactivate", "/settings")
    assert myself.status_code == 409 and "You cannot deactivate yourself" in myself.text
    assert (await User.select(User.role).where(User.id == admin_id).first())["role"] == "admin"


async def test_only_admins_manage_users(client, users):
    from models.db.tables import User

    await login(client, "operator")
    admin_id = (await User.select(User.id).where(User.username == "admin").first())["id"]
    for action in ("role", "deactivate", "reset-password", "revoke-tokens"):
        answer = await post(client, f"/settings/users/{admin_id}/{action}", "/settings", role="viewer")
        assert answer.status_code == 403, action
    assert (await User.select(User.active).where(User.id == admin_id).first())["active"]
