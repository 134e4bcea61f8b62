"""A firing that pages four services, on a 390 px phone in dark mode: its line names two
and counts the rest ("Checkout API, Payments +2"), and "All 4 services" opens to every one,
each a link to its delivery; nothing sticks out sideways and nothing reads too faint."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.browser import low_contrast, overflow, phone, sign_in
from tests.dashboard.conftest import alert, delivery, fire, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = ("Checkout API", "Payments", "Billing reconciliation service", "Search")


def test_every_service_of_a_firing_is_a_tap_away_on_a_dark_phone(
    browser: Browser, live_server, org: Organization
) -> None:
    targets = [service(org, name) for name in NAMES]
    made = alert(org, "Checkout errors", *targets)
    firing = fire(made)
    for target in reversed(targets):  # the first named is the newest
        delivery(org, target, made=made, firing=firing)

    context = phone(browser, "dark")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        page.goto(f"{live_server.url}/o/{org.slug}/")
        item = page.locator(f"#firing-{made.pk}")
        line = item.locator(".latest-delivery")
        expect(line).to_contain_text("Delivered Trigger to Checkout API, Payments +2")
        more = line.locator("details.sent-to")
        expect(more.get_by_role("link", name="Search")).to_be_hidden()
        more.locator("summary").click()
        for name in NAMES:
            expect(more.get_by_role("link", name=name)).to_be_visible()
        assert overflow(page) == 0
        assert low_contrast(page) == []
    finally:
        context.close()
