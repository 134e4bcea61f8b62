"""An incident of a firing still open is never pruned, however long ago it last changed:
its Acknowledge and Resolve stay, and PagerDuty's webhooks about it still land, so an alert
resolved by hand clears when someone resolves its incident there."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.retention import prune_firings
from integrations.pagerduty.incidents import activity
from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.incidents.retention import prune_incidents
from integrations.pagerduty.models import Delivery, EventAction
from integrations.pagerduty.retention import prune_deliveries
from tests.alerts.test_alert_page import _alert, _events
from tests.incidents.conftest import incident_event, make_tenant

pytestmark = pytest.mark.django_db


def _apply_all() -> None:
    for pk in IncidentActivity.objects.filter(applied_at=None).values_list("pk", flat=True):
        activity.apply(pk)


def test_the_incident_of_an_old_open_firing_stays_and_its_resolve_clears_it(
    org, post_webhook, now, settings
) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    service, subscription, _ = make_tenant(org)
    alert = _alert(org, service, auto_resolve=False)
    [firing] = _events(org, 3)
    trigger = firing.deliveries.get(event_action=EventAction.TRIGGER)
    long_ago = now - timedelta(days=40)

    def event(kind: str, status: str, at: datetime) -> dict[str, Any]:
        return incident_event(
            kind, incident_id="PINC9", key=trigger.dedup_key, service=service, status=status, at=at
        )

    post_webhook(subscription, event("incident.acknowledged", "acknowledged", now))
    _apply_all()
    incident = Incident.objects.get()
    # As if all that was 40 days ago, and nothing has happened since.
    Firing.objects.filter(pk=firing.pk).update(opened_at=long_ago)
    Delivery.objects.filter(pk=trigger.pk).update(
        status=Delivery.Status.DELIVERED, created_at=long_ago, delivered_at=long_ago
    )
    Incident.objects.filter(pk=incident.pk).update(updated_at=long_ago)

    prune_deliveries()
    prune_firings()
    prune_incidents()

    assert Incident.objects.filter(pk=incident.pk).exists()
    assert incident.activity.count() == 1  # its timeline with it
    later = timezone.now() + timedelta(seconds=1)
    post_webhook(subscription, event("incident.resolved", "resolved", later))
    _apply_all()
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.activity.count() == 2
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.INCIDENT_RESOLVED
    assert alert.deliveries.filter(event_action=EventAction.RESOLVE).count() == 0
