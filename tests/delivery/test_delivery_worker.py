"""The delivery engine with a real Celery worker and the sandbox over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import transaction

from alerts_saas.alerts.models import Alert
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery
from tests.alerts.conftest import alert_form
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _queue(service, n: int = 1, prefix: str = "evt", **payload) -> list[Delivery]:
    with transaction.atomic():
        return engine.queue(
            [
                engine.build_event(
                    service,
                    "trigger",
                    f"{prefix}-{i}",
                    {"summary": f"{prefix} {i}", "source": "tests", "severity": "error", **payload},
                )
                for i in range(n)
            ]
        )


def _final(deliveries: list[Delivery], timeout: float = 30) -> list[Delivery]:
    ids = [d.pk for d in deliveries]

    def done() -> list[Delivery] | None:
        rows = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
        return rows if all(r.is_final for r in rows) else None

    return wait_for(done, timeout=timeout, interval=0.2, message="deliveries to finish")


def test_a_test_alert_from_an_unsaved_form_is_delivered(
    celery_worker, admin_client, org, make_service, pagerduty
):
    service = make_service()
    response = admin_client.post(f"/o/{org.slug}/alerts/test/", alert_form([service.pk]))
    assert response.status_code == 200
    assert not Alert.objects.exists()
    [delivery] = _final(list(Delivery.objects.filter(event_action="trigger")))
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 1 and delivery.latency_ms is not None
    [received] = pagerduty.events(dedup_key=delivery.dedup_key)
    assert received["status_code"] == 202
    assert received["body"]["payload"]["summary"].startswith("[TEST] Checkout errors")
    page = admin_client.get(
        f"/o/{org.slug}/pagerduty/deliveries/{delivery.pk}/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "PagerDuty accepted it" in page and delivery.dedup_key in page


def test_a_400_is_kept_word_for_word_and_not_retried(celery_worker, make_service, pagerduty):
    service = make_service(key="0123456789abcdef0123456789abcdef")  # unknown to PagerDuty
    [delivery] = _final(_queue(service))
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1
    assert delivery.response_status == 400
    assert delivery.last_error == (
        "Event object is invalid; Invalid routing key: no integration with this key in this region."
    )
    time.sleep(2)  # nothing is retried later either
    assert len(pagerduty.events(routing_key=service.integration_key)) == 1


def test_three_500s_then_success(celery_worker, make_service, pagerduty):
    service = make_service()
    pagerduty.fault("events-us", "500", count=3)
    [delivery] = _final(_queue(service), timeout=40)
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 4
    statuses = [e["status_code"] for e in pagerduty.events(dedup_key="evt-0")]
    assert statuses == [500, 500, 500, 202]
    assert len(pagerduty.alerts(dedup_key="evt-0")) == 1


def test_timeouts_and_dropped_connections_are_retried(celery_worker, make_service, pagerduty):
    service = make_service()
    pagerduty.fault("events-us", "drop", count=1)
    [delivery] = _final(_queue(service), timeout=30)
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize(
    "worker_settings",
    [
        {
            "DELIVERY_RETRY_BASE": "1",
            "PAGERDUTY_EVENTS_PER_MINUTE": "10",
            "PAGERDUTY_EVENTS_WINDOW": "5",
        }
    ],
)
def test_under_429_nothing_is_lost_and_the_rate_holds(celery_worker, make_service, pagerduty):
    """Scaled down: PagerDuty's limit as 10 per 5 s on both sides, the same mechanism."""
    pagerduty.configure(events_rate_limit=10, events_rate_window=5)
    service = make_service()
    pagerduty.fault("events-us", "429", count=3)
    deliveries = _final(_queue(service, 30), timeout=60)
    assert {d.status for d in deliveries} == {Delivery.Status.DELIVERED}
    received = pagerduty.events(routing_key=service.integration_key)
    accepted = [e["received_at_epoch"] for e in received if e["status_code"] == 202]
    assert len(accepted) == 30
    assert _max_in_window(accepted, 5.0) <= 10
    # The only 429s are the three injected: the engine waited instead of being refused.
    assert [e["status_code"] for e in received].count(429) == 3


@pytest.mark.parametrize("worker_settings", [{"PAGERDUTY_EVENTS_PER_MINUTE": "120"}])
def test_the_default_limit_keeps_each_key_under_120_a_minute(
    celery_worker, make_service, pagerduty
):
    service = make_service()
    deliveries = _final(_queue(service, 130), timeout=120)
    assert {d.status for d in deliveries} == {Delivery.Status.DELIVERED}
    received = pagerduty.events(routing_key=service.integration_key)
    accepted = [e["received_at_epoch"] for e in received if e["status_code"] == 202]
    assert len(accepted) == 130
    assert _max_in_window(accepted, 60.0) <= 120
    assert all(e["status_code"] == 202 for e in received)  # never refused
    assert max(accepted) - min(accepted) >= 55  # the last 10 waited for the window


