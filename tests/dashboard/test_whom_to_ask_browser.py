"""A member on a phone (headless Chromium, 390 px): the getting-started steps only an owner
or admin can take name them instead of linking to buttons the member doesn't have; API
tokens, opened from a link, is a 403 that keeps the organization's header and leads back
to its home; nothing sticks out sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.browser import PHONE, overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_on_a_phone_is_told_whom_to_ask(
    browser: Browser, live_server, org: Organization, add_member, screenshot
) -> None:
    add_member(org, "mia@acme.example")
    context = phone(browser, "dark")
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, "mia@acme.example")
    page.goto(f"{base}/o/{org.slug}/")
    key = page.locator('[data-step="ingest-key"]')
    expect(key).to_contain_text(
        "Ask an owner or admin of Acme Ops to create an ingest key: owner@acme.example (owner)."
    )
    expect(key.get_by_role("link")).to_have_count(0)
    expect(page.locator("#team-line")).to_contain_text("to invite your team: owner@acme.example")
    assert overflow(page) <= 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "member-home-390")

    page.goto(f"{base}/o/{org.slug}/settings/api-tokens/")
    expect(page.get_by_role("heading", name="You don't have permission to do this")).to_be_visible()
    expect(page.locator("#whom-to-ask")).to_contain_text("owner@acme.example (owner)")
    expect(page.get_by_label("Switch organization")).to_have_text("Acme Ops")
    assert overflow(page) <= 0
    screenshot(page, "member-403-390")
    page.get_by_role("link", name="Back to Acme Ops").click()
    expect(page).to_have_url(f"{base}/o/{org.slug}/")
    context.close()
