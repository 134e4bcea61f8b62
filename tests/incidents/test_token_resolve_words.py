"""A firing resolved through the management API (its Resolve, its Stop watching) by a token,
which is no person: its resolves name the token (`Delivery.created_by_token`), and when
PagerDuty's webhook says the incident resolved (naming the service, as for any event) the
incident's words, its timeline and the alert page's firing row say which token did it.
They read "Resolved by Tripwire: by_hand" and "Resolved in Tripwire"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.incidents import activity
from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.incidents.words import activity_agent, incident_words
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason
from tests.alerts.test_stop_watching import _per_host, _quiet
from tests.api.test_firing_actions import _waiting
from tests.api_client import Api
from tests.incidents.conftest import incident_event, make_tenant

pytestmark = pytest.mark.django_db

SERVICE_AGENT = {"id": "PSVC1", "type": "service_reference", "summary": "Checkout API 001"}
SAID = "Resolved by API token “deploy-bot” from Tripwire just now"


def _tell(
    post_webhook: Any,
    told: tuple[PagerDutyService, Any, Delivery],
    kind: str,
    at: datetime,
    agent: dict[str, str] | None = None,
) -> Incident:
    """PagerDuty's webhook about the trigger's incident (`told`: service, subscription,
    trigger), applied; `agent` replaces the person it names."""
    service, subscription, trigger = told
    status = kind.removeprefix("incident.")
    event = incident_event(
        kind, incident_id="PINC7", key=trigger.dedup_key, service=service, status=status, at=at
    )
    if agent:
        event["event"]["agent"] = agent
    assert post_webhook(subscription, event).status_code == 202
    for pk in IncidentActivity.objects.filter(applied_at=None).values_list("pk", flat=True):
        activity.apply(pk)
    return Incident.objects.get(pd_incident_id="PINC7")


def _delivered(deliveries: Any, at: datetime) -> None:
    """PagerDuty took them (202), as the engine records it."""
    deliveries.update(status=Delivery.Status.DELIVERED, delivered_at=at)


def _pasted(org: Organization) -> PagerDutyService:
    """A pasted key's service: nothing is sent before the engine runs."""
    return PagerDutyService.objects.create(
        organization=org, name="Edge", region="us", integration_key="e" * 32
    )


def _owner_client(org: Organization) -> Client:
    client = Client()
    client.force_login(org.memberships.get().user)
    return client


def test_the_apis_resolve_reads_as_the_tokens_in_the_words_and_on_the_page(
    make_org, post_webhook
) -> None:
    org = make_org("Acme Ops")
    service, subscription, _ = make_tenant(org)
    alert, firing = _waiting(org, service)
    [trigger] = firing.deliveries.filter(event_action=EventAction.TRIGGER)
    told = (service, subscription, trigger)
    start = timezone.now()
    _delivered(Delivery.objects.filter(pk=trigger.pk), start)
    _tell(post_webhook, told, "incident.triggered", start)
    token, secret = ApiToken.issue(org, "deploy-bot", scope=Scope.WRITE)

    Api(secret).post(f"/firings/{firing.pk}/resolve", status=200)

    [resolve] = firing.deliveries.filter(event_action=EventAction.RESOLVE)
    assert (resolve.reason, resolve.created_by_id) == (Reason.BY_HAND, None)
    assert resolve.created_by_token_id == token.pk
    resolved_at = timezone.now()
    _delivered(Delivery.objects.filter(pk=resolve.pk), resolved_at)
    incident = _tell(post_webhook, told, "incident.resolved", resolved_at, SERVICE_AGENT)

    assert incident_words(incident) == SAID
    assert "by_hand" not in incident_words(incident)
    resolved = incident.activity.get(kind=IncidentActivity.Kind.RESOLVED)  # type: ignore[attr-defined]
    assert activity_agent(resolved, incident) == "by API token “deploy-bot” from Tripwire"
    opened = f"{alert.get_absolute_url()}?sent={firing.pk}"  # the past firing opened
    page = _owner_client(org).get(opened).content.decode()
    assert "Resolved in Tripwire by API token “deploy-bot”" in page  # the firing's row
    assert SAID in page  # its incident, in the firings table
    assert "by_hand" not in page


def test_the_apis_stop_watching_names_the_token_on_the_resolve_and_the_row(
    make_org,
) -> None:
    org = make_org("Acme Ops")
    alert = _per_host(org, _pasted(org))
    _quiet(org, alert, "web-1", "web-2")
    token, secret = ApiToken.issue(org, "decommission", scope=Scope.WRITE)

    Api(secret).post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=200)

    gone = alert.firings.get(group="web-1")
    [resolve] = gone.deliveries.filter(event_action=EventAction.RESOLVE)
    assert resolve.created_by_token_id == token.pk and resolve.created_by_id is None
    still = alert.firings.get(group="web-2")  # not this token's
    assert not still.deliveries.filter(created_by_token__isnull=False).exists()
    page = _owner_client(org).get(alert.get_absolute_url()).content.decode()
    assert "Resolved in Tripwire by API token “decommission”" in page


def test_a_person_still_reads_as_the_person(make_org) -> None:
    """The page's own Stop watching: the firing's row names the person, its resolve no token."""
    org = make_org("Acme Ops")
    alert = _per_host(org, _pasted(org))
    _quiet(org, alert, "web-1")
    client = _owner_client(org)
    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])
    assert client.post(url, {"value": "web-1"}).status_code == 302
    [resolve] = alert.firings.get().deliveries.filter(event_action=EventAction.RESOLVE)
    assert resolve.created_by_token_id is None and resolve.created_by_id is not None
    page = client.get(alert.get_absolute_url()).content.decode()
    assert f"Resolved in Tripwire by {org.memberships.get().user.email}" in page
    assert "API token" not in page.split('id="firings"')[1].split("</table>")[0]


def test_an_old_resolve_keeps_its_words_after_the_token_is_gone(make_org, post_webhook) -> None:
    """A token deleted since (its organization's tokens, deleted with it, or by hand in the
    admin): the resolve forgets it, and the words say by hand, never a code."""
    org = make_org("Acme Ops")
    service, subscription, _ = make_tenant(org)
    _, firing = _waiting(org, service)
    [trigger] = firing.deliveries.filter(event_action=EventAction.TRIGGER)
    told = (service, subscription, trigger)
    start = timezone.now() - timedelta(seconds=30)
    _delivered(Delivery.objects.filter(pk=trigger.pk), start)
    _tell(post_webhook, told, "incident.triggered", start)
    token, secret = ApiToken.issue(org, "deploy-bot", scope=Scope.WRITE)
    Api(secret).post(f"/firings/{firing.pk}/resolve", status=200)
    token.delete()
    resolve = firing.deliveries.get(event_action=EventAction.RESOLVE)
    assert resolve.created_by_token_id is None
    now = timezone.now()
    _delivered(Delivery.objects.filter(pk=resolve.pk), now)
    incident = _tell(post_webhook, told, "incident.resolved", now, SERVICE_AGENT)
    assert incident_words(incident) == "Resolved by hand from Tripwire just now"
