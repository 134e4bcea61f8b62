"""The webhook receiver and what it applies: signatures first, each webhook once, the
newest news wins, only our incidents, never another organization's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.pagerduty.incidents import activity
from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from tests.incidents.conftest import SECRET, incident_event, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(make_org):
    return make_tenant(make_org("Acme Ops"))


def _apply_all() -> None:
    for pk in IncidentActivity.objects.filter(applied_at=None).values_list("pk", flat=True):
        activity.apply(pk)


def _event(tenant, kind, status, at, **kw):
    service, _, trigger = tenant
    return incident_event(
        kind,
        incident_id="PINC1",
        key=trigger.dedup_key,
        service=service,
        status=status,
        at=at,
        **kw,
    )


def test_a_signed_webhook_is_kept_and_applied(tenant, post_webhook, now) -> None:
    _, subscription, trigger = tenant
    response = post_webhook(
        subscription, _event(tenant, "incident.acknowledged", "acknowledged", now)
    )
    assert response.status_code == 202
    _apply_all()
    incident = Incident.objects.get()
    assert (incident.dedup_key, incident.service_id) == (trigger.dedup_key, trigger.service_id)
    assert incident.status == "acknowledged"
    assert (incident.acknowledged_by, incident.acknowledged_at) == ("Alice Oncall", now)
    assert incident.html_url.endswith("/incidents/PINC1") and incident.number == 7
    assert incident.activity.get().agent == "Alice Oncall"


@pytest.mark.parametrize(
    "signature",
    ["", "v1=" + "0" * 64, "v0=abc", "sha256=whatever"],
    ids=["missing", "wrong", "other-version", "garbage"],
)
def test_unsigned_or_wrongly_signed_is_refused_and_changes_nothing(
    tenant, post_webhook, now, signature
) -> None:
    _, subscription, _ = tenant
    event = _event(tenant, "incident.resolved", "resolved", now)
    response = post_webhook(subscription, event, signature=signature)
    assert response.status_code == 401
    assert "signature" in response.json()["message"]
    assert not IncidentActivity.objects.exists() and not Incident.objects.exists()


def test_signed_with_another_secret_or_for_another_subscription_is_refused(
    tenant, post_webhook, now
) -> None:
    _, subscription, _ = tenant
    event = _event(tenant, "incident.resolved", "resolved", now)
    assert post_webhook(subscription, event, secrets=("not-the-secret",)).status_code == 401
    subscription.token = "unknown-token"
    assert post_webhook(subscription, event).status_code == 401
    assert not IncidentActivity.objects.exists()


def test_during_secret_rotation_either_signature_is_enough(tenant, post_webhook, now) -> None:
    _, subscription, _ = tenant
    event = _event(tenant, "incident.triggered", "triggered", now)
    response = post_webhook(subscription, event, secrets=("the-new-secret", SECRET))
    assert response.status_code == 202
    assert IncidentActivity.objects.count() == 1


def test_a_redelivery_of_the_same_webhook_id_is_dropped(tenant, post_webhook, now) -> None:
    _, subscription, _ = tenant
    event = _event(tenant, "incident.annotated", "acknowledged", now)
    event["event"]["data"] = {
        "type": "incident_note",
        "id": "PNOTE1",
        "content": "Looking into it",
        "incident": {"id": "PINC1", "type": "incident_reference"},
    }
    first = _event(tenant, "incident.triggered", "triggered", now - timedelta(minutes=1))
    assert post_webhook(subscription, first, webhook_id="wh-0").status_code == 202
    for _ in range(3):
        assert post_webhook(subscription, event, webhook_id="wh-1").status_code == 202
    _apply_all()
    notes = IncidentActivity.objects.filter(kind="incident.annotated")
    assert [n.text for n in notes] == ["Looking into it"]


def test_events_out_of_order_keep_the_newest_status(tenant, post_webhook, now) -> None:
    _, subscription, _ = tenant
    resolved = _event(tenant, "incident.resolved", "resolved", now, agent="Bob Lead")
    acked = _event(tenant, "incident.acknowledged", "acknowledged", now - timedelta(seconds=30))
    post_webhook(subscription, resolved)
    _apply_all()
    post_webhook(subscription, acked)
    _apply_all()
    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert (incident.resolved_by, incident.resolved_at) == ("Bob Lead", now)
    # The late acknowledgement is still part of the story.
    assert incident.acknowledged_by == "Alice Oncall"
    assert incident.activity.count() == 2


def test_an_incident_that_is_not_ours_is_dropped(tenant, post_webhook, now) -> None:
    service, subscription, _ = tenant
    event = incident_event(
        "incident.triggered",
        incident_id="PFOREIGN",
        key="someone-elses-key",
        service=service,
        status="triggered",
        at=now,
    )
    assert post_webhook(subscription, event).status_code == 202
    _apply_all()
    assert not Incident.objects.exists()
    assert not IncidentActivity.objects.exists()


def test_another_organizations_webhook_cannot_touch_our_incident(
    tenant, make_org, post_webhook, now
) -> None:
    """The other organization's subscription, correctly signed, names our incident and our
    dedup key: it is judged against its own deliveries, and ours stays as it was."""
    _, subscription, trigger = tenant
    post_webhook(subscription, _event(tenant, "incident.triggered", "triggered", now))
    _apply_all()
    other_service, other_subscription, _ = make_tenant(make_org("Globex"))
    forged = incident_event(
        "incident.resolved",
        incident_id="PINC1",
        key=trigger.dedup_key,
        service=other_service,
        status="resolved",
        at=now + timedelta(minutes=1),
        agent="Mallory",
    )
    assert post_webhook(other_subscription, forged).status_code == 202
    _apply_all()
    ours = Incident.objects.get(organization=trigger.organization)
    assert ours.status == "triggered" and ours.resolved_by == ""
    assert not Incident.objects.exclude(organization=trigger.organization).exists()


def test_a_body_that_is_not_an_event_is_refused_in_words(tenant, post_webhook) -> None:
    _, subscription, _ = tenant
    response = post_webhook(subscription, {"hello": "world"})
    assert response.status_code == 400
    assert response.json()["message"] == "The body is not a webhooks v3 event."


def test_a_ping_or_an_event_we_do_not_follow_is_accepted_and_ignored(
    tenant, post_webhook, now
) -> None:
    _, subscription, _ = tenant
    event = _event(tenant, "incident.priority_updated", "triggered", now)
    assert post_webhook(subscription, event).status_code == 202
    assert not IncidentActivity.objects.exists()


def test_incident_history_is_kept_as_long_as_delivery_history(
    tenant, post_webhook, now, settings
) -> None:
    from integrations.pagerduty.incidents.retention import prune_incidents

    _, subscription, _ = tenant
    post_webhook(subscription, _event(tenant, "incident.acknowledged", "acknowledged", now))
    _apply_all()
    settings.DELIVERY_RETENTION_DAYS = 30
    assert prune_incidents().deleted == 0
    Incident.objects.update(updated_at=now - timedelta(days=31))
    assert prune_incidents().deleted == 1
    assert not Incident.objects.exists() and not IncidentActivity.objects.exists()


def test_a_subscription_without_a_secret_refuses_what_is_signed_with_none(
    tenant, post_webhook, now
) -> None:
    """An empty key is one anyone can sign with."""
    _, subscription, _ = tenant
    subscription.secret = ""
    subscription.save(update_fields=["secret"])
    event = _event(tenant, "incident.resolved", "resolved", now)
    assert post_webhook(subscription, event, secrets=("",)).status_code == 401
    assert not IncidentActivity.objects.exists()
