"""The beat decides all of an alert's hosts together: when many hosts of a per-host
heartbeat alert go quiet at once (a network partition), it opens all their firings and
pages each, and when they report again it clears them all, for the queries of a few
hosts."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import counting, evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, GroupBy
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db

FEW, MANY = 3, 30


def _heartbeats(org, service, hosts: int, start: float) -> Alert:
    """A per-host absence alert (a heartbeat a minute) whose `hosts` hosts beat at `start`."""
    alert = Alert.objects.create(
        organization=org,
        name=f"Heartbeat ({hosts})",
        match_app=f"agent-{hosts}",
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=1,
        group_by=GroupBy.SOURCE,
    )
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now() - timedelta(hours=1))
    alert.targets.add(service)
    _beat(org, alert, hosts, start)
    return alert


def _beat(org, alert: Alert, hosts: int, at: float) -> None:
    events = [Event(timestamp=at, app=alert.match_app, source=f"h-{i}") for i in range(hosts)]
    evaluation.record(org.pk, events, now=at)


def _queries(now: float) -> tuple[dict[str, int], int]:
    with CaptureQueriesContext(connection) as captured:
        result = evaluation.evaluate(now=now)
    return result, len(captured)


def _storm(org, service, hosts: int) -> tuple[int, int]:
    """The beat's queries when `hosts` hosts go quiet at once, and when they come back;
    what each did checked on the way."""
    start = time.time() - 300
    alert = _heartbeats(org, service, hosts, start)
    evaluation.evaluate(now=start + 1)  # nothing to decide yet
    opened, quiet = _queries(start + 65)  # a minute without a beat
    assert (opened["opened"], opened["failed"]) == (hosts, 0)
    firing = Firing.objects.filter(alert=alert, cleared_at__isnull=True)
    assert sorted(firing.values_list("group", flat=True)) == sorted(f"h-{i}" for i in range(hosts))
    assert Delivery.objects.filter(alert=alert, event_action=EventAction.TRIGGER).count() == hosts

    _beat(org, alert, hosts, start + 70)
    cleared, back = _queries(start + 75)
    assert (cleared["cleared"], cleared["failed"]) == (hosts, 0)
    assert not Firing.objects.filter(alert=alert, cleared_at__isnull=True).exists()
    assert Delivery.objects.filter(alert=alert, event_action=EventAction.RESOLVE).count() == hosts
    alert.delete()  # out of the next storm's beats
    return quiet, back


def test_many_hosts_going_quiet_and_coming_back_cost_the_beat_what_a_few_do(org, make_service):
    service = make_service()
    few, many = _storm(org, service, FEW), _storm(org, service, MANY)
    assert many == few, {FEW: few, MANY: many}


def test_a_host_counted_between_the_beats_read_and_its_clear_stays_firing(org, make_service):
    """The beat reads the counts again for the hosts it is about to clear: a batch counted
    meanwhile keeps its host's firing open, while the other host clears."""
    alert = Alert.objects.create(
        organization=org,
        name="Errors per host",
        match_app="shop",
        threshold=1,
        window_minutes=1,
        group_by=GroupBy.SOURCE,
    )
    alert.targets.add(make_service())
    now = time.time()
    events = [Event(timestamp=now, app="shop", source=host) for host in ("web-a", "web-b")]
    assert len(evaluation.record(org.pk, events, now=now)) == 2
    store = counting.counts()
    first_read = store.totals

    def read_then_web_a_reports(sets, at):
        totals = first_read(sets, at)
        store.totals = first_read  # type: ignore[method-assign]
        evaluation.record(org.pk, [Event(timestamp=at, app="shop", source="web-a")], now=at)
        return totals

    store.totals = read_then_web_a_reports  # type: ignore[method-assign]
    try:
        assert evaluation.evaluate(now=now + 61)["cleared"] == 1
    finally:
        store.totals = first_read  # type: ignore[method-assign]
    still = Firing.objects.filter(alert=alert, cleared_at__isnull=True)
    assert list(still.values_list("group", flat=True)) == ["web-a"]
    resolved = Delivery.objects.filter(alert=alert, event_action=EventAction.RESOLVE)
    assert [d.firing.group for d in resolved] == ["web-b"]
