"""A real worker and beat on a private Redis that restarts under them, losing everything.

Redis is the broker and the rate limiter's store. It restarts (`shutdown nosave`) while the
worker holds countdown tasks: retries backing off, and deliveries queued for later. Before
alerts_saas.celery.Consumer the worker died then ("Unrecoverable error: AttributeError
... 'hostname'"). Now it reconnects, and every delivery reaches PagerDuty exactly once:
what the restart lost, the sweeper (run by beat) queues again.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import transaction
from django.utils import timezone

from alerts_saas.celery import app as celery_app
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery
from tests.conftest import REPO, WorkerProcess, wait_for, worker_env
from tests.redis_server import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_broker(private_redis: RedisServer) -> Iterator[str]:
    """This process queues its tasks on the private Redis too (the engine queues on commit)."""
    url = private_redis.url(1)
    previous = celery_app.conf.broker_url

    def use(broker_url: str) -> None:
        # Not closed: kombu keeps one pool per broker URL for the process, and the previous
        # URL's pool must still work when it is put back.
        celery_app.conf.broker_url = broker_url
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        # The control mailbox (purge, ping) caches the producer pool it first used.
        with contextlib.suppress(AttributeError):
            del celery_app.control.mailbox.producer_pool

    use(url)
    yield url
    use(previous)


@pytest.fixture
def beat(
    make_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start Celery beat (after the worker fixture, so it is stopped before the database
    is flushed)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "alerts_saas", "beat"),
                    *("--loglevel", "INFO", "--schedule", str(tmp_path / "celerybeat-schedule")),
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _triggers(service, prefix: str, n: int) -> list[Delivery]:
    return [
        engine.build_event(
            service,
            "trigger",
            f"{prefix}-{i}",
            {"summary": f"{prefix} {i}", "source": "tests", "severity": "error"},
        )
        for i in range(n)
    ]


def _statuses(ids: list[int]) -> dict[str, int]:
    rows = Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)
    counts: dict[str, int] = {}
    for status in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


def test_the_worker_survives_a_redis_restart_and_every_delivery_goes_out_once(
    private_redis, private_broker, make_worker, beat, make_service, pagerduty, tmp_path
):
    env = {
        "CELERY_BROKER_URL": private_broker,
        "REDIS_URL": private_redis.url(0),
        # Retries back off 4 to 8 s: they are countdown tasks when Redis goes.
        "DELIVERY_RETRY_BASE": "8",
        # Beat sweeps every 2 s for rows 2 s overdue: what the restart lost comes back soon.
        "DELIVERY_SWEEP_INTERVAL": "2",
        "DELIVERY_SWEEP_GRACE": "2",
        "HEARTBEAT_INTERVAL": "2",
    }
    worker = make_worker(**env)
    beat_proc = beat(tmp_path / "beat.log", {**worker_env(pagerduty.url), **env})
    service = make_service()

    # Sent at once, before the restart.
    with transaction.atomic():
        now_ids = [d.pk for d in engine.queue(_triggers(service, "now", 10))]
    wait_for(
        lambda: _statuses(now_ids) == {Delivery.Status.DELIVERED: 10},
        timeout=20,
        message="the first deliveries",
    )

    # Refused once with a 500: each waits for its retry in a countdown task.
    pagerduty.fault("events-us", "500", count=5)
    with transaction.atomic():
        retry_ids = [d.pk for d in engine.queue(_triggers(service, "retry", 5))]
    wait_for(
        lambda: len([e for e in pagerduty.events() if e["status_code"] == 500]) == 5,
        timeout=20,
        message="the five 500s",
    )
    # Queued for later, as the engine does a postponed row: a countdown task from the start.
    later = _triggers(service, "later", 5)
    for delivery in later:
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=6)
    later_ids = [d.pk for d in Delivery.objects.bulk_create(later)]
    engine.enqueue(later_ids, countdown=6)
    # Held by the worker: fetched from the queue, not acknowledged (the retries' tasks too).
    broker = redis.Redis.from_url(private_broker)
    wait_for(
        lambda: (
            _statuses(retry_ids) == {Delivery.Status.QUEUED: 5}
            and broker.llen("celery") == 0
            and broker.hlen("unacked") >= 2
        ),
        timeout=10,
        message="the worker to hold the countdown tasks",
    )

    private_redis.shutdown()
    time.sleep(2)  # the worker notices, and retries its connection
    private_redis.start()

    ids = now_ids + retry_ids + later_ids

    def all_delivered() -> bool:
        assert worker.proc is not None
        if worker.proc.poll() is not None:
            pytest.fail(f"the worker exited:\n{worker.log_path.read_text()[-3000:]}")
        return _statuses(ids) == {Delivery.Status.DELIVERED: 20}

    wait_for(all_delivered, timeout=40, interval=0.5, message="every delivery to go out")
    log = worker.log_path.read_text()
    assert "Connection to broker lost" in log  # the restart happened under it
    assert "Unrecoverable error" not in log
    assert worker.proc is not None and worker.proc.poll() is None, log[-3000:]
    assert beat_proc.poll() is None, (tmp_path / "beat.log").read_text()[-3000:]

    # Exactly once: one accepted event and one alert per dedup key, 20 keys, none lost.
    time.sleep(2)  # a late duplicate would show up by now
    accepted: dict[str, int] = {}
    for event in pagerduty.events(routing_key=service.integration_key):
        if event["status_code"] == 202:
            key = event["body"]["dedup_key"]
            accepted[key] = accepted.get(key, 0) + 1
    keys = {d.dedup_key for d in Delivery.objects.filter(pk__in=ids)}
    assert len(keys) == 20
    assert accepted == dict.fromkeys(keys, 1)
    for key in keys:
        assert len(pagerduty.alerts(dedup_key=key)) == 1
