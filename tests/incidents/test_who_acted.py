"""Who acknowledged or resolved an incident, as it really happened. PagerDuty names the user
whose login connected the account for what Tripwire does through its REST API, and the
service for what our events do; the words name the Tripwire person, or Tripwire and why, and
PagerDuty's own people as PagerDuty names them."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.template.loader import render_to_string

from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.incidents import actions, activity
from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.incidents.words import BECAUSE, activity_agent, incident_words
from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.incidents.conftest import incident_event, make_tenant

pytestmark = pytest.mark.django_db

SERVICE_AGENT = {"id": "PSVC1", "type": "service_reference", "summary": "Checkout API 001"}


@pytest.fixture
def tenant(make_org):
    return make_tenant(make_org("Acme Ops"))


def _tell(tenant, post_webhook, kind: str, status: str, at: datetime, **agent: Any) -> Incident:
    """PagerDuty's webhook for our incident, applied; `agent` replaces the person it names."""
    service, subscription, trigger = tenant
    event = incident_event(
        kind, incident_id="PINC1", key=trigger.dedup_key, service=service, status=status, at=at
    )
    if agent:
        event["event"]["agent"] = agent
    assert post_webhook(subscription, event).status_code == 202
    for pk in IncidentActivity.objects.filter(applied_at=None).values_list("pk", flat=True):
        activity.apply(pk)
    return Incident.objects.get(pd_incident_id="PINC1")


def _our_resolve(trigger: Delivery, reason: str, by=None, token=None) -> Delivery:
    return Delivery.objects.create(
        organization_id=trigger.organization_id,
        service=trigger.service,
        service_name=trigger.service_name,
        region="us",
        routing_key=trigger.routing_key,
        event_action=EventAction.RESOLVE,
        dedup_key=trigger.dedup_key,
        body={"event_action": "resolve"},
        reason=reason,
        created_by=by,
        created_by_token=token,
        status=Delivery.Status.DELIVERED,
    )


def _answer(status: str, at: datetime) -> dict[str, Any]:
    """PagerDuty's answer to our REST call: the account's connecting user did it."""
    who = {"id": "PUSER9", "type": "user_reference", "summary": "Olivia Oncall"}
    return {"status": status, "last_status_change_at": at.isoformat(), "last_status_change_by": who}


def test_our_event_after_the_condition_cleared_is_tripwire_not_the_service(
    tenant, post_webhook, now
) -> None:
    _, _, trigger = tenant
    _tell(tenant, post_webhook, "incident.triggered", "triggered", now - timedelta(minutes=3))
    _our_resolve(trigger, Reason.CLEARED)
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now, **SERVICE_AGENT)
    assert incident.resolved_by == "Checkout API 001"  # PagerDuty's word, kept
    words = incident_words(incident)
    assert words == "Resolved by Tripwire: the condition cleared just now"
    assert "Checkout API 001" not in words


def test_pagerdutys_own_auto_resolve_is_not_credited_to_a_later_resolve_of_ours(
    tenant, post_webhook, now
) -> None:
    """PagerDuty resolved it by itself (say, its service's auto-resolve timeout) a minute
    before our resolve went out, and its webhook comes after: not ours."""
    late = _our_resolve(tenant[2], Reason.CLEARED)
    Delivery.objects.filter(pk=late.pk).update(created_at=now + timedelta(minutes=1))
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now, **SERVICE_AGENT)
    assert incident_words(incident) == "Resolved in PagerDuty by Checkout API 001 just now"


def test_resolve_by_hand_here_names_the_person(tenant, post_webhook, now) -> None:
    org_owner = tenant[2].organization.memberships.get().user
    _our_resolve(tenant[2], Reason.BY_HAND, by=org_owner)
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now, **SERVICE_AGENT)
    assert incident_words(incident) == f"Resolved by {org_owner.email} from Tripwire just now"


def test_resolve_by_hand_through_the_api_names_the_token(tenant, post_webhook, now) -> None:
    """An API token is no person: the resolve names the token, and so do the words and the
    timeline (they read "Resolved by Tripwire: by_hand")."""
    token, _ = ApiToken.issue(tenant[2].organization, "deploy-bot", scope=Scope.WRITE)
    _our_resolve(tenant[2], Reason.BY_HAND, token=token)
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now, **SERVICE_AGENT)
    assert incident_words(incident) == "Resolved by API token “deploy-bot” from Tripwire just now"
    resolved = incident.activity.get(kind=IncidentActivity.Kind.RESOLVED)  # type: ignore[attr-defined]
    assert activity_agent(resolved, incident) == "by API token “deploy-bot” from Tripwire"


def test_resolve_by_hand_by_no_one_known_says_so_in_words(tenant, post_webhook, now) -> None:
    """Neither person nor token known (removed since): by hand, never the code by_hand."""
    _our_resolve(tenant[2], Reason.BY_HAND)
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now, **SERVICE_AGENT)
    assert incident_words(incident) == "Resolved by hand from Tripwire just now"
    assert incident_words(incident, beside_badge=True) == "by hand from Tripwire just now"


