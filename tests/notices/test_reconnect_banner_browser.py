"""The notice for a PagerDuty account to reconnect, in headless Chromium on a 390 px phone,
light and dark: amber, not a paging alarm, it fits the screen, is readable, and its one
link leads to the account's Reconnect button."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.browser import low_contrast, overflow
from tests.notices.banners import alerts_on_phone, revoked

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_reconnect_notice_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot, scheme: str
) -> None:
    account, _alert = revoked(org, "PagerDuty refused to refresh access (invalid_grant).")
    page = alerts_on_phone(browser, live_server.url, org, scheme)

    notice = page.locator(".paging-banner.is-reconnect")
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("role", "status")  # not an alarm: pages still go out
    expect(notice).to_contain_text(f"Reconnect PagerDuty: PagerDuty account {account.name}")
    expect(notice).to_contain_text("pages still go out")
    assert overflow(page) <= 0
    assert low_contrast(page) == []
    screenshot(page, f"reconnect-banner-{scheme}")

    notice.get_by_role("link", name="Reconnect it in Integrations").click()
    expect(page).to_have_url(re.compile(rf"/settings/integrations/#account-{account.pk}$"))
    expect(page.get_by_role("button", name=f"Reconnect {account.name}")).to_be_visible()
    assert overflow(page) <= 0
    page.context.close()
