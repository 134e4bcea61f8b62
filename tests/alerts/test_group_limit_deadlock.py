"""Batches counted at once in the database count store (deployments without Redis) never
wait for each other in a circle: PostgreSQL's deadlock detector would abort one, and the
ingest API would refuse its events. Three batches of one alert's values, one registering a
value between the other two's looks at it; batches matching the same alerts, their events
in other orders."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import close_old_connections

from alerts_saas.alerts import counting, counting_db
from alerts_saas.alerts.counting import CounterSet, Tally
from alerts_saas.alerts.models import Alert, GroupBy
from alerts_saas.alerts.models import SeenGroup as SeenGroupRow
from tests.at_once import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store(settings):
    settings.REDIS_URL = ""
    counting.counts.cache_clear()
    yield counting.counts()
    counting.counts.cache_clear()


def _tallies(whole: CounterSet, values: list[str]) -> dict[CounterSet, Tally]:
    now = time.time()
    return {
        whole.in_group(v): Tally(buckets={int(now // whole.size): 1}, group_limit=10, first=now)
        for v in values
    }


def test_a_value_registered_between_two_batches_looks_fails_neither(store, org, monkeypatch):
    alert = Alert.objects.create(
        organization=org, name="Per host", window_minutes=1, group_by=GroupBy.SOURCE
    )
    whole = CounterSet.of(alert)
    admit = counting_db._admit
    gates = {"a": threading.Event(), "b": threading.Event()}
    waiting = {"a": threading.Event(), "b": threading.Event()}

    def gated(new, tallies, now):
        name = threading.current_thread().name
        if name in gates:
            waiting[name].set()
            assert gates[name].wait(10)
        return admit(new, tallies, now)

    monkeypatch.setattr(counting_db, "_admit", gated)
    errors: list[BaseException] = []

    def batch(values: list[str]) -> None:
        try:
            store.add(_tallies(whole, values), [], time.time())
        except BaseException as error:  # the test reports it
            errors.append(error)
        finally:
            close_old_connections()

    # B finds web-1 new, and is held just before registering it.
    b = threading.Thread(target=batch, args=(["web-1"],), name="b")
    b.start()
    assert waiting["b"].wait(10)
    # Another batch registers web-1 meanwhile (if B's lock lets it).
    c = threading.Thread(target=batch, args=(["web-1"],), name="c")
    c.start()
    c.join(1)
    # A finds web-1 known (and updates it), web-2 new, and is held before registering that
    # (if B's lock lets it get so far).
    a = threading.Thread(target=batch, args=(["web-1", "web-2"],), name="a")
    a.start()
    waiting["a"].wait(1)
    gates["b"].set()
    time.sleep(0.5)  # B registers web-1 now
    gates["a"].set()
    for thread in (a, b, c):
        thread.join(20)
    assert errors == []
    seen = SeenGroupRow.objects.filter(alert_id=alert.pk).values_list("value", flat=True)
    assert set(seen) == {"web-1", "web-2"}


def test_batches_of_the_same_alerts_in_other_orders_all_count(store, org):
    sets = [
        CounterSet.of(Alert.objects.create(organization=org, name=f"A{i}", window_minutes=1))
        for i in range(20)
    ]

    def sender(t: int) -> None:
        order = random.Random(t)
        for _ in range(25):
            now = time.time()
            shuffled = order.sample(sets, len(sets))
            store.add({c: Tally(buckets={int(now // c.size): 1}) for c in shuffled}, [], now)

    assert run_at_once(sender, 5, 60) == []
    total = sum(store.totals(sets, time.time()).values())
    assert total == 5 * 25 * len(sets)  # every batch counted, each once
