"""Connect PagerDuty in headless Chromium, against the local sandbox over real HTTP: sign in,
authorize on the sandbox, choose services with the live search, connect, send a test event
through a real Celery worker; and the Deny path on the sandbox's consent page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.browser import authorize_on_sandbox, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHOSEN = ["Checkout API 120", "Checkout API 121"]


def test_connect_choose_two_services_and_send_a_test_event(
    page: Page, live_server, org: Organization, pagerduty, celery_worker, screenshot, settings
) -> None:
    base = live_server.url
    settings.SITE_URL = base  # where PagerDuty's OAuth callback comes back
    integrations_url = f"{base}/o/{org.slug}/settings/integrations/"
    sign_in(page, base, "owner@acme.example")

    # Settings / Integrations starts empty, with a way to connect.
    page.goto(integrations_url)
    expect(page.get_by_text("No PagerDuty services connected yet.")).to_be_visible()
    expect(page.get_by_role("button", name="Connect PagerDuty")).to_be_visible()
    screenshot(page, "integrations-empty")

    # PagerDuty (the sandbox) asks who we are, then for consent.
    authorize_on_sandbox(page, pagerduty.url)
    screenshot(page, "sandbox-consent")
    page.get_by_role("button", name="Approve").click()

    # Back on our site: every service of the US account, then a live search.
    expect(page.get_by_role("heading", name="Choose the services to connect")).to_be_visible()
    select_url = page.url
    assert select_url.startswith(f"{base}/o/{org.slug}/settings/integrations/pagerduty/accounts/")
    rows = page.locator("#service-rows")
    expect(rows).to_contain_text("139 services · page 1 of 6.")
    expect(rows.locator("input[name=service]")).to_have_count(25)
    expect(rows).to_contain_text("Android Sync")
    # The list is the server's; the search is htmx's once the page's scripts ran (on a
    # loaded machine, typing before then searched nothing).
    page.wait_for_load_state("load")
    page.get_by_placeholder("Service or team").fill("Checkout API 12")
    expect(rows).to_contain_text("10 of 139 services match “Checkout API 12” by name or team.")
    expect(rows.locator("input[name=service]")).to_have_count(10)
    expect(rows).not_to_contain_text("Android Sync")
    expect(page).to_have_url(select_url)  # htmx swapped the rows; no page load
    for name in CHOSEN:
        # Click the row's label, as a person would: the name, then the service's team.
        named = re.compile(rf"^{re.escape(name)}(?!\d)")
        rows.locator("label").filter(has=page.get_by_role("checkbox", name=named)).click()
        expect(rows.get_by_role("checkbox", name=named)).to_be_checked()
    expect(rows.locator("input[name=service]:checked")).to_have_count(2)
    screenshot(page, "services-searched-and-chosen")
    page.get_by_role("button", name="Connect 2 services").click()

    # Back on Settings / Integrations with both services, their keys masked.
    expect(page).to_have_url(integrations_url)
    expect(page.get_by_text(f"Connected {', '.join(CHOSEN)}.")).to_be_visible()
    account = PagerDutyAccount.objects.get(organization=org)
    services = list(PagerDutyService.objects.filter(account=account).order_by("name"))
    assert [s.name for s in services] == CHOSEN
    table = page.locator(f"#account-{account.pk} table")
    html = page.content()
    for service in services:
        row = table.locator(f"#service-{service.pk}")
        expect(row).to_contain_text(service.name)
        expect(row.locator("code")).to_have_text("••••••••" + service.integration_key[-4:])
        assert len(service.integration_key) > 8
        assert service.integration_key not in html
        assert service.integration_key[-4:] in html
    expect(page.get_by_text("No PagerDuty services connected yet.")).to_have_count(0)
    screenshot(page, "services-connected")

    # A test event goes through the real worker to the sandbox; the panel polls to the end.
    target = services[0]
    table.locator(f"#service-{target.pk}").get_by_role("button", name="Send test event").click()
    page.get_by_role("button", name="Yes, send the test event").click()
    panel = page.locator(f"#test-result-{target.pk} article.delivery")
    expect(panel).to_contain_text(f"Test trigger to {target.name}")
    expect(panel).to_have_attribute("data-status", "delivered", timeout=20_000)
    expect(panel.locator(".badge")).to_have_text("Delivered")
    expect(panel).to_contain_text("PagerDuty accepted it")
    # The services table refreshes itself: its "Last delivery" is no longer stale.
    expect(page.locator(f"#service-{target.pk}")).to_contain_text("Delivered")
    expect(page.locator(f"#service-{services[1].pk}")).to_contain_text("Nothing sent yet")
    screenshot(page, "test-event-delivered")

    events = pagerduty.events(routing_key=target.integration_key)
    assert len(events) == 1, events
    assert events[0]["event_action"] == "trigger"
    assert events[0]["status_code"] == 202
    assert events[0]["body"]["payload"]["summary"].startswith("[TEST]")
    # Nothing went to the other service.
    assert pagerduty.events(routing_key=services[1].integration_key) == []


def test_deny_on_the_consent_page_connects_nothing(
    page: Page, live_server, org: Organization, pagerduty, screenshot, settings
) -> None:
    base = live_server.url
    settings.SITE_URL = base  # where PagerDuty's OAuth callback comes back
    integrations_url = f"{base}/o/{org.slug}/settings/integrations/"
    sign_in(page, base, "owner@acme.example")
    page.goto(integrations_url)

    authorize_on_sandbox(page, pagerduty.url)
    page.get_by_role("button", name="Deny").click()

    expect(page).to_have_url(integrations_url)
    expect(page.get_by_text("PagerDuty access was not granted")).to_be_visible()
    expect(page.get_by_text("No PagerDuty services connected yet.")).to_be_visible()
    screenshot(page, "access-denied")
    assert not PagerDutyAccount.objects.filter(organization=org).exists()