@pytest.mark.parametrize("reason", Reason.values)
def test_no_reason_shows_as_its_code(tenant, post_webhook, now, reason) -> None:
    """Whatever reason our resolve carried, the words say it in words: each has its
    sentence, a resolve by hand names who (here no one known), and a fallback (a trigger's
    reason, never a resolve's) says only that Tripwire resolved it."""
    _our_resolve(tenant[2], reason)
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now, **SERVICE_AGENT)
    assert incident.resolved_for == reason
    words = incident_words(incident)
    resolved = incident.activity.get(kind=IncidentActivity.Kind.RESOLVED)  # type: ignore[attr-defined]
    agent = activity_agent(resolved, incident)
    if reason == Reason.BY_HAND:
        assert (words, agent) == (
            "Resolved by hand from Tripwire just now",
            "by hand from Tripwire",
        )
    elif reason == Reason.FALLBACK:
        assert (words, agent) == ("Resolved by Tripwire just now", "by Tripwire")
    else:
        assert words == f"Resolved by Tripwire: {BECAUSE[reason]} just now"
        assert agent == f"by Tripwire: {BECAUSE[reason]}"
    assert f"by Tripwire: {reason}" not in words and "_" not in words


def test_a_person_in_pagerduty_is_named_as_pagerduty_names_them(tenant, post_webhook, now):
    _our_resolve(tenant[2], Reason.CLEARED)  # sent, but a person resolved it first
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now)
    assert incident_words(incident) == "Resolved in PagerDuty by Alice Oncall just now"


@pytest.mark.parametrize("webhook_first", [False, True], ids=["answer-first", "webhook-first"])
def test_buttons_here_name_who_pressed_them_and_whom_pagerduty_recorded(
    tenant, post_webhook, now, webhook_first
) -> None:
    """Acknowledge then Resolve in PagerDuty, pressed by alice in Tripwire: PagerDuty records
    Olivia Oncall (its webhook may come before or after its answer to our call)."""
    incident = _tell(tenant, post_webhook, "incident.triggered", "triggered", now)
    olivia = {"id": "PUSER9", "type": "user_reference", "summary": "Olivia Oncall"}
    steps = (("incident.acknowledged", "acknowledged", 1), ("incident.resolved", "resolved", 2))
    for kind, status, minutes in steps:
        at = now + timedelta(minutes=minutes)
        if webhook_first:
            _tell(tenant, post_webhook, kind, status, at, **olivia)
        actions._record(incident, _answer(status, at), "alice@acme.example", at)
        if not webhook_first:
            _tell(tenant, post_webhook, kind, status, at + timedelta(milliseconds=300), **olivia)
        incident.refresh_from_db()
        done = "Acknowledged" if status == "acknowledged" else "Resolved"
        assert incident_words(incident).startswith(
            f"{done} by alice@acme.example from Tripwire (through PagerDuty as Olivia Oncall) "
        )
    # PagerDuty's story of it says the same of both changes.
    incident.timeline = list(incident.activity.order_by("occurred_at"))  # type: ignore[attr-defined]
    story = render_to_string(
        "pagerduty_incidents/_incident.html",
        {
            "t": SimpleNamespace(incident=incident),
            "tenant": SimpleNamespace(is_admin=True, organization=SimpleNamespace(slug="acme")),
            "firing_open": False,
        },
    )
    assert story.count("by alice@acme.example from Tripwire (through PagerDuty as") == 3
    assert "Resolved by Olivia Oncall" not in story


def test_a_later_resolve_in_pagerduty_is_not_credited_to_tripwire(tenant, post_webhook, now):
    incident = _tell(tenant, post_webhook, "incident.triggered", "triggered", now)
    actions._record(incident, _answer("resolved", now), "alice@acme.example", now)
    _tell(tenant, post_webhook, "incident.reopened", "triggered", now + timedelta(minutes=1))
    bob = {"id": "PUSER2", "type": "user_reference", "summary": "Bob Lead"}
    later = now + timedelta(minutes=2)
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", later, **bob)
    assert incident_words(incident).startswith("Resolved in PagerDuty by Bob Lead")


def test_an_answer_dated_to_the_second_still_credits_the_press(tenant, post_webhook, now):
    """PagerDuty's REST answer dates the change to the second (11:12:59Z); a note's webhook,
    to the millisecond, had moved the incident's time to 11:12:59.617 just before: the
    resolve at 11:12:59.677 was still alice's, not "Resolved in PagerDuty by Olivia"."""
    second = now.replace(microsecond=0)
    _tell(tenant, post_webhook, "incident.triggered", "triggered", second)
    noted = second + timedelta(milliseconds=617)
    _tell(tenant, post_webhook, "incident.annotated", "triggered", noted)
    incident = Incident.objects.get(pd_incident_id="PINC1")
    actions._record(incident, _answer("resolved", second), "alice@acme.example", noted)
    olivia = {"id": "PUSER9", "type": "user_reference", "summary": "Olivia Oncall"}
    resolved = second + timedelta(milliseconds=677)
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", resolved, **olivia)
    assert incident_words(incident).startswith(
        "Resolved by alice@acme.example from Tripwire (through PagerDuty as Olivia Oncall) "
    )
