"""Counts that know they were lost: the count store (Redis, nothing on disk) restarts empty,
and no alert pages or resolves because of it.

Each test counts on a redis-server of its own and restarts it for real (`shutdown nosave`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from django.db import transaction

from alerts_saas.alerts import counting, counting_redis, evaluation, resolving
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, GroupBy
from integrations.pagerduty.models import Delivery, EventAction
from tests.redis_server import RedisServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(tmp_path: Path, settings: object) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    settings.REDIS_URL = server.url(0)  # type: ignore[attr-defined]
    counting.counts.cache_clear()
    redis.Redis.from_url(server.url(0)).set(counting_redis.EPOCH_KEY, "0")  # counting all along
    yield server
    counting.counts.cache_clear()
    server.stop()


def _heartbeat_alert(org, service) -> Alert:
    """ "Edge heartbeat missing": fewer than 1 event in 1 minute, armed long ago."""
    alert = Alert.objects.create(
        organization=org,
        name="Edge heartbeat missing",
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=1,
        match_source="edge-1",
    )
    alert.targets.add(service)
    Alert.objects.filter(pk=alert.pk).update(counting_since=datetime.now(UTC) - timedelta(hours=1))
    return Alert.objects.get(pk=alert.pk)


def _beat(org, seconds_ago: list[float]) -> None:
    now = time.time()
    evaluation.record(org.pk, [Event(timestamp=now - s, source="edge-1") for s in seconds_ago])


def _pages(action: str) -> int:
    return Delivery.objects.filter(event_action=action).count()


def test_a_restart_does_not_page_a_heartbeat_that_is_still_beating(org, make_service, store):
    """The issue's reproduction: heartbeats every few seconds, Redis restarts empty."""
    alert = _heartbeat_alert(org, make_service())
    _beat(org, [50, 30, 10])
    assert evaluation.evaluate()["opened"] == 0
    store.restart_empty()
    assert evaluation.evaluate()["opened"] == 0  # the store is empty, not the heartbeat
    _beat(org, [0])
    assert evaluation.evaluate(now=time.time() + 30)["opened"] == 0
    assert not Firing.objects.filter(alert=alert).exists()
    assert _pages(EventAction.TRIGGER) == 0


def test_after_a_restart_silence_pages_once_a_whole_window_is_counted(org, make_service, store):
    alert = _heartbeat_alert(org, make_service())
    store.restart_empty()
    assert evaluation.evaluate()["opened"] == 0  # the store started counting now
    assert evaluation.evaluate(now=time.time() + 61)["opened"] == 1  # a silent window
    assert Firing.objects.get(alert=alert).cleared_at is None


def test_a_restart_leaves_an_open_absence_firing_open_until_events_say_otherwise(
    org, make_service, store
):
    alert = _heartbeat_alert(org, make_service())
    assert evaluation.evaluate()["opened"] == 1  # no heartbeat for an hour: it fires
    store.restart_empty()
    assert evaluation.evaluate()["cleared"] == 0  # an empty store says nothing
    assert _pages(EventAction.RESOLVE) == 0
    _beat(org, [0])  # a heartbeat: enough events decide at once
    assert evaluation.evaluate()["cleared"] == 1
    assert Firing.objects.get(alert=alert).clear_reason == Firing.ClearReason.CLEARED


def test_a_restart_does_not_resolve_a_presence_alert(org, make_service, store):
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=3)
    alert.targets.add(make_service())
    Alert.objects.filter(pk=alert.pk).update(counting_since=datetime.now(UTC) - timedelta(hours=1))
    now = time.time()
    [firing] = evaluation.record(org.pk, [Event(timestamp=now - 1) for _ in range(3)])
    store.restart_empty()
    assert evaluation.evaluate()["cleared"] == 0
    assert evaluation.evaluate(now=time.time() + 4 * 60)["cleared"] == 0  # window: 5 min
    firing.refresh_from_db()
    assert firing.cleared_at is None and _pages(EventAction.RESOLVE) == 0
    # A whole window of fresh counting below the threshold: now it is known to be over.
    assert evaluation.evaluate(now=time.time() + 5 * 60 + 2)["cleared"] == 1


def test_the_alert_page_says_counting_restarted(org, make_service, store, admin_client):
    alert = _heartbeat_alert(org, make_service())
    store.restart_empty()
    evaluation.evaluate()
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "Counting restarted at" in page and "the count store was reset" in page
    assert "can fire from" in page


