"""On a 390 px phone in dark mode, the dashboard explains a broken path once: under "Broken
paging paths", where it says what to do. Each firing alert that pages through it names it
in a few words ("Search API: Invalid routing key.") with its fix and a link down to the
explanation, instead of repeating its 80 words in every firing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyAccount
from tests.browser import overflow, phone, sign_in
from tests.dashboard.conftest import account, alert, fire, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFUSED_WORDS = "Check the region"  # from the refused key's explanation (health.py)
RECONNECT_WORDS = "Stopped until Acme PagerDuty is reconnected"  # the account's problem


def test_a_broken_path_is_explained_once_on_a_dark_phone(
    browser: Browser, live_server, org: Organization
) -> None:
    search = service(
        org,
        "Search API",
        refused_at=timezone.now() - timedelta(minutes=20),
        refused_detail="Invalid routing key",
    )
    stale = account(org, status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    billing = service(org, "Billing", account=stale, pd_service_id="PBILL")
    for n in range(3):
        fire(alert(org, f"Search latency {n}", search), minutes_ago=n + 1)
    for n in range(2):
        fire(alert(org, f"Invoices stuck {n}", billing), minutes_ago=n + 5)

    context = phone(browser, "dark")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        page.goto(f"{live_server.url}/o/{org.slug}/")
        items = page.locator("#firing li.firing-item")
        expect(items).to_have_count(5)
        text = page.locator("main").inner_text()
        assert text.count(REFUSED_WORDS) == 1, text
        assert text.count("Pages still go out through its integration key") == 0, text
        expect(page.locator("#broken-paths")).to_contain_text(REFUSED_WORDS)
        expect(page.locator("#broken-paths")).to_contain_text(RECONNECT_WORDS)

        searching = items.filter(has_text="Search latency 0")
        expect(searching.locator(".path-words")).to_contain_text("Search API: Invalid routing key.")
        expect(searching.get_by_role("button", name="Fix it in Integrations")).to_be_visible()
        billing_item = items.filter(has_text="Invoices stuck 0")
        expect(billing_item.locator(".path-words")).to_contain_text(
            "Account Acme PagerDuty to reconnect: pages still go out."
        )
        searching.get_by_role("link", name="What it means, below").click()
        expect(page).to_have_url(f"{live_server.url}/o/{org.slug}/#broken-paths")
        expect(page.locator("#broken-paths")).to_be_in_viewport()
        assert overflow(page) == 0
    finally:
        context.close()
