"""In headless Chromium against the sandbox: a connected service whose integration was
removed in PagerDuty reads so in the picker, on a phone in light and dark mode, and ticking
it connects it again."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyService
from tests.browser import authorize_on_sandbox, low_contrast, overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "Checkout API 001"


def _search(page: Page, text: str) -> None:
    page.get_by_role("searchbox", name="Find services by service or team name").fill(text)
    # The button, not typing: it searches whether or not the page's scripts have started.
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#service-rows")).to_contain_text(f"match “{text}”")


def _row(page: Page) -> Any:
    return page.locator("#service-rows li").filter(has_text=re.compile(rf"^\s*{NAME}\b"))


def test_removed_integration_reads_so_and_connects_again(
    page: Page,
    browser: Browser,
    live_server: Any,
    org: Organization,
    pagerduty: Any,
    screenshot,
    settings,
) -> None:
    base = live_server.url
    settings.SITE_URL = base  # where PagerDuty's OAuth callback comes back
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/settings/integrations/")
    authorize_on_sandbox(page, pagerduty.url)
    page.get_by_role("button", name="Approve").click()
    _search(page, NAME)
    _row(page).get_by_role("checkbox").check()
    page.get_by_role("button", name="Connect 1 service").click()
    expect(page.locator("main")).to_contain_text(f"Connected {NAME}.")
    service = PagerDutyService.objects.get(organization=org, name=NAME)
    picker_url = (
        f"{base}/o/{org.slug}/settings/integrations/pagerduty/accounts/"
        f"{service.account_id}/services/"
    )
    pagerduty.remove_integration(service.integration_id)

    for scheme in ["light", "dark"]:
        context = phone(browser, scheme)
        try:
            on_phone = context.new_page()
            sign_in(on_phone, base, "owner@acme.example")
            on_phone.goto(picker_url)
            _search(on_phone, NAME)
            row = _row(on_phone)
            expect(row).to_contain_text("Integration removed in PagerDuty")
            expect(row).to_contain_text("tick it to connect it again with a new integration")
            expect(row).not_to_contain_text("Connected")
            expect(row.get_by_role("checkbox")).to_be_enabled()
            assert overflow(on_phone) <= 1
            assert low_contrast(on_phone) == []
            screenshot(on_phone, f"picker-integration-removed-phone-{scheme}")
        finally:
            context.close()

    page.goto(picker_url)
    _search(page, NAME)
    _row(page).get_by_role("checkbox").check()
    page.get_by_role("button", name="Connect 1 service").click()
    expect(page.locator("main")).to_contain_text(f"Connected {NAME}.")
    page.goto(picker_url)
    _search(page, NAME)
    expect(_row(page)).to_contain_text("Connected")
    expect(_row(page)).not_to_contain_text("Integration removed")
    expect(_row(page).get_by_role("checkbox")).to_be_disabled()