@pytest.mark.parametrize("worker_settings", [{"DELIVERY_LEASE": "3"}])
def test_a_worker_killed_mid_delivery_loses_nothing_and_pages_once(
    make_worker, make_service, pagerduty
):
    worker = make_worker()
    service = make_service()
    pagerduty.fault("events-us", "hang", count=1, seconds=4)
    [delivery] = _queue(service)
    # PagerDuty has the request (the fault was taken) and is slow to answer: kill now.
    wait_for(
        lambda: not pagerduty._control("GET", "/faults")["faults"],
        message="the worker's POST to reach PagerDuty",
    )
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SENDING
    make_worker()
    # Beat's sweeper finds the expired lease and queues the row again.
    wait_for(lambda: engine.sweep() > 0, timeout=15, interval=0.5, message="lease expiry")
    [delivery] = _final([delivery])
    assert delivery.status == Delivery.Status.DELIVERED
    # The interrupted send still reaches PagerDuty (late), and so did the retry...
    wait_for(
        lambda: len(pagerduty.events(dedup_key=delivery.dedup_key)) == 2,
        message="both sends to be received",
    )
    # ...and they open one incident, not two: the same dedup key.
    [alert] = pagerduty.alerts(dedup_key=delivery.dedup_key)
    assert [e["status_code"] for e in alert["events"]] == [202, 202]


def test_an_oversize_event_is_trimmed_and_accepted(celery_worker, make_service, pagerduty):
    """Firing alerts carry recent matching events: they can outgrow PagerDuty's limits."""
    service = make_service()
    [delivery] = _queue(
        service,
        summary="s" * 1100,
        custom_details={
            "runbook": "https://wiki.example/checkout",
            "recent_events": "x" * (700 * 1024),
        },
    )
    assert "summary cut to 1024 characters" in delivery.trim_note
    assert "custom details trimmed" in delivery.trim_note
    [delivery] = _final([delivery])
    assert delivery.status == Delivery.Status.DELIVERED
    [received] = pagerduty.events(dedup_key=delivery.dedup_key)
    assert received["status_code"] == 202
    assert 500 * 1024 < len(received["raw"].encode()) <= 512 * 1024  # trimmed, not gutted
    payload = received["body"]["payload"]
    assert len(payload["summary"]) == 1024
    assert payload["custom_details"]["runbook"] == "https://wiki.example/checkout"
    assert "shortened to fit PagerDuty's 512 KB" in payload["custom_details"]["_trimmed"]


PRODUCE = """
from django.db import transaction
from integrations.pagerduty import delivery
from integrations.pagerduty.models import PagerDutyService
service = PagerDutyService.objects.get(pk={pk})
with transaction.atomic():
    delivery.queue([
        delivery.build_event(service, "trigger", f"outage-{{i}}",
                             {{"summary": "during the outage", "source": "t", "severity": "info"}})
        for i in range(5)
    ])
print("queued")
"""


def test_the_broker_down_for_a_while_loses_nothing(make_worker, make_service, pagerduty, tmp_path):
    """Web and worker run against a broker that is down, then comes back."""
    from tests.conftest import REPO, free_port, worker_env

    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    service = make_service()
    env = {"CELERY_BROKER_URL": broker, "DELIVERY_SWEEP_INTERVAL": "1", "DELIVERY_SWEEP_GRACE": "1"}
    # The worker, with beat inside it, starts while the broker is down and keeps trying.
    make_worker(wait=False, extra_args=("-B", "--schedule", str(tmp_path / "beat")), **env)
    # A web process queues deliveries meanwhile: the rows are saved, the hand-off fails.
    produced = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRODUCE.format(pk=service.pk)],
        cwd=REPO,
        env={**worker_env(pagerduty.url), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "queued" in produced.stdout, produced.stderr
    assert "the sweeper will retry them" in produced.stderr
    assert Delivery.objects.filter(status=Delivery.Status.QUEUED).count() == 5
    time.sleep(2)
    assert not pagerduty.events(routing_key=service.integration_key)
    # The broker comes back: the sweeper hands the rows over and the worker sends them all.
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deliveries = _final(list(Delivery.objects.all()), timeout=60)
    finally:
        redis.terminate()
        redis.wait()
    assert {d.status for d in deliveries} == {Delivery.Status.DELIVERED}
    received = pagerduty.events(routing_key=service.integration_key)
    assert sorted(e["dedup_key"] for e in received) == [f"outage-{i}" for i in range(5)]
