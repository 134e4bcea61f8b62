"""What PagerDuty says of the open firings of a page of alerts: one line each for the list
and the dashboard ("Acknowledged by Alice 4 min ago")."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.utils import timezone

from alerts_saas.alerts.state import duration_label
from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident, IncidentStatus
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


def incident_words(incident: Incident) -> str:
    """Where PagerDuty's incident stands, e.g. "Acknowledged by Alice Oncall 4 min ago",
    "Resolved in PagerDuty by Bob 1 min ago", "Triggered: assigned to Alice Oncall"."""
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        return f"Acknowledged by {_who(incident.acknowledged_by)} {_ago(incident.acknowledged_at)}"
    if incident.status == IncidentStatus.RESOLVED:
        by = _who(incident.resolved_by)
        return f"Resolved in PagerDuty by {by} {_ago(incident.resolved_at)}"
    assigned = ", ".join(incident.assignees)
    return f"Triggered: assigned to {assigned}" if assigned else "Triggered: nobody assigned"


def _who(name: str) -> str:
    return name or "someone"


def _ago(when: datetime | None) -> str:
    if when is None:
        return ""
    seconds = (timezone.now() - when).total_seconds()
    return "just now" if seconds < 60 else f"{duration_label(seconds)} ago"
