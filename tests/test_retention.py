"""History retention: old final deliveries and old cleared firings are pruned by beat, in
small capped batches, for every organization alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.retention import prune_firings
from integrations.pagerduty.models import Delivery, EventAction
from integrations.pagerduty.retention import prune_deliveries
from integrations.pagerduty.task_names import PRUNE_DELIVERIES, task
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
_seq = count()


def _alert(org: Organization, name: str = "Checkout errors") -> Alert:
    return Alert.objects.create(organization=org, name=name, threshold=3, window_minutes=5)


def _firing(alert: Alert, opened: datetime, cleared: datetime | None, **fields: object) -> Firing:
    return Firing.objects.create(
        organization=alert.organization,
        alert=alert,
        opened_at=opened,
        cleared_at=cleared,
        clear_reason=Firing.ClearReason.CLEARED if cleared else "",
        count_at_open=3,
        **fields,
    )


def _delivery(
    org: Organization, created: datetime, status: str = Delivery.Status.DELIVERED, **fields: object
) -> Delivery:
    return Delivery.objects.create(
        organization=org,
        service_name="Checkout API",
        region="us",
        routing_key="R" * 32,
        event_action=EventAction.TRIGGER,
        dedup_key=f"tripwire-test-{next(_seq)}",
        body={"payload": {"summary": "test"}},
        status=status,
        created_at=created,
        **fields,
    )


def _ids(model: type[Delivery] | type[Firing]) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


@pytest.fixture
def other_org(make_org) -> Organization:
    return make_org("Other Co")


def test_retention_defaults_to_90_days() -> None:
    assert settings.DELIVERY_RETENTION_DAYS == 90


def test_pruning_removes_exactly_old_final_history_of_every_org(org, other_org, settings):
    settings.DELIVERY_RETENTION_DAYS = 30
    now = timezone.now()
    old, recent = now - 31 * DAY, now - 29 * DAY
    keep_deliveries, gone_deliveries = set(), set()
    keep_firings, gone_firings = set(), set()
    for o in (org, other_org):
        for status in (Delivery.Status.DELIVERED, Delivery.Status.FAILED):
            gone_deliveries.add(_delivery(o, old, status).pk)
            keep_deliveries.add(_delivery(o, recent, status).pk)
        # Not final: never pruned, however old.
        for status in (Delivery.Status.QUEUED, Delivery.Status.SENDING):
            keep_deliveries.add(_delivery(o, now - 400 * DAY, status).pk)
        alert, still_firing = _alert(o), _alert(o, "Heartbeat missing")
        cleared_long_ago = _firing(alert, old - DAY, old)
        gone_firings.add(cleared_long_ago.pk)
        # Its trigger and resolve are old and final: they go too.
        gone_deliveries.add(_delivery(o, old - DAY, firing=cleared_long_ago, alert=alert).pk)
        gone_deliveries.add(_delivery(o, old, firing=cleared_long_ago, alert=alert).pk)
        # Opened long ago but cleared within retention: kept.
        keep_firings.add(_firing(alert, old - DAY, recent).pk)
        # Open for a year: never pruned.
        keep_firings.add(_firing(still_firing, now - 365 * DAY, None).pk)

    deliveries = prune_deliveries()
    firings = prune_firings()

    assert _ids(Delivery) == keep_deliveries
    assert _ids(Firing) == keep_firings
    assert (deliveries.deleted, deliveries.capped) == (len(gone_deliveries), False)
    assert (firings.deleted, firings.capped) == (len(gone_firings), False)
    # A second run finds nothing.
    assert prune_deliveries().deleted == 0 and prune_firings().deleted == 0


def test_deliveries_go_in_batches_and_the_cap_stops_a_run(org, other_org):
    old = timezone.now() - 100 * DAY
    for i in range(7):
        _delivery(org if i % 2 else other_org, old + i * timedelta(seconds=1))
    recent = _delivery(org, timezone.now())

    # Capped: two batches of two, the oldest first, then the run stops.
    with CaptureQueriesContext(connection) as queries:
        result = prune_deliveries(batch_size=2, max_batches=2)
    assert (result.deleted, result.batches, result.capped) == (4, 2, True)
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2
    # One statement per batch: delete the ids of the oldest n final rows, by created_at.
    assert all("IN (SELECT" in sql and "LIMIT 2" in sql for sql in deletes)
    assert all('ORDER BY U0."created_at" ASC' in sql for sql in deletes)
    assert Delivery.objects.count() == 4
    assert Delivery.objects.order_by("created_at").first().created_at == old + 4 * timedelta(
        seconds=1
    )

    # The next run carries on: two full batches and a short one end it.
    result = prune_deliveries(batch_size=2, max_batches=10)
    assert (result.deleted, result.batches, result.capped) == (3, 2, False)
    assert _ids(Delivery) == {recent.pk}


def test_the_time_cap_stops_a_run_before_any_batch(org):
    _delivery(org, timezone.now() - 100 * DAY)
    result = prune_deliveries(max_seconds=0)
    assert (result.deleted, result.batches, result.capped) == (0, 0, True)
    assert Delivery.objects.count() == 1


def test_firings_go_in_batches_and_the_cap_stops_a_run(org, other_org):
    old = timezone.now() - 100 * DAY
    for i in range(5):
        _firing(_alert(org if i % 2 else other_org, f"Alert {i}"), old - DAY, old)
    open_firing = _firing(_alert(org, "Open"), old - DAY, None)

    with CaptureQueriesContext(connection) as queries:
        result = prune_firings(batch_size=2, max_batches=2)
    assert (result.deleted, result.batches, result.capped) == (4, 2, True)
    assert len([q for q in queries if q["sql"].startswith("DELETE")]) == 2
    assert Firing.objects.count() == 2

    result = prune_firings(batch_size=2)
    assert (result.deleted, result.batches, result.capped) == (1, 1, False)
    assert _ids(Firing) == {open_firing.pk}


def test_a_pruned_firing_leaves_a_delivery_still_pointing_at_it_unlinked(org):
    old = timezone.now() - 100 * DAY
    alert = _alert(org)
    firing = _firing(alert, old - DAY, old)
    # A resolve that never went out (queued) is kept; it just loses its firing.
    stuck = _delivery(org, old, Delivery.Status.QUEUED, firing=firing, alert=alert)

    assert prune_deliveries().deleted == 0
    assert prune_firings().deleted == 1

    stuck.refresh_from_db()
    assert stuck.firing_id is None and stuck.alert_id == alert.pk
    assert not Firing.objects.exists()


def test_beat_prunes_deliveries_and_firings_every_ten_minutes(settings):
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for name in (PRUNE_DELIVERIES, "alerts_saas.alerts.tasks.prune_firings"):
        assert schedule[name]["schedule"] == timedelta(minutes=10)
        # A run still queued when the next is due is dropped.
        assert schedule[name]["options"]["expires"] == 600


# --- Through a real worker ----------------------------------------------------------------


@pytest.fixture
def worker_sandbox_url() -> None:
    """Pruning never talks to PagerDuty: no sandbox for this worker."""
    return None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_prune_tasks_run_on_a_real_worker(celery_worker, org):
    old = timezone.now() - 100 * DAY
    alert = _alert(org)
    firing = _firing(alert, old - DAY, old)
    _delivery(org, old, firing=firing, alert=alert)
    kept = _delivery(org, timezone.now())
    open_firing = _firing(_alert(org, "Open"), old, None)

    task(PRUNE_DELIVERIES).delay()
    wait_for(
        lambda: _ids(Delivery) == {kept.pk}, timeout=30, message="the worker to prune deliveries"
    )
    task("alerts_saas.alerts.tasks.prune_firings").delay()
    wait_for(
        lambda: _ids(Firing) == {open_firing.pk}, timeout=30, message="the worker to prune firings"
    )
    assert "prune_deliveries" in celery_worker.log_path.read_text()