def _per_host_absence_alert(org, service) -> Alert:
    """ "Host went quiet": fewer than 1 event in 1 minute, per source, armed long ago."""
    alert = Alert.objects.create(
        organization=org,
        name="Host went quiet",
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=1,
        group_by=GroupBy.SOURCE,
    )
    alert.targets.add(service)
    Alert.objects.filter(pk=alert.pk).update(counting_since=datetime.now(UTC) - timedelta(hours=1))
    return Alert.objects.get(pk=alert.pk)


def _quiet_host_firing(org, make_service, seconds_ago: float) -> tuple[Alert, Firing, float]:
    """edge-1 beat once `seconds_ago`, then went quiet: its firing opens 65 s later."""
    alert = _per_host_absence_alert(org, make_service())
    start = time.time() - seconds_ago
    evaluation.record(org.pk, [Event(timestamp=start, source="edge-1")], now=start)
    assert evaluation.evaluate(now=start + 65)["opened"] == 1
    firing = Firing.objects.get(alert=alert, cleared_at__isnull=True)
    assert firing.group == "edge-1" and _pages(EventAction.TRIGGER) == 1
    return alert, firing, start


def test_a_quiet_host_whose_sightings_a_restart_lost_stays_firing_until_it_sends_again(
    org, make_service, store, settings
):
    """An absence alert's firing never clears by time alone: the restart lost when the
    host was last seen, not the fact that nothing was heard from it since. It clears when
    the host sends again."""
    settings.ALERT_GROUP_FORGET_WINDOWS = 3  # values not firing are forgotten after 3 minutes
    _, firing, start = _quiet_host_firing(org, make_service, seconds_ago=100)
    store.restart_empty()
    for later in (3 * 60 + 1, 30 * 60):
        assert evaluation.evaluate(now=start + 65 + later)["cleared"] == 0
    firing.refresh_from_db()
    assert firing.cleared_at is None and _pages(EventAction.RESOLVE) == 0
    now = time.time()
    evaluation.record(org.pk, [Event(timestamp=now, source="edge-1")], now=now)
    assert evaluation.evaluate(now=now + 1)["cleared"] == 1
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.CLEARED
    assert _pages(EventAction.RESOLVE) == 1


def test_a_host_taken_down_for_good_is_resolved_when_a_person_stops_watching_it(
    org, make_service, store, settings, admin_user
):
    settings.ALERT_GROUP_FORGET_WINDOWS = 3
    alert, firing, _ = _quiet_host_firing(org, make_service, seconds_ago=1000)
    store.restart_empty()
    assert evaluation.evaluate(now=time.time() + 61)["cleared"] == 0
    with transaction.atomic():
        assert resolving.stop_watching(alert, "edge-1", admin_user)
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.RESOLVED
    assert firing.cleared_by == admin_user
    assert _pages(EventAction.RESOLVE) == 1
    assert evaluation.evaluate(now=time.time() + 5 * 60)["opened"] == 0  # not watched now
    with transaction.atomic():
        assert not resolving.stop_watching(alert, "edge-1", admin_user)  # nothing left


def test_a_lost_host_that_reports_again_is_forgotten_from_its_new_sighting(
    org, make_service, store, settings
):
    settings.ALERT_GROUP_FORGET_WINDOWS = 3
    _, firing, start = _quiet_host_firing(org, make_service, seconds_ago=100)
    store.restart_empty()
    now = time.time()
    evaluation.record(firing.organization_id, [Event(timestamp=now, source="edge-1")], now=now)
    # Known again: past the lost value's forget time it is judged as any value, and it has
    # been quiet for a window since (open), not for three (forgotten).
    assert evaluation.evaluate(now=start + 65 + 3 * 60 + 1)["cleared"] == 0
    firing.refresh_from_db()
    assert firing.cleared_at is None and _pages(EventAction.RESOLVE) == 0


def test_a_lost_hosts_firing_that_waits_for_a_person_is_not_forgotten(
    org, make_service, store, settings
):
    settings.ALERT_GROUP_FORGET_WINDOWS = 3
    alert, firing, start = _quiet_host_firing(org, make_service, seconds_ago=100)
    Alert.objects.filter(pk=alert.pk).update(auto_resolve=False)
    store.restart_empty()
    evaluation.evaluate(now=start + 65 + 3 * 60 + 120)
    firing.refresh_from_db()
    assert firing.cleared_at is None and _pages(EventAction.RESOLVE) == 0
