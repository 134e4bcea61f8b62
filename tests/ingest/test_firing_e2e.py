"""Events in through the API, pages out to the sandbox: a real Celery worker sends them, and
the beat's evaluation task runs on that worker too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, Level
from alerts_saas.alerts.tasks import evaluate_alerts
from integrations.pagerduty.models import Delivery
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def delivered(pagerduty, dedup_key: str, action: str) -> dict:
    """The event PagerDuty accepted with this key and action (waits for it)."""

    def landed() -> dict | None:
        return next(
            (
                e
                for e in pagerduty.events(dedup_key=dedup_key)
                if e["status_code"] == 202 and e["body"]["event_action"] == action
            ),
            None,
        )

    return wait_for(landed, timeout=30, interval=0.2, message=f"a {action} for {dedup_key}")


def evaluate_until(condition, timeout: float = 30):
    """Run the beat's evaluation on the worker until `condition` holds."""

    def check():
        evaluate_alerts.delay()  # checked after the next interval, once the worker ran it
        return condition()

    return wait_for(check, timeout=timeout, interval=1, message="the evaluation")


def test_events_over_the_threshold_page_and_the_resolve_follows_when_they_stop(
    celery_worker, post_events, org, make_service, pagerduty
):
    checkout, payments = make_service("Checkout API 001"), make_service("Checkout API 002")
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=3,
        window_minutes=1,
        match_app="checkout",
        match_level=Level.ERROR,
    )
    alert.targets.set([checkout, payments])
    # Stamped 45 s ago, so they leave the 1-minute window 15 s from now.
    error = {"app": "checkout", "level": "error", "source": "web-1", "timestamp": ago(45)}
    noise = [{**error, "level": "warning"}, {**error, "app": "search"}]
    assert post_events([{**error, "message": "card declined #1"}, *noise]).status_code == 202
    assert post_events([{**error, "message": "card declined #2"}]).status_code == 202
    assert not Firing.objects.exists()

    response = post_events([{**error, "message": "card declined #3", "order": 4411}])
    assert response.status_code == 202
    firing = Firing.objects.get(alert=alert)
    assert firing.is_open and firing.count_at_open == 3

    keys = {firing.dedup_key(checkout.pk), firing.dedup_key(payments.pk)}
    assert len(keys) == 2  # one dedup key per alert, target and firing
    for key in keys:
        trigger = delivered(pagerduty, key, "trigger")["body"]
        assert trigger["payload"]["severity"] == "error"
        details = trigger["payload"]["custom_details"]
        assert details["matching_events_in_window"] == 3
        assert "at least 3 matching events in 1 minute" in details["condition"]
        recent = details["recent_matching_events"]
        assert [e["message"] for e in recent] == [
            "card declined #3",
            "card declined #2",
            "card declined #1",
        ]
        assert recent[0]["attributes"] == {"order": 4411}
        assert trigger["links"][0]["href"].endswith(alert.get_absolute_url())
    assert len(pagerduty.alerts(status="triggered")) >= 2

    # The events stop: once they are out of the window, the beat clears the firing.
    evaluate_until(lambda: Firing.objects.get(pk=firing.pk).cleared_at is not None)
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.CLEARED and firing.count_at_clear == 0
    for key in keys:
        resolve = delivered(pagerduty, key, "resolve")["body"]
        assert resolve["dedup_key"] == key
        [incident] = pagerduty.alerts(dedup_key=key)
        assert incident["status"] == "resolved"
    assert set(firing.deliveries.values_list("event_action", "status")) == {
        ("trigger", Delivery.Status.DELIVERED),
        ("resolve", Delivery.Status.DELIVERED),
    }


def test_an_absence_alert_fires_when_the_heartbeat_stops_and_resolves_when_it_returns(
    celery_worker, post_events, org, make_service, pagerduty
):
    service = make_service()
    alert = Alert.objects.create(
        organization=org,
        name="Nightly backup heartbeat",
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=1,
        match_app="backup",
        match_message="heartbeat",
    )
    alert.targets.add(service)
    # As if it had been watching for a while: an absence alert waits one window first.
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now() - timedelta(minutes=5))
    beat = {"app": "backup", "message": "Heartbeat OK", "source": "db-1"}
    assert post_events([{**beat, "timestamp": ago(52)}]).status_code == 202

    assert evaluation.evaluate()["opened"] == 0  # a heartbeat within the last minute
    assert not Firing.objects.exists()

    # The heartbeat stops: the last one leaves the window and the alert fires.
    firing = evaluate_until(lambda: Firing.objects.filter(alert=alert).first())
    key = firing.dedup_key(service.pk)
    trigger = delivered(pagerduty, key, "trigger")["body"]
    assert trigger["payload"]["custom_details"]["matching_events_in_window"] == 0
    assert (
        "fewer than 1 matching event in 1 minute"
        in (trigger["payload"]["custom_details"]["condition"])
    )
    assert trigger["payload"]["custom_details"]["recent_matching_events"][0]["message"] == (
        "Heartbeat OK"
    )

    # It returns: the firing clears and PagerDuty gets the resolve under the same key.
    assert post_events([beat]).status_code == 202
    evaluate_until(lambda: Firing.objects.get(pk=firing.pk).cleared_at is not None)
    delivered(pagerduty, key, "resolve")
    [incident] = pagerduty.alerts(dedup_key=key)
    assert incident["status"] == "resolved"
    assert Firing.objects.filter(alert=alert).count() == 1
