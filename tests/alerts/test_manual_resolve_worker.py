"""Auto-resolve off, end to end: events in through the ingest API, a real worker sending to the
sandbox over HTTP. The condition clears and nothing is resolved; a person resolves it here
(the resolve reaches PagerDuty) or in PagerDuty (its webhook clears the firing, and we send
nothing more)."""

from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Alert, Firing, Level
from integrations.pagerduty.incidents.models import Incident, WebhookSubscription
from integrations.pagerduty.models import Delivery, EventAction
from tests.conftest import wait_for
from tests.ingest.test_firing_e2e import ago, delivered, evaluate_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_settings(live_server) -> dict[str, str]:
    """The worker subscribes to webhooks at the live server."""
    return {"SITE_URL": live_server.url}


def _fire(org, service, post_events, seconds_ago: float = 45) -> Firing:
    """An alert that does not auto-resolve, fired by three errors sent `seconds_ago`."""
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=3,
        window_minutes=1,
        match_app="checkout",
        match_level=Level.ERROR,
        auto_resolve=False,
    )
    alert.targets.add(service)
    error = {"app": "checkout", "level": "error", "source": "web-1", "timestamp": ago(seconds_ago)}
    response = post_events([{**error, "message": f"card declined #{i}"} for i in range(3)])
    assert response.status_code == 202, response.content
    return Firing.objects.get(alert=alert)


def _actions(pagerduty, key: str) -> list[str]:
    return [e["body"]["event_action"] for e in pagerduty.events(dedup_key=key)]


def test_the_condition_clears_nothing_resolves_and_resolving_here_does(
    celery_worker, org, make_service, pagerduty, admin_client, post_events
) -> None:
    service = make_service()
    firing = _fire(org, service, post_events)
    key = firing.dedup_key(service.pk)
    delivered(pagerduty, key, "trigger")

    # The errors leave the window: the beat notes it, and sends nothing.
    evaluate_until(lambda: Firing.objects.get(pk=firing.pk).condition_cleared_at is not None)
    firing.refresh_from_db()
    assert firing.is_open
    [incident] = pagerduty.alerts(dedup_key=key)
    assert incident["status"] == "triggered"
    assert _actions(pagerduty, key) == ["trigger"]
    page = admin_client.get(firing.alert.get_absolute_url()).content.decode()
    assert "Condition cleared at" in page
    # A pasted key's incident (make_service): only resolving here clears it.
    assert "stays open until resolved here." in page

    # A person resolves it here: the resolve reaches PagerDuty under the trigger's key.
    response = admin_client.post(
        f"/o/{org.slug}/alerts/{firing.alert_id}/resolve/", {"firing": firing.pk}
    )
    assert response.status_code == 302
    delivered(pagerduty, key, "resolve")
    [incident] = pagerduty.alerts(dedup_key=key)
    assert incident["status"] == "resolved"
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.RESOLVED
    assert _actions(pagerduty, key) == ["trigger", "resolve"]


@pytest.fixture
def subscribed(celery_worker, connected_service, settings, live_server, pagerduty):
    settings.SITE_URL = live_server.url
    wait_for(
        lambda: WebhookSubscription.objects.exclude(pd_subscription_id="").first(),
        message="the webhook subscription",
    )
    return connected_service


def test_resolving_the_incident_in_pagerduty_clears_the_firing(
    subscribed, org, pagerduty, admin_client, post_events
) -> None:
    firing = _fire(org, subscribed, post_events, seconds_ago=5)
    key = firing.dedup_key(subscribed.pk)
    delivered(pagerduty, key, "trigger")
    ours = wait_for(
        lambda: Incident.objects.filter(dedup_key=key).first(), message="the incident's webhook"
    )
    assert ours.status == "triggered"

    [remote] = pagerduty.incidents(incident_key=key)
    pagerduty.set_incident_status(remote["id"], "resolved")
    wait_for(
        lambda: Firing.objects.get(pk=firing.pk).cleared_at is not None,
        timeout=30,
        message="the firing to clear",
    )
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.INCIDENT_RESOLVED
    # It was resolved in PagerDuty already: we send no resolve of our own.
    assert not Delivery.objects.filter(firing=firing, event_action=EventAction.RESOLVE).exists()
    assert _actions(pagerduty, key) == ["trigger"]
    page = admin_client.get(firing.alert.get_absolute_url()).content.decode()
    assert "Resolved in PagerDuty" in page and "Still firing" not in page
