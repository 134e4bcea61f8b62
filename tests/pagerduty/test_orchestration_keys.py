"""Event Orchestration routing keys pasted as a service: accepted in PagerDuty's shape ("R"
and 31 capital letters and digits), listed as what they are with the key masked, paged like
any key through the Events API, and left out of change events, which PagerDuty refuses on
them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.test import Client

from alerts_saas.alerts.models import Alert, Firing, Level
from alerts_saas.alerts.tasks import evaluate_alerts
from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty import changes
from integrations.pagerduty.keys import KeyKind
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.conftest import wait_for

# The routing keys of PagerDuty's REST reference (OrchestrationIntegration examples).
DOCUMENTED_KEYS = ("R022XIJR9M266DX570EVE6EXP1AFBN6D", "R028DIE06SNKNO6V5ACSLRV7Y0TUVG7T")


def paste(client: Client, org, key: str, name: str = "Routed", region: str = "us"):
    return client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/keys/",
        {"name": name, "integration_key": key, "region": region},
    )


def integrations_page(client: Client, org) -> str:
    return client.get(f"/o/{org.slug}/settings/integrations/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("key", DOCUMENTED_KEYS)
def test_an_orchestration_routing_key_is_accepted_and_listed_as_one_with_the_key_masked(
    admin_client, org, key
) -> None:
    assert paste(admin_client, org, f" {key} ", "Checkout routing").status_code == 302
    service = PagerDutyService.objects.get(organization=org)
    assert service.integration_key == key and service.key_kind is KeyKind.ORCHESTRATION
    page = integrations_page(admin_client, org)
    assert "Event Orchestration routing key (global)" in page
    assert "change events are not sent to it" in page
    assert service.masked_key in page and key not in page


@pytest.mark.django_db
def test_both_kinds_are_listed_each_in_its_own_words(admin_client, org) -> None:
    assert paste(admin_client, org, "0123456789abcdef0123456789abcdef", "Direct").status_code == 302
    assert paste(admin_client, org, DOCUMENTED_KEYS[0], "Routed").status_code == 302
    page = integrations_page(admin_client, org)
    assert page.count('data-key-kind="integration">Events API v2 integration key<') == 1
    assert page.count('data-key-kind="orchestration">Event Orchestration routing key') == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "words"),
    [
        (
            DOCUMENTED_KEYS[0][:-1],
            "An Event Orchestration routing key (it starts with R) is 32 characters long; "
            "this one has 31.",
        ),
        (
            DOCUMENTED_KEYS[0] + "7",
            "An Event Orchestration routing key (it starts with R) is 32 characters long; "
            "this one has 33.",
        ),
        (
            "R022xijr9m266dx570eve6exp1afbn6d",
            "An Event Orchestration routing key is R followed by capital letters and digits only.",
        ),
        (
            "R022XIJR9M266DX570EVE6EXP1AFBN6!",
            "An Event Orchestration routing key is R followed by capital letters and digits only.",
        ),
        ("0123456789abcdef0123456789abcde", "An integration key is 32 characters long"),
        ("0123456789ABCDEF0123456789ABCDEF", "only lowercase letters and digits"),
        ("https://events.pagerduty.com/v2/enqueue", "This is a URL."),
    ],
)
def test_bad_keys_are_refused_in_words(admin_client, org, key: str, words: str) -> None:
    response = paste(admin_client, org, key)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not PagerDutyService.objects.exists()


@pytest.mark.django_db
def test_the_same_orchestration_key_is_not_added_twice(admin_client, org) -> None:
    assert paste(admin_client, org, DOCUMENTED_KEYS[1], "Routing").status_code == 302
    response = paste(admin_client, org, DOCUMENTED_KEYS[1], "Routing again")
    assert response.status_code == 400
    assert "This key is already in use by “Routing”" in response.content.decode()


@pytest.mark.django_db
def test_change_events_go_only_to_services_with_an_integration_key(admin_client, org) -> None:
    """PagerDuty: "change events cannot be sent to ruleset integration keys (these keys
    begin with the character R)"."""
    paste(admin_client, org, "0123456789abcdef0123456789abcdef", "Direct")
    paste(admin_client, org, DOCUMENTED_KEYS[0], "Routed")
    alert = Alert.objects.create(organization=org, name="Errors", match_level=Level.ERROR)
    alert.targets.set(PagerDutyService.objects.all())
    _, secret = IngestKey.issue(org, "ci")
    response = Client().post(
        "/api/v1/changes",
        data=orjson.dumps({"payload": {"summary": "Deployed checkout v2.14.0"}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 202
    assert response.json()["services"] == ["Direct"]
    assert [s.name for s in changes.services_for(org.pk)] == ["Direct"]
    sent = Delivery.objects.filter(event_action="change")
    assert list(sent.values_list("service_name", flat=True)) == ["Direct"]


# ------------------------------------------------------------ paged through the sandbox


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def received(pagerduty, routing_key: str, action: str) -> dict:
    """The event the sandbox accepted under this routing key with this action (waits)."""

    def landed() -> dict | None:
        return next(
            (
                e
                for e in pagerduty.events(routing_key=routing_key, event_action=action)
                if e["status_code"] == 202
            ),
            None,
        )

    return wait_for(landed, timeout=30, interval=0.2, message=f"a {action} under {routing_key}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_alert_on_an_orchestration_key_pages_through_it_and_resolves(
    celery_worker, pagerduty, org, admin_client
) -> None:
    pd_service = next(
        s for s in pagerduty.account("us")["services"] if s["name"] == "Checkout API 003"
    )
    orchestration = pagerduty.add_orchestration(pd_service["id"], "Checkout routing")
    key = orchestration["routing_key"]
    assert paste(admin_client, org, key, "Checkout (routed)").status_code == 302
    service = PagerDutyService.objects.get(organization=org)
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=2,
        window_minutes=1,
        match_app="checkout",
        match_level=Level.ERROR,
    )
    alert.targets.add(service)
    _, secret = IngestKey.issue(org, "web")
    # Stamped 45 s ago, so they leave the 1-minute window 15 s from now.
    error = {"app": "checkout", "level": "error", "source": "web-1", "timestamp": ago(45)}
    response = Client().post(
        "/api/v1/events",
        data=orjson.dumps([{**error, "message": "card declined #1"}, {**error, "message": "#2"}]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 202
    firing = Firing.objects.get(alert=alert)
    dedup_key = firing.dedup_key(service.pk)

    trigger = received(pagerduty, key, "trigger")
    assert trigger["host"] == "events-us" and trigger["dedup_key"] == dedup_key
    assert trigger["body"]["routing_key"] == key
    assert trigger["service_id"] == pd_service["id"]  # where the orchestration routes it
    (incident,) = pagerduty.incidents(service_id=pd_service["id"])
    assert incident["incident_key"] == dedup_key and incident["status"] == "triggered"

    def cleared() -> bool:
        evaluate_alerts.delay()
        return Firing.objects.get(pk=firing.pk).cleared_at is not None

    wait_for(cleared, timeout=40, interval=1, message="the firing to clear")
    resolve = received(pagerduty, key, "resolve")
    assert resolve["dedup_key"] == dedup_key
    assert pagerduty.incidents(service_id=pd_service["id"])[0]["status"] == "resolved"
    assert set(firing.deliveries.values_list("event_action", "status")) == {
        ("trigger", Delivery.Status.DELIVERED),
        ("resolve", Delivery.Status.DELIVERED),
    }
