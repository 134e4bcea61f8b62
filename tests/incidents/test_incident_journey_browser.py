"""The whole loop in Chromium: an alert fires and pages PagerDuty (the sandbox); someone
acknowledges the incident on PagerDuty's incident page; Tripwire's alert page, left open,
shows who within 5 s without a reload; they resolve it from Tripwire, and PagerDuty's page
shows it resolved. Screenshots in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.pagerduty.incidents.models import Incident, WebhookSubscription
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert, _events
from tests.browser import overflow, phone, sign_in
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_settings(live_server) -> dict[str, str]:
    return {"SITE_URL": live_server.url}


def test_acknowledged_in_pagerduty_shows_live_and_resolves_from_tripwire(
    page: Page, live_server, org, celery_worker, connected_service, pagerduty, settings, screenshot
) -> None:
    settings.SITE_URL = live_server.url
    wait_for(
        lambda: WebhookSubscription.objects.exclude(pd_subscription_id="").exists(),
        message="the webhook subscription",
    )
    alert = _alert(org, connected_service)
    [firing] = _events(org, 3)
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    incident = wait_for(
        lambda: Incident.objects.filter(dedup_key=trigger.dedup_key).first(),
        message="the incident",
    )
    assert isinstance(incident, Incident)
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/")
    targets = page.locator("#firing-targets")
    # The incident's badge says its state; the words after it, the rest (not "Triggered" again).
    expect(targets.locator(".incident .badge")).to_have_text("Triggered")
    expect(targets.locator(".incident-words")).to_have_text("assigned to Olivia Oncall.")
    expect(targets).to_contain_text("On call now: Olivia Oncall", timeout=10_000)
    screenshot(page, "firing-triggered")

    # Someone acknowledges it on PagerDuty's incident page, in another tab.
    pd = page.context.new_page()
    pd.goto(f"{pagerduty.url}/web/acme-us/incidents/{incident.pd_incident_id}")
    pd.get_by_role("button", name="Acknowledge").click()
    expect(pd.locator("body")).to_contain_text(re.compile("acknowledged", re.I))
    screenshot(pd, "pagerduty-acknowledged")

    # Tripwire's page, not reloaded, says who within 5 s.
    page.bring_to_front()
    expect(targets.locator(".incident .badge")).to_have_text("Acknowledged", timeout=5_000)
    expect(targets.locator(".incident-words")).to_contain_text(re.compile("^by Olivia Oncall "))
    expect(targets.get_by_role("button", name="Acknowledge")).to_have_count(0)
    screenshot(page, "tripwire-acknowledged")

    # On a phone, in the dark, the same words and buttons fit the screen.
    dark_phone = phone(page.context.browser, "dark").new_page()  # type: ignore[arg-type]
    sign_in(dark_phone, base, "owner@acme.example")
    dark_phone.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/")
    expect(dark_phone.locator("#firing-targets .incident")).to_contain_text(
        "Acknowledged by Olivia"
    )
    assert overflow(dark_phone) == 0
    screenshot(dark_phone, "phone-dark-acknowledged")
    dark_phone.context.close()

    # Resolved from Tripwire, once confirmed: PagerDuty has it resolved, and Tripwire says so.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    targets.get_by_role("button", name="Resolve in PagerDuty").click()
    expect(page.locator(".flash-success")).to_contain_text("resolved in PagerDuty")
    assert asked and asked[0].startswith("Resolves incident #") and asked[0].endswith("?")
    # Pressed here by the owner; PagerDuty records the user who connected the account.
    expect(targets.locator(".incident .badge")).to_have_text("Resolved", timeout=5_000)
    expect(targets.locator(".incident-words")).to_contain_text(
        re.compile(r"^by owner@acme\.example from Tripwire \(through PagerDuty as ")
    )
    expect(targets).to_contain_text("Tripwire will not page about this firing again")
    screenshot(page, "tripwire-resolved")
    pd.reload()
    expect(pd.locator("body")).to_contain_text(re.compile("resolved", re.I))
    expect(pd.locator("body")).to_contain_text("Resolved in Tripwire by owner@acme.example")
    screenshot(pd, "pagerduty-resolved")
    [remote] = pagerduty.incidents(incident_key=trigger.dedup_key)
    assert remote["status"] == "resolved"
