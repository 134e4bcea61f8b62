"""No silent orphans, in headless Chromium with a real Celery worker and the sandbox: an
alert fires on Edge Gateway; disconnecting its PagerDuty account names the alert and offers
to move it; moved to a pasted-key service, the alert page shows the resolve sent to Edge
Gateway (and why) and the trigger to the new service, both delivered, and PagerDuty (the
sandbox) has the old incident resolved and the new one open."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Level
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
    Reason,
)
from tests.browser import sign_in
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _edge_gateway(connect, admin_client, org: Organization, pagerduty) -> PagerDutyService:
    account = connect(admin_client)
    service_id = next(
        s["id"] for s in pagerduty.account("us")["services"] if s["name"] == "Edge Gateway"
    )
    admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/",
        {"service": [service_id]},
    )
    return PagerDutyService.objects.get(account=account, pd_service_id=service_id)


def _fire(org: Organization, service: PagerDutyService) -> Alert:
    """An alert on `service`, fired by events (its trigger goes through the worker)."""
    alert = Alert.objects.create(
        organization=org,
        name="Edge heartbeat missing",
        threshold=2,
        window_minutes=5,
        match_app="edge",
        match_level=Level.ERROR,
        counting_since=timezone.now() - timedelta(minutes=30),
    )
    alert.targets.add(service)
    now = time.time()
    events = [
        Event(timestamp=now - 30 + i, message=f"no heartbeat #{i}", app="edge", level=Level.ERROR)
        for i in range(3)
    ]
    [firing] = evaluation.record(org.pk, events)
    assert firing.alert_id == alert.pk
    return alert


def _delivered(**lookup: object) -> Delivery:
    found = wait_for(
        lambda: Delivery.objects.filter(status=Delivery.Status.DELIVERED, **lookup).first(),
        message=f"a delivered {lookup}",
    )
    assert isinstance(found, Delivery)
    return found


def test_disconnecting_offers_the_move_and_the_alert_page_shows_both_sides(
    page: Page,
    live_server,
    org: Organization,
    pagerduty,
    celery_worker,
    connect,
    admin_client,
    make_service,
    screenshot,
) -> None:
    edge = _edge_gateway(connect, admin_client, org, pagerduty)
    checkout = make_service("Checkout API 001")  # pasted key: stays when the account goes
    alert = _fire(org, edge)
    old_trigger = _delivered(service=edge, event_action=EventAction.TRIGGER)
    assert pagerduty.alerts(dedup_key=old_trigger.dedup_key)[0]["status"] == "triggered"
    account = PagerDutyAccount.objects.get(organization=org)

    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/settings/integrations/")
    page.locator(f'a[href$="/accounts/{account.pk}/disconnect/"]').click()

    # The confirmation names the firing alert that would page nobody, and offers the move.
    expect(page.get_by_role("heading", name=f"Disconnect {account.name}?")).to_be_visible()
    orphaned = page.locator("#orphaned-alerts")
    expect(orphaned).to_contain_text("1 alert would page nobody")
    expect(orphaned).to_contain_text("Edge heartbeat missing")
    expect(orphaned).to_contain_text("Firing now")
    todo = page.locator("#left-in-pagerduty")
    expect(todo).to_contain_text("In PagerDuty, remove the integration “Tripwire (Acme Ops)”")
    tab = todo.get_by_role("link", name="Edge Gateway's Integrations tab")
    expect(tab).to_have_attribute("href", f"{edge.html_url}/integrations")
    screenshot(page, "disconnect-confirmation")

    # Confirming without a choice is refused, in words.
    page.get_by_role("button", name="Yes, disconnect").click()
    expect(page.locator("#orphaned-alerts")).to_contain_text(
        "Choose what happens to the alerts that would page nobody"
    )
    assert PagerDutyAccount.objects.filter(pk=account.pk).exists()

    page.get_by_label("Move it to another service").check()
    page.get_by_label("Service to page instead").select_option(label="Checkout API 001")
    screenshot(page, "move-chosen")
    page.get_by_role("button", name="Yes, disconnect").click()

    # One message says it all.
    flash = page.locator(".flash")
    expect(flash).to_have_count(1)
    expect(flash).to_contain_text(f"PagerDuty account {account.name} was disconnected")
    # Resolved while the page waited, or queued when PagerDuty was slow to answer (a loaded
    # machine): either way the message says which.
    expect(flash).to_contain_text(
        re.compile(
            r"1 open incident was resolved in PagerDuty\.|1 resolve is queued: it goes out "
            r"through the usual delivery"
        )
    )
    expect(flash).to_contain_text(
        "1 alert moved to Checkout API 001: “Edge heartbeat missing”; it is firing, so "
        "Checkout API 001 is paged now."
    )
    screenshot(page, "disconnected")
    assert list(alert.targets.all()) == [checkout]

    # The worker delivers the new trigger; the resolve went during the request.
    resolve = _delivered(dedup_key=old_trigger.dedup_key, event_action=EventAction.RESOLVE)
    assert (resolve.reason, resolve.alert_id, resolve.firing_id) == (
        Reason.DISCONNECTED,
        alert.pk,
        old_trigger.firing_id,
    )
    new_trigger = _delivered(service=checkout, event_action=EventAction.TRIGGER)
    assert new_trigger.firing_id == old_trigger.firing_id

    # The alert page: the firing's resolve to Edge Gateway (and why) and trigger to Checkout.
    page.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/")
    firings = page.locator("#firings")
    expect(firings).to_contain_text("Edge Gateway")
    expect(firings).to_contain_text("Checkout API 001")
    expect(firings).to_contain_text(re.compile(r"Resolve\W+delivered", re.I))
    expect(firings).to_contain_text(re.compile(r"Trigger\W+delivered", re.I))
    expect(firings).to_contain_text("PagerDuty account disconnected")
    expect(firings).not_to_contain_text(re.compile(r"queued|retrying|failed", re.I))
    screenshot(page, "alert-page-after-move")

    # PagerDuty: the old incident resolved, the new one open.
    assert pagerduty.alerts(dedup_key=old_trigger.dedup_key)[0]["status"] == "resolved"
    assert pagerduty.alerts(dedup_key=new_trigger.dedup_key)[0]["status"] == "triggered"
    # Nothing asked PagerDuty to delete an integration: its published API has no such call.
    assert not [
        r
        for r in pagerduty.requests_log()
        if r["method"] == "DELETE" and "/integrations" in r["path"]
    ]
