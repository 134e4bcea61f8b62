"""/services, /firings, /deliveries and /ingest-keys; and a change through the API to an
alert that is firing pages and resolves exactly as the same change on its page does."""

from __future__ import annotations

import html
from datetime import timedelta

import orjson
import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyAccount, Reason
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db

ERROR = {"app": "checkout", "level": "error", "message": "Payment failed", "source": "web-1"}


def send_events(secret: str, n: int) -> None:
    response = Client().post(
        "/api/v1/events",
        data=orjson.dumps([ERROR] * n),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 202, response.content


def sent(firing: Firing) -> list[tuple[str, str, str]]:
    return [(d.event_action, d.service_name, d.reason) for d in firing.deliveries.order_by("pk")]


def test_services_are_listed_with_their_health(api, org, service, other_service):
    account = PagerDutyAccount.objects.create(
        organization=org,
        pd_account_id="PACC1",
        subdomain="acme",
        name="Acme PD",
        region="us",
        access_token="at",
        refresh_token="rt",
        expires_at=timezone.now() + timedelta(days=1),
        scope="write",
        status=PagerDutyAccount.Status.NEEDS_RECONNECT,
    )
    service.refused_at, service.refused_detail = timezone.now(), "Invalid routing key"
    service.save()
    other_service.account = account
    other_service.save()
    listed = api.get("/services", status=200).json()
    assert [s["name"] for s in listed["items"]] == ["Checkout", "Payments"]
    checkout, payments = listed["items"]
    assert checkout["health"]["code"] == "refused"
    assert checkout["health"]["words"].startswith(
        "PagerDuty refuses its integration key (Invalid routing key)"
    )
    assert checkout["account"] is None and checkout["masked_key"].endswith("aaaa")
    assert "a" * 32 not in orjson.dumps(listed).decode()  # the key itself never
    assert payments["health"]["code"] == "reconnect" and payments["account"] == "Acme PD"
    assert api.get(f"/services/{other_service.pk}", status=200).json() == payments
    assert api.get("/services/999999", status=404).json()["message"] == (
        "There is no service 999999 in this organization."
    )


def test_an_ingest_key_made_through_the_api_takes_events_and_is_revoked_through_it(
    api, admin_client, org
):
    made = api.post("/ingest-keys", {"name": "web servers"}, status=201).json()
    assert made["key"].startswith("twk_") and made["key"].startswith(made["hint"])
    send_events(made["key"], 1)
    listed = api.get("/ingest-keys", status=200).json()
    assert [(k["name"], k["is_revoked"]) for k in listed["items"]] == [("web servers", False)]
    assert "key" not in listed["items"][0]  # the secret is never shown again
    taken = api.post("/ingest-keys", {"name": "Web Servers"}, status=400).json()
    assert taken["errors"] == [
        {
            "field": "name",
            "message": "An active key named “Web Servers” already exists. Choose another "
            "name, or revoke the old key first.",
        }
    ]
    # The settings page says which token made it.
    keys_page = html.unescape(
        admin_client.get(f"/o/{org.slug}/settings/ingest-keys/").content.decode()
    )
    assert "API token “tool write”" in keys_page

    revoked = api.post(f"/ingest-keys/{made['id']}/revoke", status=200).json()
    assert revoked["is_revoked"] is True and revoked["revoked_at"]
    again = api.post(f"/ingest-keys/{made['id']}/revoke", status=200).json()
    assert again["revoked_at"] == revoked["revoked_at"]
    refused = Client().post(
        "/api/v1/events",
        data=orjson.dumps([ERROR]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {made['key']}",
    )
    assert refused.status_code == 403
    key = IngestKey.objects.get()
    assert key.revoked_by_token is not None and key.revoked_by is None


def test_editing_a_firing_alerts_targets_pages_and_resolves_as_the_page_does(
    api, service, other_service
):
    """The new target of an open firing is paged at once and the removed one resolved:
    the same deliveries the alert form's save makes (tests/alerts)."""
    secret = api.post("/ingest-keys", {"name": "web"}, status=201).json()["key"]
    body = alert_body(service, condition={"threshold": 2, "window_minutes": 5})
    alert_id = api.post("/alerts", body, status=201).json()["id"]
    send_events(secret, 2)
    firing = Firing.objects.get(alert_id=alert_id, cleared_at__isnull=True)
    shown = api.get(f"/alerts/{alert_id}", status=200).json()
    assert shown["state"]["code"] == "firing" and shown["state"]["firing_id"] == firing.pk

    api.patch(f"/alerts/{alert_id}", {"targets": [other_service.pk]}, status=200)
    assert sent(firing) == [
        ("trigger", "Checkout", ""),
        ("trigger", "Payments", ""),
        ("resolve", "Checkout", Reason.TARGET_REMOVED),
    ]
    firing.refresh_from_db()
    assert firing.is_open  # the condition still holds

    # Disabling resolves the open incident, as the page's toggle does.
    api.post(f"/alerts/{alert_id}/disable", status=200)
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.DISABLED
    assert sent(firing)[-1] == ("resolve", "Payments", Reason.DISABLED)

    # Firings and deliveries read back, newest first, filtered.
    firings = api.get("/firings", query={"alert_id": alert_id}, status=200).json()
    assert [f["id"] for f in firings["items"]] == [firing.pk]
    assert firings["items"][0]["clear_reason"] == "disabled"
    assert api.get(f"/firings/{firing.pk}", status=200).json() == firings["items"][0]
    assert api.get("/firings", query={"open": "true"}).json()["count"] == 0
    deliveries = api.get("/deliveries", query={"firing_id": firing.pk, "per_page": 2}).json()
    assert deliveries["count"] == 4 and len(deliveries["items"]) == 2
    newest = deliveries["items"][0]
    assert (newest["event_action"], newest["reason"]) == ("resolve", "disabled")
    assert "routing_key" not in newest and "routing_key" not in newest["body"]
    assert newest["status"] == "queued" and newest["next_attempt_at"]
    rest = api.get(deliveries["next"], status=200).json()
    assert len(rest["items"]) == 2 and rest["next"] is None
    one = Delivery.objects.filter(event_action=EventAction.TRIGGER).first()
    assert api.get(f"/deliveries/{one.pk}", status=200).json()["dedup_key"] == one.dedup_key
    triggers = api.get("/deliveries", query={"status": "queued", "service_id": service.pk})
    assert triggers.json()["count"] == 2


def test_deleting_a_firing_alert_resolves_it_and_keeps_its_history(api, service):
    secret = api.post("/ingest-keys", {"name": "web"}, status=201).json()["key"]
    body = alert_body(service, condition={"threshold": 1, "window_minutes": 5})
    alert_id = api.post("/alerts", body, status=201).json()["id"]
    send_events(secret, 1)
    api.delete(f"/alerts/{alert_id}", status=204)
    assert not Alert.objects.exists()
    listed = api.get("/deliveries", status=200).json()
    assert [(d["event_action"], d["reason"]) for d in listed["items"]] == [
        ("resolve", "deleted"),
        ("trigger", ""),
    ]
