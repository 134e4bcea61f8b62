"""Mute windows end to end: events in through the API, a real Celery worker running the
beat's tasks, and the PagerDuty sandbox receiving (or not) the triggers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing, Level, MuteWindow
from alerts_saas.alerts.tasks import evaluate_alerts, release_held_firings
from integrations.pagerduty.models import Delivery
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def send(post_events):
    def post(events: list[dict[str, Any]]) -> None:
        response = post_events(events)
        assert response.status_code == 202, response.content

    return post


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def sandbox_events(pagerduty, key: str, action: str) -> list[dict]:
    return [
        e
        for e in pagerduty.events(dedup_key=key)
        if e["status_code"] == 202 and e["body"]["event_action"] == action
    ]


def run_until(task, condition, timeout: float = 30):
    """Run a beat task on the worker until `condition` holds."""

    def check():
        task.delay()
        return condition()

    return wait_for(check, timeout=timeout, interval=1, message=f"{task.name} to take effect")


@pytest.fixture
def alert(org, make_service) -> Alert:
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=2,
        window_minutes=1,
        match_app="checkout",
        match_level=Level.ERROR,
    )
    alert.targets.set([make_service("Checkout API 001"), make_service("Checkout API 002")])
    return alert


def mute(subject: Alert | Any, seconds: float, reason: str = "deploy") -> MuteWindow:
    key = "alert" if isinstance(subject, Alert) else "service"
    now = timezone.now()
    return MuteWindow.objects.create(
        organization_id=subject.organization_id,
        starts_at=now - timedelta(seconds=1),
        ends_at=now + timedelta(seconds=seconds),
        reason=reason,
        **{key: subject},
    )


ERROR = {"app": "checkout", "level": "error", "source": "web-1", "message": "card declined"}


def test_a_muted_alert_holds_its_trigger_and_pages_when_the_window_ends(
    celery_worker, send, alert, pagerduty
):
    mute(alert, seconds=6)
    send([{**ERROR, "timestamp": ago(1)}] * 2)
    firing = Firing.objects.get(alert=alert)
    assert firing.held and firing.is_open
    keys = [firing.dedup_key(s.pk) for s in alert.targets.all()]
    time.sleep(2)  # a trigger, had one been queued, would have reached the sandbox by now
    assert not Delivery.objects.filter(firing=firing).exists()
    assert all(sandbox_events(pagerduty, key, "trigger") == [] for key in keys)

    # The window ends; the events are still in the window, so the release pages them.
    run_until(release_held_firings, lambda: not Firing.objects.get(pk=firing.pk).held)
    for key in keys:
        [trigger] = wait_for(lambda key=key: sandbox_events(pagerduty, key, "trigger"), timeout=30)
        assert trigger["body"]["payload"]["custom_details"]["matching_events_in_window"] == 2


def test_ending_a_mute_now_pages_the_open_firing_at_once(
    celery_worker, send, alert, pagerduty, admin_client, org
):
    window = mute(alert, seconds=3600)
    send([{**ERROR, "timestamp": ago(1)}] * 2)
    firing = Firing.objects.get(alert=alert)
    assert firing.held
    response = admin_client.post(f"/o/{org.slug}/alerts/mutes/{window.pk}/end/")
    assert response.status_code == 302
    for service in alert.targets.all():
        key = firing.dedup_key(service.pk)
        wait_for(lambda key=key: sandbox_events(pagerduty, key, "trigger"), timeout=30)


def test_a_firing_that_clears_while_muted_sends_nothing_ever(celery_worker, send, alert, pagerduty):
    window = mute(alert, seconds=3600)
    # Stamped 55 s ago: they leave the 1-minute window 5 s from now, and the firing clears.
    send([{**ERROR, "timestamp": ago(55)}] * 2)
    firing = Firing.objects.get(alert=alert)
    assert firing.held
    run_until(evaluate_alerts, lambda: Firing.objects.get(pk=firing.pk).cleared_at is not None)
    MuteWindow.objects.filter(pk=window.pk).update(ends_at=timezone.now())
    release_held_firings.delay()
    time.sleep(3)
    assert not Delivery.objects.filter(firing=firing).exists()
    for service in alert.targets.all():
        assert pagerduty.events(dedup_key=firing.dedup_key(service.pk)) == []


def test_a_service_mute_holds_only_that_services_trigger(celery_worker, send, alert, pagerduty):
    quiet, loud = alert.targets.order_by("name")
    mute(quiet, seconds=6, reason="PagerDuty maintenance")
    send([{**ERROR, "timestamp": ago(1)}] * 2)
    firing = Firing.objects.get(alert=alert)
    assert firing.held
    wait_for(lambda: sandbox_events(pagerduty, firing.dedup_key(loud.pk), "trigger"), timeout=30)
    assert sandbox_events(pagerduty, firing.dedup_key(quiet.pk), "trigger") == []

    run_until(release_held_firings, lambda: not Firing.objects.get(pk=firing.pk).held)
    wait_for(lambda: sandbox_events(pagerduty, firing.dedup_key(quiet.pk), "trigger"), timeout=30)
    assert len(sandbox_events(pagerduty, firing.dedup_key(loud.pk), "trigger")) == 1
