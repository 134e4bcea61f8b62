"""An incident in the words a person on call reads."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.timesince import timesince

from integrations.pagerduty.incidents.models import Incident, IncidentStatus


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
    if (timezone.now() - when).total_seconds() < 60:
        return "just now"
    return f"{timesince(when, depth=1)} ago"
