"""The delivery engine at scale: one claim and one settle per chunk, one rate-limit round
trip per key, concurrent sends, triggers first, and a dead worker's delivery out in time.

Real PostgreSQL, Redis and the sandbox over HTTP; the last tests run real workers.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction
from integrations.pagerduty.ratelimit import RedisWindow
from tests.conftest import wait_for

TRIGGER = {"summary": "disk full", "source": "db-1", "severity": "critical"}


def _queue(rows: list[Delivery]) -> list[Delivery]:
    with transaction.atomic():
        return engine.queue(rows)


def _triggers(services: list, prefix: str) -> list[Delivery]:
    return _queue(
        [
            engine.build_event(service, EventAction.TRIGGER, f"{prefix}-{i}", TRIGGER)
            for i, service in enumerate(services)
        ]
    )


@pytest.mark.django_db
def test_a_chunk_costs_the_same_queries_whatever_its_size(make_service, pagerduty):
    """Claim and settle are one statement each: 40 rows cost what 4 do, whether they were
    delivered or are to be retried (PagerDuty answers 500 to half of them)."""
    counts = []
    for size in (4, 40):
        services = [make_service() for _ in range(size)]
        rows = _triggers(services, f"size{size}")
        pagerduty.fault("events-us", "500", count=size // 2)
        with CaptureQueriesContext(connection) as queries:
            statuses = engine.attempt_many([d.pk for d in rows])
        assert len(statuses) == size
        assert list(statuses.values()).count(Delivery.Status.DELIVERED) == size // 2
        assert list(statuses.values()).count(Delivery.Status.QUEUED) == size // 2
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts
    retried = Delivery.objects.filter(status=Delivery.Status.QUEUED)
    assert retried.count() == 22
    assert all(d.attempts == 1 and d.response_status == 500 and d.last_error for d in retried)
    delivered = Delivery.objects.filter(status=Delivery.Status.DELIVERED)
    assert delivered.count() == 22
    assert not delivered.filter(delivered_at__isnull=True).exists()
    assert set(delivered.values_list("response_status", flat=True)) == {202}
    assert all(d.latency_ms is not None for d in delivered)


@pytest.mark.django_db
def test_a_chunks_events_go_out_concurrently(make_service, pagerduty):
    """Eight sends that PagerDuty takes a second each to answer take about a second, not 8."""
    services = [make_service() for _ in range(8)]
    rows = _triggers(services, "slow")
    pagerduty.fault("events-us", "hang", count=8, seconds=1)
    started = time.monotonic()
    statuses = engine.attempt_many([d.pk for d in rows])
    elapsed = time.monotonic() - started
    assert set(statuses.values()) == {Delivery.Status.DELIVERED}
    assert elapsed < 4, f"{elapsed:.1f} s: the sends did not overlap"
    assert len(pagerduty.events(kind="alert")) == 8


@pytest.mark.django_db
def test_triggers_take_a_keys_budget_before_resolve_retries(make_service, pagerduty, settings):
    """Two slots left for a key, three resolves that wait on retries and two new triggers:
    the triggers are sent, the resolves wait for the window."""
    settings.PAGERDUTY_EVENTS_PER_MINUTE = 2
    service = make_service()
    resolves = _queue(
        [engine.build_event(service, EventAction.RESOLVE, f"old-{i}", None) for i in range(3)]
    )
    triggers = _triggers([service, service], "new")
    statuses = engine.attempt_many([d.pk for d in resolves + triggers])
    assert [statuses[d.pk] for d in triggers] == [Delivery.Status.DELIVERED] * 2
    assert [statuses[d.pk] for d in resolves] == [Delivery.Status.QUEUED] * 3
    waiting = Delivery.objects.filter(pk__in=[d.pk for d in resolves])
    assert all(d.attempts == 0 and d.next_attempt_at > d.created_at for d in waiting)
    sent = [e["body"]["event_action"] for e in pagerduty.events(kind="alert")]
    assert sent == ["trigger", "trigger"]


@pytest.mark.django_db
def test_one_reservation_serves_many_keys_and_stops_at_the_limit():
    window = RedisWindow(settings.REDIS_URL)
    a, b = f"key-a-{uuid.uuid4()}", f"key-b-{uuid.uuid4()}"
    grants = window.reserve_many({a: 2, b: 5}, limit=3, window=60)
    assert grants[a].granted == 2 and grants[a].wait == 0
    assert grants[b].granted == 3 and 59 < grants[b].wait <= 60
    again = window.reserve_many({a: 2}, limit=3, window=60)
    assert again[a].granted == 1 and again[a].wait > 59
    assert window.reserve(b, limit=3, window=60) > 59


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_resolve_queued_with_its_trigger_follows_it_at_once(
    celery_worker, make_service, pagerduty
):
    """No wait for the sweeper: the chunk that sent the trigger hands on its resolve."""
    service = make_service()
    with transaction.atomic():
        trigger = engine.build_event(service, EventAction.TRIGGER, "pair", TRIGGER)
        resolve = engine.build_event(service, EventAction.RESOLVE, "pair", None)
        engine.queue([trigger, resolve])
    started = time.monotonic()
    wait_for(
        lambda: Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 2,
        timeout=10,
        interval=0.1,
        message="trigger and resolve delivered",
    )
    assert time.monotonic() - started < 5
    actions = [e["body"]["event_action"] for e in pagerduty.events(dedup_key="pair")]
    assert actions == ["trigger", "resolve"]
    [alert] = pagerduty.alerts(dedup_key="pair")
    assert alert["status"] == "resolved"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_delivery_whose_worker_died_goes_out_within_45_seconds(
    make_worker, make_service, pagerduty, tmp_path
):
    """Default lease and sweeper: the worker is killed mid-send, beat's sweeper and a new
    worker send it again within 45 s, and PagerDuty has one incident."""
    beat = ("-B", "--schedule", str(tmp_path / "beat"))
    worker = make_worker(extra_args=beat)
    service = make_service()
    pagerduty.fault("events-us", "hang", count=1, seconds=90)
    [delivery] = _triggers([service], "killed")
    wait_for(
        lambda: not pagerduty._control("GET", "/faults")["faults"],
        message="the worker's POST to reach PagerDuty",
    )
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()
    killed = time.monotonic()
    make_worker(extra_args=beat)
    wait_for(
        lambda: Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.DELIVERED,
        timeout=60,
        interval=0.5,
        message="the delivery to go out again",
    )
    assert time.monotonic() - killed <= 45
    [alert] = pagerduty.alerts(dedup_key=delivery.dedup_key)
    assert alert["status"] == "triggered"
