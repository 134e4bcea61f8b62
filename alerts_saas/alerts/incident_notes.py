"""What PagerDuty says of the open firings of a page of alerts: one line each for the list
and the dashboard ("Acknowledged by Alice 4 min ago")."""

from __future__ import annotations

from collections.abc import Collection

from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.incidents.words import incident_words
from integrations.pagerduty.models import Delivery, EventAction


def incident_notes(organization_id: int, alert_ids: Collection[int]) -> dict[int, str]:
    """Per firing alert of `alert_ids`, its open firing's incident in words: the one that
    changed last where it paged several services. Two queries, on indexes."""
    if not alert_ids:
        return {}
    triggers = list(
        Delivery.objects.filter(
            firing__alert_id__in=list(alert_ids),
            firing__cleared_at__isnull=True,
            event_action=EventAction.TRIGGER,
        ).only("alert_id", "service_id", "dedup_key", "event_action")
    )
    incidents = incidents_of(organization_id, triggers)
    latest: dict[int, Incident] = {}
    for trigger in triggers:
        incident = (
            incidents.get((trigger.service_id, trigger.dedup_key)) if trigger.service_id else None
        )
        if incident is None or trigger.alert_id is None:
            continue
        seen = latest.get(trigger.alert_id)
        if seen is None or incident.status_changed_at > seen.status_changed_at:
            latest[trigger.alert_id] = incident
    return {alert_id: incident_words(incident) for alert_id, incident in latest.items()}
