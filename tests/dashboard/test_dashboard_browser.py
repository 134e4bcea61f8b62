"""The dashboard in headless Chromium, on a laptop (1280 px) and a phone (390 px): a firing
alert that pages nobody above one that pages, a broken path with its fix, a failed delivery
and the hour's events; nothing sticks out sideways on the phone; the page updates itself
when a firing clears; the finished checklist folds into a line that still opens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.models import IngestKey
from tests.browser import PHONE, overflow, phone, sign_in
from tests.dashboard.conftest import alert, delivery, fire, refused, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 900}


def _trouble(org: Organization, post_events) -> Alert:
    """A firing alert that pages, one that pages nobody, a service PagerDuty refuses (with
    its failed delivery), and events in the last hour. Returns the alert that pages."""
    checkout = service(org, "Checkout API 001")
    search = service(
        org,
        "Search API",
        refused_at=timezone.now() - timedelta(minutes=50),
        refused_detail="Invalid routing key",
    )
    paged = alert(org, "Checkout errors", checkout, match_app="checkout", threshold=3)
    opened = fire(paged, minutes_ago=42)
    delivery(org, checkout, made=paged, firing=opened, at=opened.opened_at)
    heartbeat = alert(org, "Edge heartbeat missing", kind="absence", match_app="edge", threshold=1)
    fire(heartbeat, minutes_ago=7)
    latency = alert(org, "Search latency", search, match_app="search", threshold=100)
    refused(org, search, latency, timezone.now() - timedelta(minutes=50))
    _, secret = IngestKey.issue(org, "web servers")
    for size in (120, 40, 300):
        assert post_events(secret, [{"app": "checkout", "message": "ok"}] * size).status_code == 202
    return paged


def _check_dashboard(page: Page) -> None:
    expect(page.locator("#dashboard-summary")).to_contain_text(
        "1 firing alert pages nobody. 2 alerts are firing."
    )
    items = page.locator("#firing li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Nobody is paged for it.")
    expect(items.first).to_contain_text("Edge heartbeat missing")
    expect(items.first.get_by_role("button", name="Add a service")).to_be_visible()
    expect(items.nth(1)).to_contain_text("Checkout errors")
    expect(items.nth(1)).to_contain_text("For 42 min")
    expect(items.nth(1)).to_contain_text("Trigger to Checkout API 001")
    broken = page.locator("#broken-paths")
    expect(broken).to_contain_text("PagerDuty refuses Search API")
    expect(broken).to_contain_text("Edge heartbeat missing pages nobody")
    expect(page.locator("#failed-deliveries li")).to_have_count(1)
    expect(page.locator("#failed-deliveries")).to_contain_text(
        "PagerDuty refused it (400): Event object is invalid; Invalid routing key"
    )
    expect(page.locator("#events-hour")).to_have_text("460")
    expect(page.locator("#events .sparkline rect")).not_to_have_count(0)
    expect(page.locator("#getting-started")).to_contain_text("4 of 5 done")


def test_the_dashboard_on_a_laptop_updates_itself_and_folds_its_checklist(
    page: Page, live_server, org: Organization, screenshot, post_events
) -> None:
    paged = _trouble(org, post_events)
    base = live_server.url
    page.set_viewport_size(LAPTOP)
    sign_in(page, base, "owner@acme.example")
    page.clock.install()
    page.goto(f"{base}/o/{org.slug}/")
    _check_dashboard(page)
    screenshot(page, "dashboard-1280")

    # The failed delivery's link leads to what was sent and what PagerDuty answered.
    page.locator("#failed-deliveries li a").first.click()
    expect(page.get_by_text("PagerDuty did not take it")).to_be_visible()
    page.go_back()

    # The paging alert's firing clears, and a test alert is sent: within the refresh the
    # page says so by itself, and the finished checklist folds into a line.
    firings.clear_firing(
        Firing.objects.get(alert=paged), Firing.ClearReason.CLEARED, timezone.now(), 0
    )
    delivery(org, paged.targets.get(), is_test=True)
    with page.expect_response(f"**/o/{org.slug}/dashboard/live/"):
        page.clock.run_for(16_000)
    expect(page.locator("#firing li")).to_have_count(1)
    expect(page.locator("#dashboard-summary")).to_contain_text("1 alert is firing.")
    checklist = page.locator("details#getting-started")
    expect(checklist).to_contain_text("Getting started: all 5 steps done.")
    expect(checklist.locator(".steps")).to_be_hidden()
    checklist.locator("summary").click()
    expect(checklist.locator(".steps")).to_be_visible()
    expect(checklist.locator("[data-step=test-alert]")).to_contain_text("Test event sent")
    # It stays open across the next refresh.
    with page.expect_response(f"**/o/{org.slug}/dashboard/live/"):
        page.clock.run_for(16_000)
    expect(checklist.locator(".steps")).to_be_visible()
    screenshot(page, "dashboard-1280-updated")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_dashboard_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot, post_events, scheme: str
) -> None:
    _trouble(org, post_events)
    context = phone(browser, scheme)
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/")
    _check_dashboard(page)
    assert overflow(page) <= 0
    # Nor does the site's header widen the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, f"dashboard-390-{scheme}")
    context.close()
