"""`{% pagerduty_incident delivery as pd %}`: PagerDuty's incident for a trigger, for the
PagerDuty integration's own pages, which do not import this app."""

from __future__ import annotations

from django import template

from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.incidents.words import activity_agent, incident_words
from integrations.pagerduty.models import Delivery

register = template.Library()


@register.simple_tag
def pagerduty_incident(delivery: Delivery) -> Incident | None:
    found = incidents_of(delivery.organization_id, [delivery])
    return found.get((delivery.service_id, delivery.dedup_key)) if delivery.service_id else None


@register.filter
def incident_beside_badge(incident: Incident) -> str:
    """The words after a badge that already says the state: "assigned to Alice Oncall"."""
    return incident_words(incident, beside_badge=True)


@register.simple_tag
def agent_of(activity: IncidentActivity, incident: Incident) -> str:
    """Who did one change of an incident's timeline: " by Olivia Oncall", or, for the change
    Tripwire made, "by alice@example.com from Tripwire (through PagerDuty as ...)"."""
    who = activity_agent(activity, incident)
    return f" {who}" if who else ""
