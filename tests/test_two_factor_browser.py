"""Two-factor sign-in in headless Chromium on a 390 px phone, light and dark: a member of an
organization that requires it is sent to set up an authenticator app, gets through, and
next time signs in with the app's code."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from tests.browser import low_contrast, overflow, phone, sign_in
from tests.conftest import PASSWORD
from tests.two_factor import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "member@acme.example"


def _fits(page: Page) -> None:
    assert overflow(page) == 0
    assert low_contrast(page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_set_up_on_a_phone_then_sign_in_with_the_apps_code(
    browser: Browser,
    live_server,
    make_org: Callable[..., Organization],
    add_member,
    screenshot,
    scheme: str,
) -> None:
    org = make_org("Acme Ops")
    org.require_two_factor = True
    org.save()
    add_member(org, EMAIL)
    base = live_server.url
    context = phone(browser, scheme)
    page = context.new_page()
    sign_in(page, base, EMAIL)

    # The user menu offers it to anyone; the organization's pages insist on it.
    user_menu = page.locator(".site-header details.dropdown", has_text=EMAIL)
    user_menu.locator("summary").click()
    user_menu.get_by_role("link", name="Two-factor sign-in").click()
    expect(page.get_by_text("You sign in with your password alone.")).to_be_visible()
    _fits(page)
    page.goto(f"{base}/o/{org.slug}/alerts/")
    expect(page.get_by_role("status")).to_have_text(
        "Acme Ops asks every member to use two-factor sign-in: set up an authenticator app "
        "to open its pages. Rather not? Leave Acme Ops."
    )
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    _fits(page)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    qr = page.locator(".qr-code svg")
    expect(qr).to_be_visible()
    assert qr.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
    _fits(page)
    screenshot(page, f"set-up-{scheme}")
    key = page.get_by_label("Key to type instead")
    secret = (key.text_content() or "").strip()
    assert len(secret) == 32
    # The whole key shows on a phone (it wraps), with a button to copy it.
    fits = "e => e.scrollWidth <= e.clientWidth"
    assert key.evaluate(fits) and key.locator("xpath=..").evaluate(fits)
    box = key.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    for field in (page.get_by_label("Authenticator code"),):
        expect(field).to_have_attribute("inputmode", "numeric")
        expect(field).to_have_attribute("autocomplete", "one-time-code")
    page.get_by_label("Authenticator code").fill("000000")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    _fits(page)
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    _fits(page)
    screenshot(page, f"recovery-codes-{scheme}")
    page.get_by_role("button", name="Continue where you were going").click()
    expect(page).to_have_url(f"{base}/o/{org.slug}/alerts/")

    user_menu.locator("summary").click()
    user_menu.get_by_role("button", name="Sign out").click()
    sign_in(page, base, EMAIL)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    _fits(page)
    screenshot(page, f"sign-in-code-{scheme}")
    expect(page.get_by_label("Code")).to_have_attribute("inputmode", "numeric")
    page.get_by_label("Code").fill(totp_code(secret))
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))
    page.goto(f"{base}/o/{org.slug}/alerts/")
    expect(page).to_have_url(f"{base}/o/{org.slug}/alerts/")
    page.goto(f"{base}/profile/")
    page.locator("main").get_by_role("link", name="Two-factor sign-in").click()
    expect(page.get_by_text("You sign in with a code from your authenticator app.")).to_be_visible()
    expect(page.get_by_text("10 of 10 codes left.")).to_be_visible()
    _fits(page)
    screenshot(page, f"two-factor-on-{scheme}")
    context.close()
