"""/healthz and the Celery worker and beat it reports on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu import Connection

from alerts_saas.celery import app as celery_app
from alerts_saas.health.models import Heartbeat
from alerts_saas.health.tasks import WORKER_HEARTBEAT, heartbeat
from tests.conftest import wait_for


@pytest.mark.django_db
def test_healthz_is_ok_when_the_database_the_broker_and_a_worker_answer(client) -> None:
    heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["broker"] == {"ok": True, "transport": "redis"}
    assert body["worker"]["ok"] is True
    assert body["problems"] == []


@pytest.mark.django_db
def test_healthz_is_503_until_a_worker_has_run_a_heartbeat(client, settings) -> None:
    settings.HEARTBEAT_INTERVAL = 15
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is True and body["broker"]["ok"] is True
    assert body["worker"]["ok"] is False and body["worker"]["last_heartbeat"] is None
    assert body["problems"] == [
        "no worker heartbeat yet: beat schedules one every 15 s and a worker must run it"
    ]


@pytest.mark.django_db
def test_healthz_is_503_when_the_heartbeat_is_older_than_three_intervals(client, settings) -> None:
    settings.HEARTBEAT_INTERVAL = 10
    Heartbeat.objects.create(name=WORKER_HEARTBEAT, beat_at=timezone.now() - timedelta(seconds=25))
    assert client.get("/healthz").status_code == 200  # late, but within 3 intervals

    Heartbeat.objects.filter(name=WORKER_HEARTBEAT).update(
        beat_at=timezone.now() - timedelta(seconds=31)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["worker"]["ok"] is False
    assert body["worker"]["seconds_ago"] >= 31
    [problem] = body["problems"]
    assert problem.startswith("no worker heartbeat for 31 s (expected every 10 s")
    assert body["worker"]["problem"] == problem


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_does_not_answer(client, monkeypatch) -> None:
    heartbeat()
    # A real connection attempt, to a port where nothing listens.
    monkeypatch.setattr(
        celery_app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0")
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"]["ok"] is False
    assert body["status"] == "unavailable"
    assert body["worker"]["ok"] is True  # only the broker failed
    [problem] = body["problems"]
    assert problem.startswith("the broker (redis) does not answer")


@pytest.mark.django_db
def test_a_recent_heartbeat_means_the_worker_is_alive(client) -> None:
    heartbeat()
    worker = client.get("/healthz").json()["worker"]
    assert worker["ok"] is True
    assert worker["seconds_ago"] < 5


@pytest.mark.slow
def test_a_real_worker_runs_queued_tasks_against_the_test_database(celery_worker, client):
    assert not Heartbeat.objects.exists()
    assert client.get("/healthz").status_code == 503  # no heartbeat yet
    before = timezone.now()
    heartbeat.delay()
    beat = wait_for(
        lambda: Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first(),
        message="the worker to record a heartbeat",
    )
    assert beat.beat_at >= before
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["worker"]["ok"] is True
