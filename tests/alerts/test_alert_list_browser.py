"""The alert list in headless Chromium on a 390 px wide phone, light and dark: its rows fit
the screen without sideways scrolling, and a search, its empty state, "Clear search" and the
next page work by tapping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from tests.browser import overflow, phone, sign_in
from tests.tenant_objects import _pd_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _alerts(org: Organization) -> None:
    service = _pd_service(org, org.memberships.get().user)
    since = timezone.now() - timedelta(minutes=30)
    for n in range(55):
        alert = Alert.objects.create(
            organization=org,
            name=f"Checkout payment provider errors {n:02d}",
            match_app="checkout",
            match_message="card declined at the payment provider",
            counting_since=since,
        )
        alert.targets.add(service)
    burning = Alert.objects.create(organization=org, name="Search latency", counting_since=since)
    Firing.objects.create(organization=org, alert=burning, count_at_open=1)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_list_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot, scheme: str
) -> None:
    _alerts(org)
    context = phone(browser, scheme)
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/")

    rows = page.locator("table.alert-list tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Search latency")
    expect(rows.first.locator(".badge").first).to_have_text("Firing")
    assert overflow(page) <= 0
    screenshot(page, f"list-{scheme}")

    page.get_by_role("link", name="Next →").click()
    expect(rows).to_have_count(6)
    expect(page.locator(".list-pages")).to_contain_text("Page 2 of 2")

    page.get_by_label("Search alerts by name").fill("no such thing")
    page.get_by_label("Search alerts by name").press("Enter")
    expect(page.get_by_text("No alerts match “no such thing”.")).to_be_visible()
    assert overflow(page) <= 0
    screenshot(page, f"no-match-{scheme}")
    page.get_by_role("button", name="Clear search").click()
    expect(rows).to_have_count(50)
    expect(page.get_by_label("Search alerts by name")).to_have_value("")
    context.close()
