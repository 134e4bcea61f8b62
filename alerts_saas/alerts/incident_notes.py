"""What PagerDuty says of the open firings of a page of alerts: one line each for the list
and the dashboard ("Acknowledged by Alice 4 min ago")."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import QuerySet

from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.incidents.words import incident_words
from integrations.pagerduty.models import Delivery, EventAction


def incident_notes(organization_id: int, alert_ids: Collection[int]) -> dict[int, str]:
    """Per firing alert of `alert_ids`, its open firings' incident in words: the one that
    changed last where it paged several services (or, for an alert that groups, several
    values). Two queries, on indexes."""
    if not alert_ids:
        return {}
    triggers = Delivery.objects.filter(
        firing__alert_id__in=list(alert_ids), firing__cleared_at__isnull=True
    )
    return _latest_words(organization_id, triggers, "alert_id")


def firing_notes(organization_id: int, firing_ids: Collection[int]) -> dict[int, str]:
    """The same per open firing: each value of an alert that groups has its own incident."""
    if not firing_ids:
        return {}
    triggers = Delivery.objects.filter(firing_id__in=list(firing_ids))
    return _latest_words(organization_id, triggers, "firing_id")


def _latest_words(organization_id: int, deliveries: QuerySet[Delivery], by: str) -> dict[int, str]:
    triggers = list(
        deliveries.filter(event_action=EventAction.TRIGGER).only(
            "alert_id", "firing_id", "service_id", "dedup_key", "event_action"
        )
    )
    incidents = incidents_of(organization_id, triggers)
    latest: dict[int, Incident] = {}
    for trigger in triggers:
        incident = (
            incidents.get((trigger.service_id, trigger.dedup_key)) if trigger.service_id else None
        )
        key = getattr(trigger, by)
        if incident is None or key is None:
            continue
        seen = latest.get(key)
        if seen is None or incident.status_changed_at > seen.status_changed_at:
            latest[key] = incident
    return {key: incident_words(incident) for key, incident in latest.items()}
