"""Test incidents resolve themselves, end to end: a real Celery worker, the sandbox over HTTP.

The test's own process queues the test events (as the web process does), with the
automatic resolve a few seconds away instead of 10 minutes; the worker sends what is due.
Beat does not run here, so nothing but the countdown task (or the test calling the sweeper)
hands the resolve over.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.pagerduty import autoresolve
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, Reason
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

UNKNOWN_KEY = "0123456789abcdef0123456789abcdef"  # PagerDuty refuses it: 400


def _send_test(client, org, service) -> tuple[Delivery, Delivery | None]:
    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/test/"
    assert client.post(url, {"confirm": "1"}, HTTP_HX_REQUEST="true").status_code == 200
    trigger = Delivery.objects.get(event_action="trigger")
    return trigger, Delivery.objects.filter(event_action="resolve").first()


def _panel(client, org, delivery: Delivery) -> str:
    url = f"/o/{org.slug}/pagerduty/deliveries/{delivery.pk}/"
    return client.get(url, HTTP_HX_REQUEST="true").content.decode()


def _status(delivery: Delivery, *statuses: str, timeout: float = 20) -> Delivery:
    def reached() -> Delivery | None:
        row = Delivery.objects.filter(pk=delivery.pk).first()
        return row if row is not None and row.status in statuses else None

    return wait_for(reached, timeout=timeout, interval=0.1, message=f"{delivery} {statuses}")


def _hhmm(moment) -> str:
    """A time as the panel says it, in the person's zone (UTC here), with its day when that
    is not today (a run across midnight)."""
    return _words(str(autoresolve.clock(moment, timezone.now())))


def _words(page: str) -> str:
    """The panel's words: its times' <time> tags dropped."""
    return re.sub(r"</?time[^>]*>", "", page)


def test_a_test_incident_resolves_itself_at_its_time(
    celery_worker, admin_client, org, make_service, pagerduty, settings
):
    settings.TEST_INCIDENT_AUTO_RESOLVE = timedelta(seconds=4)
    service = make_service()
    trigger, resolve = _send_test(admin_client, org, service)
    assert resolve is not None and resolve.reason == Reason.TEST_EXPIRED
    due = resolve.next_attempt_at
    trigger = _status(trigger, Delivery.Status.DELIVERED)
    assert pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"] == "triggered"
    page = _panel(admin_client, org, trigger)
    assert (
        f"The test incident resolves itself at {_hhmm(due)} (in less than a minute)."
    ) in _words(page)
    assert "Resolve test incident" in page

    resolve = _status(resolve, Delivery.Status.DELIVERED)
    events = pagerduty.events(dedup_key=trigger.dedup_key)
    assert [(e["event_action"], e["status_code"]) for e in events] == [
        ("trigger", 202),
        ("resolve", 202),
    ]
    # Sent at its time by its countdown task: not before, and well before the sweeper's
    # grace would have let it go.
    sent = events[1]["received_at_epoch"]
    assert due.timestamp() - 0.05 <= sent < due.timestamp() + 3
    assert pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"] == "resolved"
    page = _panel(admin_client, org, trigger)
    assert f"The test incident was resolved automatically at {_hhmm(resolve.delivered_at)}." in (
        _words(page)
    )
    assert "Resolve test incident" not in page and "hx-trigger" not in page


def test_the_sweeper_sends_a_due_resolve_whose_task_was_lost(
    celery_worker, admin_client, org, make_service, pagerduty, settings, monkeypatch
):
    settings.TEST_INCIDENT_AUTO_RESOLVE = timedelta(seconds=2)
    settings.DELIVERY_SWEEP_GRACE = timedelta(seconds=1)
    # The broker loses every task with a countdown: the automatic resolve's.
    real = engine.enqueue
    monkeypatch.setattr(
        engine, "enqueue", lambda ids, countdown=0: None if countdown else real(ids)
    )
    trigger, resolve = _send_test(admin_client, org, make_service())
    _status(trigger, Delivery.Status.DELIVERED)
    # Not due yet: the sweeper leaves it alone, and no task will come for it.
    assert engine.sweep() == 0
    time.sleep(max(0.0, (resolve.next_attempt_at - timezone.now()).total_seconds()) + 0.5)
    assert Delivery.objects.get(pk=resolve.pk).status == Delivery.Status.QUEUED
    # Due for longer than the grace: beat's sweeper (called here) hands it to the worker.
    wait_for(lambda: engine.sweep() > 0, timeout=10, interval=0.5, message="the sweep")
    resolve = _status(resolve, Delivery.Status.DELIVERED)
    assert pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"] == "resolved"
    assert [e["event_action"] for e in pagerduty.events(dedup_key=trigger.dedup_key)] == [
        "trigger",
        "resolve",
    ]


def test_resolving_by_hand_first_sends_one_resolve(
    celery_worker, admin_client, org, make_service, pagerduty, settings
):
    settings.TEST_INCIDENT_AUTO_RESOLVE = timedelta(seconds=5)
    trigger, resolve = _send_test(admin_client, org, make_service())
    due = resolve.next_attempt_at
    _status(trigger, Delivery.Status.DELIVERED)
    response = admin_client.post(
        f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/resolve/", HTTP_HX_REQUEST="true"
    )
    assert "Test resolve to Checkout API 001" in response.content.decode()
    resolve = _status(resolve, Delivery.Status.DELIVERED)
    assert resolve.reason == Reason.BY_HAND
    assert resolve.delivered_at < due  # now, not at the scheduled time
    # The scheduled time passes (its countdown task runs and finds nothing to send).
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()) + 2)
    assert [e["event_action"] for e in pagerduty.events(dedup_key=trigger.dedup_key)] == [
        "trigger",
        "resolve",
    ]
    assert Delivery.objects.filter(event_action="resolve").count() == 1
    assert pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"] == "resolved"
    page = _panel(admin_client, org, trigger)
    assert "automatically" not in page and "itself" not in page


def test_a_trigger_refused_for_good_sends_no_resolve(
    celery_worker, admin_client, org, make_service, pagerduty, settings
):
    settings.TEST_INCIDENT_AUTO_RESOLVE = timedelta(seconds=2)
    service = make_service(key=UNKNOWN_KEY)
    trigger, resolve = _send_test(admin_client, org, service)
    due = resolve.next_attempt_at
    trigger = _status(trigger, Delivery.Status.FAILED)
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()) + 2)
    # Only the trigger went out (and was refused); no resolve was sent, none is left.
    assert [(e["event_action"], e["status_code"]) for e in pagerduty.events()] == [("trigger", 400)]
    assert list(Delivery.objects.values_list("event_action", "status")) == [
        ("trigger", Delivery.Status.FAILED)
    ]
    page = _panel(admin_client, org, trigger)
    assert "PagerDuty did not take it" in page
    for words in ("itself", "automatically", "Resolve test incident"):
        assert words not in page
