"""What the alert page says of the incident in PagerDuty follows what PagerDuty reported
(r15 #10): after Sam resolved incident #10 in PagerDuty, "Mute 1 h" still said "The incident
already open in PagerDuty stays open: acknowledge or resolve it there."; and when the
trigger failed and no incident exists, Resolve said "Resolving the incident in PagerDuty
stops the paging instead". Both are said only while an incident is open there."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.alerts.mute_hour_setup import checkout_alert, firing_actions, text
from tests.dashboard.conftest import delivery

pytestmark = pytest.mark.django_db

STAYS_OPEN = "The incident already open in PagerDuty stays open"
RESOLVE_THERE = "Resolving the incident in PagerDuty stops the paging instead"


@pytest.fixture
def alert(org: Organization) -> Alert:
    return checkout_alert(org)


def _trigger(org: Organization, alert: Alert, **fields: object) -> Delivery:
    service = alert.targets.get()
    assert isinstance(service, PagerDutyService)
    return delivery(org, service, made=alert, firing=alert.firings.get(), **fields)


def _incident(trigger: Delivery, status: str) -> Incident:
    return Incident.objects.create(
        organization_id=trigger.organization_id,
        service_id=trigger.service_id,
        dedup_key=trigger.dedup_key,
        pd_incident_id="PINC10",
        number=10,
        status=status,
        status_changed_at=timezone.now(),
    )


def _words(client: Client, alert: Alert) -> str:
    return text(firing_actions(client.get(alert.get_absolute_url()).content).encode())


def test_an_incident_open_in_pagerduty_is_said_to_stay_open(
    org: Organization, alert: Alert, admin_client: Client
) -> None:
    _incident(_trigger(org, alert), "acknowledged")
    words = _words(admin_client, alert)
    assert STAYS_OPEN in words and RESOLVE_THERE in words


def test_once_resolved_in_pagerduty_no_incident_is_said_to_stay_open(
    org: Organization, alert: Alert, admin_client: Client
) -> None:
    _incident(_trigger(org, alert), "resolved")  # by Sam, in PagerDuty
    words = _words(admin_client, alert)
    assert "Mute 1 h: no new pages for this alert for an hour." in words
    assert STAYS_OPEN not in words and RESOLVE_THERE not in words

    response = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/mute/hour/", follow=True)
    flash = text(response.content)
    assert "Muted until" in flash and STAYS_OPEN not in flash


def test_a_failed_trigger_opened_no_incident_to_resolve_there(
    org: Organization, alert: Alert, admin_client: Client
) -> None:
    _trigger(org, alert, status=Delivery.Status.FAILED, last_error="Service deleted")
    words = _words(admin_client, alert)
    assert "Resolve here: it fires again at the next check" in words
    assert RESOLVE_THERE not in words and STAYS_OPEN not in words
