"""Two-step verification as a person sets it up: My account → Set up, the key read off the page into an
authenticator (pyotp here), the first code confirmed, the recovery codes shown once; then log out and log
in with the password and a code. The set-up page fits a 375 px phone screen."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from models.accounts.users import create_user
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import Pages, World, log_in

pytestmark = pytest.mark.e2e


def keep_screenshot(page: Page, name: str) -> None:
    """With WAYBILL_E2E_SCREENSHOTS=<dir>, keep a full-page picture for a human to look at."""
    folder = os.environ.get("WAYBILL_E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def fits_the_width(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def test_a_user_sets_up_two_step_verification_then_logs_in_with_a_code(pages: Pages, world: World) -> None:
    world.run(lambda: create_user("twostep", TEST_PASSWORD, "operator", "twostep@shop.example"))
    page = pages.new()
    page.goto("/login")
    log_in(page, "twostep")
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()

    page.get_by_role("link", name=re.compile("^twostep")).click()
    page.get_by_role("button", name="Set up two-step verification").click()
    expect(page.get_by_role("heading", name="Two-step verification", level=1)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    keep_screenshot(page, "two-step-setup-desktop")

    page.get_by_label("Code from your app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_text("That is not the code your app shows for this secret.")).to_be_visible()
    expect(page.get_by_label("Code from your app")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#totp-secret")).to_have_text(re.compile(secret[:4]))  # the same key, to try again

    page.get_by_label("Code from your app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("status").filter(has_text="Two-step verification")).to_have_text(
        "Two-step verification is on."
    )
    codes = page.locator("#recovery-codes code")
    expect(codes).to_have_count(10)

    page.get_by_role("link", name="Continue").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    log_in(page, "twostep")
    expect(page).to_have_url(re.compile(r"/login/code$"))
    expect(page.get_by_text("Two-step verification for twostep")).to_be_visible()
    # The code of the next 30-second step: the one that confirmed the set-up is spent.
    page.get_by_label("Code from your authenticator app").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()


def test_the_set_up_page_fits_a_phone(pages: Pages, world: World) -> None:
    world.run(lambda: create_user("phoneuser", TEST_PASSWORD, "viewer", "phone@shop.example"))
    page = pages.new(viewport={"width": 375, "height": 812})
    page.goto("/login")
    log_in(page, "phoneuser")
    page.goto("/account")
    page.get_by_role("button", name="Set up two-step verification").click()
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    fits_the_width(page)
    box = qr.bounding_box()
    assert box and box["width"] >= 180, "the QR code stays large enough to scan"
    keep_screenshot(page, "two-step-setup-375")

    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.get_by_label("Code from your app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.locator("#recovery-codes code")).to_have_count(10)
    fits_the_width(page)
    keep_screenshot(page, "two-step-recovery-codes-375")

    page.get_by_role("button", name="Log out").click()
    log_in(page, "phoneuser")
    expect(page.get_by_label("Code from your authenticator app")).to_be_visible()
    fits_the_width(page)
    keep_screenshot(page, "two-step-login-code-375")
