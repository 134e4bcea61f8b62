"""PagerDuty's incidents in words, for the templates (the incidents themselves are read by
the views, for all of a page's rows at once: `lookup.incidents_of`, `pagerduty.panels`)."""

from __future__ import annotations

from django import template

from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.incidents.words import activity_agent, incident_words

register = template.Library()


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
