"""Incidents come back, over real HTTP: connecting subscribes to the service's webhooks in
the sandbox standing in for PagerDuty; an alert fires, the worker delivers the trigger, the
sandbox opens an incident and signs a webhook to our receiver (the live server), the worker
applies it. Acknowledge in PagerDuty shows here; resolve and notes from here reach PagerDuty
and come back."""

from __future__ import annotations

import pytest
import requests

from integrations.pagerduty.incidents.models import (
    Incident,
    IncidentActivity,
    WebhookSubscription,
)
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert, _events
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_settings(live_server) -> dict[str, str]:
    """The worker makes subscriptions whose URL is the live server's."""
    return {"SITE_URL": live_server.url}


@pytest.fixture
def subscribed(celery_worker, connected_service, settings, live_server, pagerduty):
    settings.SITE_URL = live_server.url
    row = wait_for(
        lambda: WebhookSubscription.objects.exclude(pd_subscription_id="").first(),
        message="the webhook subscription",
    )
    return connected_service, row


def _incident(**state) -> Incident:
    def found() -> Incident | None:
        return Incident.objects.filter(**state).first()

    return wait_for(found, timeout=20, message=f"an incident with {state}")


def test_connecting_subscribes_to_the_services_incidents_only(subscribed, pagerduty) -> None:
    service, row = subscribed
    [subscription] = [
        s for s in pagerduty.webhook_subscriptions() if s["id"] == row.pd_subscription_id
    ]
    assert subscription["filter"] == {"type": "service_reference", "id": service.pd_service_id}
    assert subscription["url"] == row.url
    assert row.url.endswith(f"/integrations/pagerduty/webhooks/{row.token}")
    assert all(event.startswith("incident.") for event in subscription["events"])
    assert row.secret and row.secret in subscription["secrets"]
    assert row.active and row.problem == ""


def test_an_incident_round_trip(subscribed, admin_client, org, pagerduty) -> None:
    service, _ = subscribed
    alert = _alert(org, service)
    [firing] = _events(org, 3)
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)

    # The trigger opens an incident in PagerDuty, whose webhook tells us of it.
    incident = _incident(dedup_key=trigger.dedup_key)
    assert incident.service_id == service.pk and incident.status == "triggered"
    [remote] = pagerduty.incidents(incident_key=trigger.dedup_key)
    assert incident.pd_incident_id == remote["id"] and incident.html_url == remote["html_url"]

    # Who it pages now, asked of PagerDuty in the background.
    targets = f"/o/{org.slug}/alerts/{alert.pk}/live/targets/"
    wait_for(
        lambda: "On call now: Olivia Oncall" in admin_client.get(targets).content.decode(),
        message="who is on call",
    )

    # Someone acknowledges it in PagerDuty.
    pagerduty.set_incident_status(remote["id"], "acknowledged")
    incident = _incident(pk=incident.pk, status="acknowledged")
    assert incident.acknowledged_by and incident.acknowledged_at is not None
    page = admin_client.get(targets).content.decode()
    assert f"Acknowledged by {incident.acknowledged_by}" in page

    # A note and the resolve, from Tripwire, reach PagerDuty and come back.
    back = f"/o/{org.slug}/alerts/{alert.pk}/"
    response = admin_client.post(
        f"/o/{org.slug}/incidents/{incident.pk}/note/", {"note": "Rolling back", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    response = admin_client.post(f"/o/{org.slug}/incidents/{incident.pk}/resolve/", {"next": back})
    assert response.status_code == 302
    [remote] = pagerduty.incidents(incident_key=trigger.dedup_key)
    assert remote["status"] == "resolved"
    notes = " ".join(n["content"] for n in remote["notes"])
    assert "Rolling back" in notes and "Resolved in Tripwire by owner@acme.example" in notes
    incident = _incident(pk=incident.pk, status="resolved")
    wait_for(
        lambda: IncidentActivity.objects.filter(
            incident=incident, kind="incident.resolved"
        ).exists(),
        message="the resolve's webhook",
    )
    page = admin_client.get(back, follow=True).content.decode()
    assert "Resolved by owner@acme.example from Tripwire (through PagerDuty as " in page
    # The incident's story, as PagerDuty told it: triggered, acknowledged, the notes, resolved.
    assert "What happened in PagerDuty" in page
    assert "Note added by" in page and "Rolling back" in page
    assert "Tripwire will not page about this firing again" in page


def test_a_redelivered_webhook_is_applied_once(subscribed, org, pagerduty) -> None:
    service, _ = subscribed
    _alert(org, service)
    [firing] = _events(org, 3)
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    incident = _incident(dedup_key=trigger.dedup_key)
    [sent] = pagerduty.wait_for_deliveries(1, event_type="incident.triggered")
    before = IncidentActivity.objects.filter(incident=incident).count()
    pagerduty.redeliver(sent["id"])
    again = pagerduty.wait_for_deliveries(2, event_type="incident.triggered")
    assert {d["webhook_id"] for d in again} == {sent["webhook_id"]}
    assert all(d["status"] == "delivered" for d in again)
    assert IncidentActivity.objects.filter(incident=incident).count() == before == 1


def test_over_http_a_rotated_secret_is_accepted_and_a_forged_body_refused(
    subscribed, org, pagerduty, live_server
) -> None:
    """While PagerDuty rotates the secret it signs with both: ours still matches. A body
    signed with anything else gets 401 and changes nothing."""
    service, row = subscribed
    pagerduty.rotate_webhook_secret(row.pd_subscription_id)
    _alert(org, service)
    [firing] = _events(org, 3)
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    [sent] = pagerduty.wait_for_deliveries(1, event_type="incident.triggered")
    assert sent["headers"]["X-PagerDuty-Signature"].count("v1=") == 2
    assert sent["status"] == "delivered" and sent["response_code"] == 202
    incident = _incident(dedup_key=trigger.dedup_key)

    forged = sent["body"].replace('"triggered"', '"resolved"')
    answer = requests.post(
        row.url,
        data=forged.encode(),
        headers={**sent["headers"], "X-Webhook-Id": "forged-1"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert "signature" in answer.json()["message"]
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert not IncidentActivity.objects.filter(kind="incident.resolved").exists()
