"""Logging in and out through the form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Pages, log_in

pytestmark = pytest.mark.e2e


def test_wrong_password_is_refused_then_the_right_one_opens_the_page_asked_for(pages: Pages) -> None:
    page = pages.new()
    page.goto("/orders?tab=pending_review")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Waybill")).to_be_visible()

    log_in(page, "operator", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Username")).to_have_value("operator")
    expect(page.get_by_label("Password")).to_have_value("")

    log_in(page, "operator")
    expect(page).to_have_url(re.compile(r"/orders\?tab=pending_review$"))
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("operator")


def test_log_out_ends_the_session(pages: Pages) -> None:
    page = pages.new()
    page.goto("/login")
    log_in(page, "admin")
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/settings")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fsettings$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
