"""The limit of values an alert that groups may have (ALERT_GROUP_LIMIT) holds for batches
counted at the same time, in the database count store (deployments without Redis): two
transactions never both take its last place."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections, transaction

from alerts_saas.alerts import counting
from alerts_saas.alerts.counting import CounterSet, Tally
from alerts_saas.alerts.models import Alert, GroupBy
from alerts_saas.alerts.models import SeenGroup as SeenGroupRow
from tests.at_once import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 5


@pytest.fixture
def store(settings):
    settings.REDIS_URL = ""
    counting.counts.cache_clear()
    yield counting.counts()
    counting.counts.cache_clear()


@pytest.fixture
def whole(org) -> CounterSet:
    alert = Alert.objects.create(
        organization=org, name="Per host", window_minutes=1, group_by=GroupBy.SOURCE
    )
    return CounterSet.of(alert)


def _add(store, whole: CounterSet, value: str) -> bool:
    """Count one event of `value`; whether it was counted (not refused at the limit)."""
    now = time.time()
    counter = whole.in_group(value)
    tally = Tally(buckets={int(now // whole.size): 1}, group_limit=LIMIT, first=now)
    return counter not in store.add({counter: tally}, [counter], now).refused


def _seen(whole: CounterSet) -> set[str]:
    return set(SeenGroupRow.objects.filter(alert_id=whole.alert_id).values_list("value", flat=True))


def test_two_batches_at_the_last_place_take_it_once(store, whole):
    """A's batch takes the last place and commits late; B's, counted meanwhile, must wait
    and then find the alert full (it found room too, before the check was atomic)."""
    for n in range(LIMIT - 1):
        assert _add(store, whole, f"web-{n}")
    admitted: dict[str, bool] = {}
    a_counted = threading.Event()

    def batch(value: str, hold: float) -> None:
        try:
            with transaction.atomic():
                admitted[value] = _add(store, whole, value)
                a_counted.set()
                time.sleep(hold)  # the batch's transaction commits after the other's check
        finally:
            close_old_connections()

    a = threading.Thread(target=batch, args=("late-a", 0.5))
    a.start()
    assert a_counted.wait(5)
    b = threading.Thread(target=batch, args=("late-b", 0))
    b.start()
    a.join(10)
    b.join(10)
    assert admitted == {"late-a": True, "late-b": False}
    assert len(_seen(whole)) == LIMIT
    # The values it knows go on counting at the limit; one more still does not.
    assert _add(store, whole, "late-a") and not _add(store, whole, "late-c")


def test_concurrent_batches_over_two_alerts_never_pass_the_limit(store, whole, org):
    """Batches of new and known values of two alerts, in different orders, at once: each
    alert fills to its limit and not one more, and no batch fails (waits in a circle)."""
    other = CounterSet.of(
        Alert.objects.create(
            organization=org, name="Per app", window_minutes=1, group_by=GroupBy.APP
        )
    )
    for alert in (whole, other):
        assert _add(store, alert, "known")

    def sender(t: int) -> None:
        for n in range(6):
            now = time.time()
            values = [(whole, f"host{t}-{n}"), (other, f"app{t}-{n}"), (whole, "known")]
            tallies = {
                alert.in_group(value): Tally(
                    buckets={int(now // alert.size): 1}, group_limit=LIMIT, first=now
                )
                for alert, value in (values if t % 2 else values[::-1])
            }
            store.add(tallies, [], now)

    assert run_at_once(sender, 4, 30) == []
    assert len(_seen(whole)) == len(_seen(other)) == LIMIT  # full, and not one more
