"""Shared steps of the browser journeys (Playwright, headless Chromium)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import PASSWORD
from tests.pagerduty_fixtures import US_USER

SANDBOX_PASSWORD = "correct-horse-sandbox"  # shown on the sandbox's sign-in page
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def phone(browser: Browser, scheme: str) -> BrowserContext:
    """A 390 px phone whose system colour scheme is light or dark (the pages follow it)."""
    return browser.new_context(viewport=PHONE, color_scheme=scheme)  # type: ignore[arg-type]


def overflow(page: Page) -> int:
    """How far the widest element of the page's content sticks out to the right."""
    return int(
        page.evaluate(
            """() => Math.max(0, ...[...document.querySelectorAll('main *')].map(
                e => e.getBoundingClientRect().right - document.documentElement.clientWidth))"""
        )
    )


def sign_in(page: Page, base: str, email: str) -> None:
    """Through our own login page."""
    page.set_default_timeout(10_000)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main").get_by_role("button", name=re.compile("^sign in$", re.I)).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def authorize_on_sandbox(page: Page, sandbox_url: str) -> None:
    """Press "Connect PagerDuty" and sign in on the sandbox; leaves the consent page open."""
    page.get_by_role("button", name="Connect PagerDuty").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(sandbox_url)}/identity/oauth/authorize"))
    expect(page.get_by_role("heading", name="Sign in to PagerDuty")).to_be_visible()
    # The sandbox shows its users and their password on the sign-in page.
    expect(page.locator(".hint")).to_contain_text(US_USER)
    expect(page.locator(".hint")).to_contain_text(SANDBOX_PASSWORD)
    page.fill("input[name=email]", US_USER)
    page.fill("input[name=password]", SANDBOX_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    expect(page.locator(".card")).to_contain_text(f"Signed in as {US_USER}")
