"""An incident in the words a person on call reads: who did what, as it really happened.

PagerDuty names as the agent of a change made through its REST API the user whose login
connected the account, and the service when an event resolves an incident. So a change
made from Tripwire names the Tripwire user who made it (and whom PagerDuty recorded), or
the API token that resolved its firing, and a resolve our own event caused says why
Tripwire sent it. The words never show a reason's code.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.timesince import timesince

from integrations.pagerduty.incidents.models import Incident, IncidentActivity, IncidentStatus
from integrations.pagerduty.models import Reason

USER = "user_reference"  # PagerDuty's agent type for a person
# One change, as our REST call's answer and its webhook both tell it, may differ this much.
SAME_CHANGE = timedelta(seconds=5)
# PagerDuty's REST answers give times to the second ("2026-11-30T11:12:59Z"); its webhooks,
# to the millisecond: a change the REST answer dates 11:12:59 happened before 11:13:00.
REST_PRECISION = timedelta(seconds=1)
# Why Tripwire's own event resolved an incident (by its Delivery's reason). A resolve by
# hand names who resolved it (`_resolver`); a fallback is a trigger, never a resolve.
BECAUSE: dict[str, str] = {
    Reason.CLEARED: "the condition cleared",
    Reason.DISABLED: "the alert was disabled",
    Reason.EDITED: "the condition was edited",
    Reason.DELETED: "the alert was deleted",
    Reason.TARGET_REMOVED: "the service was removed from the alert",
    Reason.SERVICE_DELETED: "the service was removed from Tripwire",
    Reason.DISCONNECTED: "the PagerDuty account was disconnected",
    Reason.TEST_EXPIRED: "the test incident ended",
    Reason.FORGOTTEN: "the value was no longer seen",
}


def incident_words(incident: Incident, *, beside_badge: bool = False) -> str:
    """Where PagerDuty's incident stands, e.g. "Acknowledged by Alice Oncall 4 min ago",
    "Resolved by alice@example.com from Tripwire (through PagerDuty as Olivia Oncall) just
    now", "Resolved by API token “deploy-bot” from Tripwire 1 min ago", "Resolved by
    Tripwire: the condition cleared 2 min ago", "Resolved in PagerDuty
    by Bob 1 min ago", "Triggered: assigned to Alice Oncall". `beside_badge`: without the
    state, which a badge before the words already says ("by Alice Oncall 4 min ago",
    "assigned to Alice Oncall", "nobody assigned")."""
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        state = "Acknowledged"
        rest = f"{_acknowledger(incident)} {_ago(incident.acknowledged_at)}"
    elif incident.status == IncidentStatus.RESOLVED:
        state, rest = "Resolved", f"{_resolver(incident)} {_ago(incident.resolved_at)}"
    else:
        assigned = ", ".join(incident.assignees)
        state, rest = "Triggered:", f"assigned to {assigned}" if assigned else "nobody assigned"
    return rest.rstrip() if beside_badge else f"{state} {rest}".rstrip()


def _acknowledger(incident: Incident) -> str:
    if incident.acknowledged_in_tripwire_by:
        return _from_tripwire(incident.acknowledged_in_tripwire_by, incident.acknowledged_by)
    return f"by {_who(incident.acknowledged_by)}"


def _resolver(incident: Incident) -> str:
    """By whom, and how: from Tripwire by a person, by Tripwire itself, or in PagerDuty."""
    if incident.resolved_in_tripwire_by:
        through = incident.resolved_by if incident.resolved_by_type == USER else ""
        return _from_tripwire(incident.resolved_in_tripwire_by, through)
    if incident.resolved_for == Reason.BY_HAND:  # by a member or token since removed
        return "by hand from Tripwire"
    if incident.resolved_for in BECAUSE:
        return f"by Tripwire: {BECAUSE[incident.resolved_for]}"
    if incident.resolved_for:  # a code these words don't know (yet): never shown
        return "by Tripwire"
    return f"in PagerDuty by {_who(incident.resolved_by)}"


def _from_tripwire(person: str, as_whom: str) -> str:
    through = f" (through PagerDuty as {as_whom})" if as_whom and as_whom != person else ""
    return f"by {person} from Tripwire{through}"


def activity_agent(activity: IncidentActivity, incident: Incident) -> str:
    """Who did one change of the incident's timeline, after its kind ("by Olivia Oncall"):
    the Tripwire person or reason, when it is the incident's latest acknowledgement or
    resolve and Tripwire knows who really did it; else whom PagerDuty named."""
    kind, when = IncidentActivity.Kind, activity.occurred_at
    known = incident.resolved_in_tripwire_by or incident.resolved_for
    if activity.kind == kind.RESOLVED and known and same_change(when, incident.resolved_at):
        return _resolver(incident)
    ours = incident.acknowledged_in_tripwire_by
    if activity.kind == kind.ACKNOWLEDGED and ours and same_change(when, incident.acknowledged_at):
        return _acknowledger(incident)
    return f"by {activity.agent}" if activity.agent else ""


def same_change(one: datetime | None, other: datetime | None) -> bool:
    """Whether two moments are one change told twice (our REST answer, then its webhook)."""
    return one is not None and other is not None and abs(one - other) <= SAME_CHANGE


def _who(name: str) -> str:
    return name or "someone"


def _ago(when: datetime | None) -> str:
    if when is None:
        return ""
    if (timezone.now() - when).total_seconds() < 60:
        return "just now"
    return f"{timesince(when, depth=1)} ago"
