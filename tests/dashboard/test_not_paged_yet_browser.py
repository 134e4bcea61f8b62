"""A firing PagerDuty keeps failing (500), on a 390 px phone in dark mode: the headline
and its card say it is not paged yet, nothing sticks out sideways and nothing reads too
faint."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.browser import low_contrast, overflow, phone, sign_in
from tests.dashboard.test_not_paged_yet import _failing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_firing_not_paged_yet_reads_whole_on_a_dark_phone(
    browser: Browser, live_server, org: Organization
) -> None:
    made = _failing(org, "Checkout payment errors")

    context = phone(browser, "dark")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        page.goto(f"{live_server.url}/o/{org.slug}/")
        expect(page.locator("#dashboard-summary")).to_contain_text(
            "1 firing alert not paged yet: 6 attempts since"
        )
        expect(page.locator(f"#firing-{made.pk} .not-paged-yet")).to_be_visible()
        assert overflow(page) == 0
        assert low_contrast(page) == []
    finally:
        context.close()
