"""Credit for a change goes only to who made it: not to a press on a stale page, nor to a
resolve of ours that failed or belongs to an earlier trigger cycle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from alerts_saas.audit.models import Entry
from integrations.pagerduty.incidents import actions
from integrations.pagerduty.models import Delivery, Reason
from tests.incidents.conftest import make_tenant
from tests.incidents.test_who_acted import SERVICE_AGENT, _answer, _our_resolve, _tell

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(make_org):
    return make_tenant(make_org("Acme Ops"))


BOB = {"id": "PUSER2", "type": "user_reference", "summary": "Bob Lead"}


@pytest.mark.parametrize(
    "kind,status,done",
    [
        ("incident.resolved", "resolved", "Resolved"),
        ("incident.acknowledged", "acknowledged", "Acknowledged"),
    ],
)
def test_a_press_on_a_stale_page_does_not_take_credit_for_bobs_change(
    tenant, post_webhook, now, kind, status, done
) -> None:
    """Bob acted in PagerDuty at `now`; two minutes later alice presses the same button on a
    page not yet refreshed. PagerDuty changes nothing and answers the incident as it is (the
    sandbox: set_status returns no change; last_status_change_by = Bob, at = now)."""
    incident = _tell(
        tenant, post_webhook, "incident.triggered", "triggered", now - timedelta(minutes=5)
    )
    incident = _tell(tenant, post_webhook, kind, status, now, **BOB)
    answer = _answer(status, now)
    answer["last_status_change_by"] = {"type": "user_reference", "summary": "Bob Lead"}
    pressed = now + timedelta(minutes=2)
    assert actions._record(incident, answer, "alice@acme.example", pressed) is False
    incident.refresh_from_db()
    from integrations.pagerduty.incidents.words import incident_words

    words = incident_words(incident)
    assert "alice" not in words, words
    assert words.startswith(f"{done} ") and "Bob Lead" in words


def test_a_resolve_pagerduty_refused_is_not_credited_for_its_auto_resolve(
    tenant, post_webhook, now
) -> None:
    """Our resolve failed (PagerDuty refused it, nothing went out); later PagerDuty's own
    auto-resolve (agent: the service) closes the incident: not Tripwire's doing."""
    failed = _our_resolve(tenant[2], Reason.CLEARED)
    Delivery.objects.filter(pk=failed.pk).update(
        status=Delivery.Status.FAILED,
        last_error="Invalid routing key",
        created_at=now - timedelta(hours=1),
    )
    from integrations.pagerduty.incidents.words import incident_words

    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now, **SERVICE_AGENT)
    assert incident_words(incident) == "Resolved in PagerDuty by Checkout API 001 just now"


def test_an_auto_resolve_after_a_reopen_is_not_credited_to_the_first_resolve(
    tenant, post_webhook, now
) -> None:
    """Tripwire's resolve closed the incident; it was reopened in PagerDuty, and PagerDuty's
    own auto-resolve (agent: the service) closed it again 10 minutes later: that second
    resolve is not Tripwire's, yet the resolve sent before the reopen is credited."""
    from integrations.pagerduty.incidents.words import incident_words

    _tell(tenant, post_webhook, "incident.triggered", "triggered", now - timedelta(minutes=20))
    ours = _our_resolve(tenant[2], Reason.CLEARED)
    Delivery.objects.filter(pk=ours.pk).update(created_at=now - timedelta(minutes=15))
    _tell(
        tenant,
        post_webhook,
        "incident.resolved",
        "resolved",
        now - timedelta(minutes=15),
        **SERVICE_AGENT,
    )
    _tell(tenant, post_webhook, "incident.reopened", "triggered", now - timedelta(minutes=10))
    incident = _tell(tenant, post_webhook, "incident.resolved", "resolved", now, **SERVICE_AGENT)
    assert incident_words(incident) == "Resolved in PagerDuty by Checkout API 001 just now"


class _StaleApi:
    """PagerDuty's answer to a press on a page not yet refreshed: the incident unchanged,
    resolved by Bob two minutes ago; the notes the act would add are kept."""

    notes: list[str] = []

    def __init__(self, account: Any) -> None:
        self.account = account

    def set_incident_status(self, incident_id: str, status: str) -> dict[str, Any]:
        at = timezone.now() - timedelta(minutes=2)
        return {
            "status": "resolved",
            "last_status_change_at": at.isoformat(),
            "last_status_change_by": BOB,
        }

    def add_incident_note(self, incident_id: str, content: str) -> dict[str, Any]:
        _StaleApi.notes.append(content)
        return {}


def test_pressing_resolve_on_a_stale_page_says_so_and_is_not_audited(
    admin_client, org, post_webhook, now, monkeypatch
) -> None:
    monkeypatch.setattr(actions, "AccountApi", _StaleApi)
    _StaleApi.notes = []
    at = now - timedelta(minutes=5)
    incident = _tell(make_tenant(org), post_webhook, "incident.triggered", "triggered", at)
    Entry.objects.all().delete()
    response = admin_client.post(f"/o/{org.slug}/incidents/{incident.pk}/resolve/")
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [
        f"Incident #{incident.number} was already resolved in PagerDuty: nothing changed."
    ]
    assert not Entry.objects.filter(organization=org).exists()
    assert _StaleApi.notes == []  # no "Resolved in Tripwire by ..." in PagerDuty's timeline
    incident.refresh_from_db()
    assert incident.status == "resolved" and not incident.resolved_in_tripwire_by
