"""A removal's confirmation states what is true now: "Firing now" only on an alert with an
open firing (not on every alert that never fired), and only the incidents still open in
PagerDuty counted as to be resolved (one PagerDuty reported resolved is not)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Firing
from integrations.pagerduty import removal
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction
from tests.pagerduty.test_removal import alert_on, delete_url, fire, section

pytestmark = pytest.mark.django_db


def test_only_alerts_with_an_open_firing_say_firing_now(admin_client, org, make_service):
    service = make_service("Checkout API 001")
    other = make_service("Checkout API 002")
    never = [alert_on(org, f"Quiet {n}", service) for n in range(3)]
    cleared = alert_on(org, "Fired yesterday", service)
    fire(cleared)
    Firing.objects.filter(alert=cleared).update(cleared_at=timezone.now())
    fire(alert_on(org, "Elsewhere firing", other))  # the org's one firing, not on service
    page = admin_client.get(delete_url(org, service)).content.decode()
    orphaned = section(page, "orphaned-alerts")
    assert "4 alerts would page nobody" in orphaned
    assert "Firing now" not in orphaned
    assert not any(a.firing for a in removal.plan_service_removal(service).alerts)

    fire(never[1])
    page = admin_client.get(delete_url(org, service)).content.decode()
    orphaned = section(page, "orphaned-alerts")
    assert orphaned.count("Firing now") == 1
    assert 'Quiet 1</a> <span class="badge badge-bad">Firing now</span>' in orphaned
    assert [a.name for a in removal.plan_service_removal(service).alerts if a.firing] == ["Quiet 1"]


def test_an_incident_pagerduty_reported_resolved_is_not_counted_open(
    admin_client, org, make_service
):
    service = make_service("Checkout API 001")
    fire(alert_on(org, "Checkout errors", service))
    trigger = Delivery.objects.get(service=service, event_action=EventAction.TRIGGER)
    page = admin_client.get(delete_url(org, service)).content.decode()
    assert "Tripwire will send a resolve for the incident it opened on this service" in page

    incident = Incident.objects.create(
        organization=org,
        service=service,
        dedup_key=trigger.dedup_key,
        pd_incident_id="PINC7",
        status="resolved",
        status_changed_at=timezone.now(),
        resolved_by="Alice Oncall",
    )
    page = admin_client.get(delete_url(org, service)).content.decode()
    assert "No incident raised by Tripwire on this service is open." in page
    assert "will send a resolve" not in page
    assert removal.plan_service_removal(service).open_incidents == 0

    # Triggered again after that resolve: PagerDuty opens a new incident, open again.
    incident.status_changed_at = trigger.created_at - timedelta(minutes=1)
    incident.save()
    assert removal.plan_service_removal(service).open_incidents == 1
    # An incident PagerDuty says is acknowledged is still open.
    incident.status, incident.status_changed_at = "acknowledged", timezone.now()
    incident.save()
    assert removal.plan_service_removal(service).open_incidents == 1
