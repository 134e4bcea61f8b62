"""/healthz and the Celery worker and beat it reports on."""

from __future__ import annotations

import pytest
from django.utils import timezone
from kombu import Connection

from alerts_saas.celery import app as celery_app
from alerts_saas.health.models import Heartbeat
from alerts_saas.health.tasks import WORKER_HEARTBEAT, heartbeat
from tests.conftest import wait_for


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["broker"] == {"ok": True, "transport": "redis"}
    assert body["worker"]["ok"] is False  # no worker has run yet


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_does_not_answer(client, monkeypatch) -> None:
    # A real connection attempt, to a port where nothing listens.
    monkeypatch.setattr(
        celery_app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0")
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db
def test_a_recent_heartbeat_means_the_worker_is_alive(client) -> None:
    heartbeat()
    worker = client.get("/healthz").json()["worker"]
    assert worker["ok"] is True
    assert worker["seconds_ago"] < 5


@pytest.mark.slow
def test_a_real_worker_runs_queued_tasks_against_the_test_database(celery_worker, client):
    assert not Heartbeat.objects.exists()
    before = timezone.now()
    heartbeat.delay()
    beat = wait_for(
        lambda: Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first(),
        message="the worker to record a heartbeat",
    )
    assert beat.beat_at >= before
    assert client.get("/healthz").json()["worker"]["ok"] is True
