"""Replays of a signed webhook: the receiver keeps each PagerDuty event once by the signed
body's `event.id` (the `X-Webhook-Id` header is signed by nothing), and does not apply an
event older than PagerDuty ever retries one. The signature is still checked first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.pagerduty.incidents import activity
from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from tests.incidents.conftest import incident_event, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(make_org):
    return make_tenant(make_org("Acme Ops"))


def _event(tenant, at, kind="incident.acknowledged", status="acknowledged"):
    service, _, trigger = tenant
    return incident_event(
        kind, incident_id="PINC1", key=trigger.dedup_key, service=service, status=status, at=at
    )


def test_the_same_signed_event_under_another_webhook_id_is_kept_once(
    tenant, post_webhook, now, django_capture_on_commit_callbacks
) -> None:
    _, subscription, _ = tenant
    event = _event(tenant, now)
    with django_capture_on_commit_callbacks() as queued:
        answers = [post_webhook(subscription, event, webhook_id=w) for w in ("A", "A", "B")]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["message"] for a in answers] == [
        "Accepted.",
        "Already received.",
        "Already received.",
    ]
    assert len(queued) == 1  # one task to apply it
    [kept] = IncidentActivity.objects.all()
    assert kept.event_id == event["event"]["id"]
    activity.apply(kept.pk)
    assert Incident.objects.get().activity.count() == 1


def test_a_retry_within_pagerdutys_48_hours_is_applied(tenant, post_webhook, now) -> None:
    _, subscription, _ = tenant
    late = post_webhook(subscription, _event(tenant, now - timedelta(hours=47, minutes=55)))
    assert (late.status_code, late.json()["message"]) == (202, "Accepted.")
    assert IncidentActivity.objects.count() == 1


def test_an_event_older_than_any_retry_is_answered_2xx_and_not_applied(
    tenant, post_webhook, now, django_capture_on_commit_callbacks
) -> None:
    _, subscription, _ = tenant
    old = _event(tenant, now - timedelta(hours=50), kind="incident.resolved", status="resolved")
    with django_capture_on_commit_callbacks() as queued:
        answer = post_webhook(subscription, old)
    # 2xx: any other 4xx makes PagerDuty drop it and, three in a row, disable the subscription.
    assert answer.status_code == 202
    assert answer.json()["message"] == (
        "Not applied: the event happened more than 49 hours ago (PagerDuty retries a webhook "
        "for 48 hours at most); an event this old is taken for a replay."
    )
    assert not queued and not IncidentActivity.objects.exists() and not Incident.objects.exists()
    subscription.refresh_from_db()
    assert subscription.last_received_at is None


def test_the_bound_is_a_setting_and_never_longer_than_history_is_kept(
    tenant, post_webhook, now, settings
) -> None:
    _, subscription, _ = tenant
    settings.PAGERDUTY_WEBHOOK_MAX_AGE = timedelta(hours=2)
    answer = post_webhook(subscription, _event(tenant, now - timedelta(hours=3)))
    assert answer.json()["message"].startswith("Not applied: the event happened more than 2 hours")
    settings.PAGERDUTY_WEBHOOK_MAX_AGE = timedelta(hours=49)
    settings.DELIVERY_RETENTION_DAYS = 1  # kept events tell a replay for a day only
    answer = post_webhook(subscription, _event(tenant, now - timedelta(hours=25)))
    assert answer.json()["message"].startswith("Not applied: the event happened more than 24 hours")
    assert not IncidentActivity.objects.exists()


def test_the_signature_is_checked_before_the_events_id_or_age(tenant, post_webhook, now) -> None:
    _, subscription, _ = tenant
    kept = _event(tenant, now)
    assert post_webhook(subscription, kept).status_code == 202
    again = post_webhook(subscription, kept, secrets=("not-the-secret",))
    assert again.status_code == 401
    old = post_webhook(subscription, _event(tenant, now - timedelta(days=3)), signature="v1=0")
    assert old.status_code == 401
    no_id = _event(tenant, now)
    del no_id["event"]["id"]
    unnamed = post_webhook(subscription, no_id)  # signed: 202, as a 4xx would disable it
    assert unnamed.status_code == 202
    assert unnamed.json()["message"] == (
        "Not applied: the event carries no id, so a replay of it couldn't be told apart."
    )
    assert IncidentActivity.objects.count() == 1


def test_an_event_not_placed_is_kept_as_long_as_a_replay_of_it_may_come(
    tenant, post_webhook, now
) -> None:
    """One no firing of ours places (yet) is kept past a day, up to the webhook age bound:
    re-posted 30 hours later it is still told apart."""
    from integrations.pagerduty.incidents.retention import prune_incidents

    _, subscription, _ = tenant
    event = _event(tenant, now - timedelta(hours=1))
    assert post_webhook(subscription, event).status_code == 202
    IncidentActivity.objects.update(applied_at=None, received_at=now - timedelta(hours=30))
    prune_incidents()
    assert IncidentActivity.objects.count() == 1
    assert post_webhook(subscription, event).json()["message"] == "Already received."
