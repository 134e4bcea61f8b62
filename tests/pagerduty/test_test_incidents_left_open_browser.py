"""r15 must-fix 1 at 390 px, in headless Chromium with the sandbox: two test events on a
service deleted in PagerDuty, their automatic resolves refused. The disconnect page says
up front they stay open in PagerDuty, each linked; after "Yes, disconnect" the message says
so and leads to Failed deliveries, which lists them as open; nothing sticks out sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.browser import overflow, phone, sign_in
from tests.pagerduty.test_test_incidents_left_open import _automatic_resolves_refused, _send_test

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_disconnect_says_which_test_incidents_stay_open(
    browser: Browser,
    live_server,
    org: Organization,
    connected_service,
    pagerduty,
    admin_client,
    screenshot,
) -> None:
    service = connected_service
    for _ in range(2):
        _send_test(admin_client, org, service)
    pagerduty.delete_service(service.pd_service_id)
    _automatic_resolves_refused(service)

    page = phone(browser, "dark").new_page()
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/settings/integrations/")
    page.locator(f'a[href$="/accounts/{service.account_id}/disconnect/"]').click()
    stays = page.locator("#removal-stays-open")
    expect(stays).to_contain_text("if it still refuses, those incidents stay open in PagerDuty")
    expect(stays.locator("[data-stays-open]")).to_have_count(2)
    expect(stays.get_by_role("link", name="Checkout API 001 in PagerDuty").first).to_have_attribute(
        "href", service.html_url
    )
    expect(page.locator("#removal-effects")).not_to_contain_text("will be resolved")
    assert overflow(page) == 0
    screenshot(page, "disconnect-stays-open-phone")

    page.get_by_role("button", name="Yes, disconnect").click()
    message = page.locator(".flash").filter(has_text="was disconnected")
    expect(message).to_contain_text("2 incidents stay open in PagerDuty")
    expect(message).not_to_contain_text("alert's page")
    assert overflow(page) == 0
    screenshot(page, "after-disconnect-phone")
    message.get_by_role("link", name="Failed deliveries").click()
    expect(page.locator("[data-left-open]").first).to_contain_text(
        "The test incident in Checkout API 001 is still open in PagerDuty"
    )
    page.context.close()
