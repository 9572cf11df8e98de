"""Accounts as people use them: an admin takes access away in Settings → Users and it holds at once in
the other person's open browser; a user changes their password and logs out everywhere on My account."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from models.accounts.users import create_user
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import Pages, World, log_in

pytestmark = pytest.mark.e2e


def logged_in(pages: Pages, username: str, password: str = TEST_PASSWORD):
    page = pages.new()
    page.goto("/login")
    log_in(page, username, password)
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()
    return page


def test_an_admin_deactivates_a_user_whose_open_page_then_asks_for_a_log_in(pages: Pages, world: World) -> None:
    world.run(lambda: create_user("leaver", TEST_PASSWORD, "operator", "leaver@shop.example"))
    leaver = logged_in(pages, "leaver")

    admin = pages.new("admin")
    admin.goto("/settings#users")
    row = admin.locator("tr", has_text="leaver@shop.example")
    expect(row).to_contain_text("Active · 1 session")
    row.get_by_role("button", name="Deactivate leaver").click()
    expect(admin.get_by_role("status")).to_contain_text("leaver is deactivated")
    expect(admin.locator("tr", has_text="leaver@shop.example")).to_contain_text("Deactivated")
    expect(admin.get_by_text("leaver deactivated: 1 session(s) ended")).to_be_visible()

    leaver.reload()
    expect(leaver).to_have_url(re.compile(r"/login"))
    log_in(leaver, "leaver")
    expect(leaver.get_by_role("alert")).to_have_text("Wrong username or password.")


def test_a_user_changes_their_password_then_logs_out_everywhere(pages: Pages, world: World) -> None:
    world.run(lambda: create_user("mover", TEST_PASSWORD, "operator", "mover@shop.example"))
    elsewhere = logged_in(pages, "mover")
    page = logged_in(pages, "mover")

    page.get_by_role("link", name=re.compile("^mover")).click()
    expect(page.get_by_role("heading", name="My account", level=1)).to_be_visible()
    expect(page.get_by_text("This browser")).to_be_visible()
    page.get_by_label("Current password").fill(TEST_PASSWORD)
    page.get_by_label("New password", exact=True).fill("password123")
    page.get_by_label("New password again").fill("password123")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("This password is among the first that attackers try.")).to_be_visible()

    page.get_by_label("Current password").fill(TEST_PASSWORD)
    page.get_by_label("New password", exact=True).fill("a-much-better-one")
    page.get_by_label("New password again").fill("a-much-better-one")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_have_text("Password changed. 1 other session(s) ended.")

    elsewhere.reload()
    expect(elsewhere).to_have_url(re.compile(r"/login"))

    page.get_by_role("button", name="Log out everywhere").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    log_in(page, "mover", "a-much-better-one")
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()
