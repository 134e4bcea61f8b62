"""At 3 a.m. on a phone: an alert per host pages PagerDuty (the sandbox) for web-5 and web-6;
each host's incident has its own buttons on the alert page. Acknowledging web-6 from its own
button acknowledges web-6's incident only, and the page names who pressed it (PagerDuty
names the user who connected the account). Screenshots in test-artifacts/."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Firing, GroupBy, Level
from integrations.pagerduty.incidents.models import Incident, WebhookSubscription
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert
from tests.browser import overflow, phone, sign_in
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_settings(live_server) -> dict[str, str]:
    return {"SITE_URL": live_server.url}


def _incident_of(firing: Firing) -> Incident:
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    found = wait_for(
        lambda: Incident.objects.filter(dedup_key=trigger.dedup_key).first(),
        message=f"the incident of {firing.group}",
    )
    assert isinstance(found, Incident)
    return found


def test_each_host_is_acknowledged_from_its_own_buttons(
    page: Page, live_server, org, celery_worker, connected_service, pagerduty, settings, screenshot
) -> None:
    settings.SITE_URL = live_server.url
    wait_for(
        lambda: WebhookSubscription.objects.exclude(pd_subscription_id="").exists(),
        message="the webhook subscription",
    )
    alert = _alert(org, connected_service, group_by=GroupBy.SOURCE)
    firings = []
    for host in ("web-5", "web-6"):
        events = [
            Event(timestamp=time.time(), app="checkout", source=host, level=Level.ERROR)
            for _ in range(3)
        ]
        firings += evaluation.record(org.pk, events)
    web5, web6 = (_incident_of(f) for f in firings)

    dark_phone = phone(page.context.browser, "dark").new_page()  # type: ignore[arg-type]
    sign_in(dark_phone, live_server.url, "owner@acme.example")
    dark_phone.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
    items = dark_phone.locator("#firing-values li.firing-value")
    expect(items).to_have_count(2)
    host5, host6 = (
        items.and_(dark_phone.locator(f'[data-group="{h}"]')) for h in ("web-5", "web-6")
    )
    for item in (host5, host6):
        expect(item.locator(".incident .badge")).to_have_text("Triggered")
        expect(item.locator(".incident-words")).to_have_text("assigned to Olivia Oncall.")
        expect(item.get_by_role("button", name="Acknowledge")).to_be_visible()
    expect(host6.get_by_role("button", name="Resolve web-6")).to_be_visible()
    assert overflow(dark_phone) == 0
    screenshot(dark_phone, "phone-dark-two-hosts")

    host6.get_by_role("button", name="Acknowledge").click()
    expect(dark_phone.locator(".flash-success")).to_contain_text("acknowledged in PagerDuty")
    expect(host6.locator(".incident .badge")).to_have_text("Acknowledged")
    expect(host6.locator(".incident-words")).to_contain_text(
        "by owner@acme.example from Tripwire (through PagerDuty as Olivia Oncall)"
    )
    expect(host5.locator(".incident-words")).to_have_text("assigned to Olivia Oncall.")
    expect(host5.get_by_role("button", name="Acknowledge")).to_be_visible()
    statuses = {i["id"]: i["status"] for i in pagerduty.incidents()}
    assert (statuses[web5.pd_incident_id], statuses[web6.pd_incident_id]) == (
        "triggered",
        "acknowledged",
    )
    assert overflow(dark_phone) == 0
    screenshot(dark_phone, "phone-dark-web-6-acknowledged")
