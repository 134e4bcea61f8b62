"""Matching rules, the counts in a window (Redis and the database alike), and when alerts
fire and clear: the engine without HTTP, on a clock the tests set."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import OperationalError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts_saas.alerts import chart, counting, evaluation, firings
from alerts_saas.alerts.conditions import Event, compile_matcher, describe, regex_problem
from alerts_saas.alerts.counting import CounterSet, Tally
from alerts_saas.alerts.counting_db import DatabaseCounts
from alerts_saas.alerts.counting_redis import RedisCounts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, Level
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db


def event(**fields) -> Event:
    return Event(timestamp=fields.pop("timestamp", time.time()), **fields)


@pytest.mark.parametrize(
    ("rules", "matching", "other"),
    [
        ({"match_app": "checkout"}, {"app": "checkout"}, {"app": "Checkout"}),
        ({"match_source": "web-1"}, {"source": "web-1"}, {"source": "web-2"}),
        ({"match_level": Level.ERROR}, {"level": Level.CRITICAL}, {"level": Level.WARNING}),
        (
            {"match_message": "TIMEOUT"},
            {"message": "upstream timeout after 30s"},
            {"message": "time out"},
        ),
        (
            {"match_message": r"status=5\d\d", "match_message_regex": True},
            {"message": "GET / status=503"},
            {"message": "GET / status=404"},
        ),
        (
            {"match_attribute": "region", "match_attribute_value": "eu-west-1"},
            {"attributes": {"region": "eu-west-1"}},
            {"attributes": {"zone": "eu-west-1"}},
        ),
        (
            {"match_attribute": "retry", "match_attribute_value": "true"},
            {"attributes": {"retry": True}},
            {"attributes": {"retry": "True"}},
        ),
        (
            {"match_attribute": "status", "match_attribute_value": "502"},
            {"attributes": {"status": 502}},
            {"attributes": {"status": 503}},
        ),
        (
            {"match_app": "checkout", "match_level": Level.ERROR},
            {"app": "checkout", "level": Level.ERROR},
            {"app": "checkout", "level": Level.INFO},
        ),
    ],
)
def test_an_event_matches_when_it_meets_every_rule(rules, matching, other):
    alert = Alert(name="a", **rules)
    matches = compile_matcher(alert)
    assert matches(event(**matching))
    assert not matches(event(**other))
    assert describe(alert) != "every event"


def test_an_alert_without_rules_counts_every_event():
    assert compile_matcher(Alert(name="a"))(event())
    assert describe(Alert(name="a")) == "every event"


def test_regular_expressions_run_in_linear_time_and_bad_ones_are_refused_in_words():
    alert = Alert(name="a", match_message="(a+)+$", match_message_regex=True)
    started = time.perf_counter()
    assert not compile_matcher(alert)(event(message="a" * 8000 + "!"))
    assert time.perf_counter() - started < 0.5  # a backtracking engine takes ages here
    assert "not a regular expression" in regex_problem("(unclosed")
    assert "lookarounds" in regex_problem("(?=x)y")
    assert "under 500" in regex_problem("a" * 501)
    assert regex_problem(r"status=5\d\d") is None


@pytest.fixture(params=["redis", "database"])
def store(request, settings):
    """Each test runs on both stores: Redis in production, tables in the embedded mode."""
    counting.counts.cache_clear()
    if request.param == "database":
        settings.REDIS_URL = ""
    yield counting.counts()
    counting.counts.cache_clear()


def test_the_window_sums_the_last_sixty_buckets(store, org):
    alert = Alert.objects.create(organization=org, name="a", window_minutes=5)
    counter = CounterSet.of(alert)
    assert counter.size == 5  # seconds: a five-minute window in sixty buckets
    now = 1_000_000.0
    tally = Tally(
        buckets={int((now - 10) // 5): 3, int((now - 290) // 5): 2, int((now - 400) // 5): 7}
    )
    totals = store.add({counter: tally}, [counter], now)
    assert totals[counter] == 5
    assert store.totals([counter], now + 10)[counter] == 3  # the 2 left the window
    assert store.totals([counter], now + 400)[counter] == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(-30, 400),  # seconds the clock moves (mostly forward, sometimes back)
            st.lists(st.tuples(st.integers(-320, 5), st.integers(1, 9)), max_size=4),
            st.booleans(),  # read the window sum after adding
        ),
        min_size=1,
        max_size=25,
    )
)
def test_the_window_sum_is_always_the_sum_of_its_buckets(store, org, steps):
    """However the clock moves and counts arrive (late, early, in the window or not), the
    count read is the sum of the window's 60 buckets, as a reader of every bucket finds it
    (Redis keeps a running sum beside the buckets; the tables sum them each time)."""
    alert = Alert.objects.create(organization=org, name=f"a {uuid.uuid4()}", window_minutes=5)
    counter = CounterSet.of(alert)
    added: dict[int, int] = {}
    now = 2_000_000.0
    for moved, arrivals, read in steps:
        now += moved
        buckets: dict[int, int] = {}
        for offset, count in arrivals:
            bucket = int((now + offset) // counter.size)
            buckets[bucket] = buckets.get(bucket, 0) + count
            added[bucket] = added.get(bucket, 0) + count
        totals = store.add({counter: Tally(buckets=buckets)}, [counter] if read else [], now)
        if read:
            expected = sum(added.get(b, 0) for b in counter.window_buckets(now))
            assert totals[counter] == expected
    window = counter.window_buckets(now)
    assert store.totals([counter], now)[counter] == sum(added.get(b, 0) for b in window)


def test_counts_in_redis_expire_after_their_retention(org):
    """Nothing is kept forever: an alert's buckets expire a retention after their newest
    bucket started (renewed as buckets start, not per batch), and its latest events and
    window sum go with them on the beat's next sweep (test_count_script)."""
    counting.counts.cache_clear()
    store = counting.counts()
    assert isinstance(store, RedisCounts)
    alert = Alert.objects.create(organization=org, name="a", window_minutes=1)
    counter = CounterSet.of(alert)
    now = time.time()
    tally = Tally(buckets={int(now // counter.size): 1}, recent=[b'{"message": "m"}'])
    store.add({counter: tally}, [counter], now)
    store.add({counter: tally}, [counter], now)
    for key in counter.keys:
        assert 0 < store.client.ttl(key) <= counting.retention_seconds(1), key


def test_counts_belong_to_one_alert_and_one_counter_set(store, org):
    first = Alert.objects.create(organization=org, name="first")
    second = Alert.objects.create(organization=org, name="second")
    now = time.time()
    store.add({CounterSet.of(first): Tally(buckets={int(now // 5): 4})}, [], now)
    assert store.totals([CounterSet.of(second)], now)[CounterSet.of(second)] == 0
    first.restart_counting()
    assert store.totals([CounterSet.of(first)], now)[CounterSet.of(first)] == 0


def test_recent_events_are_kept_newest_first_and_bounded(store, org):
    alert = Alert.objects.create(organization=org, name="a")
    counter = CounterSet.of(alert)
    now = time.time()
    for batch in range(3):
        recent = [orjson.dumps({"message": f"{batch}-{i}"}) for i in range(6)]
        store.add({counter: Tally(buckets={int(now // 5): 6}, recent=recent)}, [], now)
    kept = store.recent(counter)
    assert len(kept) == counting.RECENT_KEPT
    assert kept[0] == {"message": "2-5"} and kept[6] == {"message": "1-5"}


def test_pruning_drops_what_no_chart_or_window_needs(store, org):
    alert = Alert.objects.create(organization=org, name="a", window_minutes=1)
    counter = CounterSet.of(alert)
    now = time.time()
    old, fresh = int((now - 2 * 3600) // 1), int(now // 1)
    store.add({counter: Tally(buckets={old: 1, fresh: 2})}, [], now)
    store.prune([counter], now)
    assert store.buckets(counter, old - 10, fresh + 10) == {fresh: 2}


def test_both_stores_are_the_real_thing(settings):
    counting.counts.cache_clear()
    assert isinstance(counting.counts(), RedisCounts)
    settings.REDIS_URL = ""
    counting.counts.cache_clear()
    assert isinstance(counting.counts(), DatabaseCounts)
    counting.counts.cache_clear()


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(ConditionKind.values),
    threshold=st.integers(1, 1000),
    total=st.integers(0, 2000),
    watched=st.integers(0, 3 * 3600),
    window=st.integers(1, 24 * 60),
    reset=st.one_of(st.none(), st.integers(0, 3 * 3600)),
)
def test_holds_reads_the_condition_as_written(kind, threshold, total, watched, window, reset):
    """Enough events decide at once (a presence alert holds, an absence alert does not).
    Too few decide only once a whole window has been counted, both since the alert's
    counting started and since the count store did (`reset` seconds ago, if it lost its
    counts); a presence alert counted since before a reset is unknown until then."""
    now = float(int(time.time()))  # whole seconds: the boundaries compare exactly
    alert = Alert(
        kind=kind,
        threshold=threshold,
        window_minutes=window,
        counting_since=datetime.fromtimestamp(now - watched, UTC),
    )
    since = 0.0 if reset is None else now - reset
    verdict = evaluation.holds(alert, total, now, since)
    presence = kind == ConditionKind.PRESENCE
    counted = min(watched, watched if reset is None else reset)
    store_reset_while_counting = reset is not None and reset < watched
    if total >= threshold:
        assert verdict is presence
    elif counted < window * 60 and (not presence or store_reset_while_counting):
        assert verdict is None
    else:
        assert verdict is (not presence)


def test_crossing_the_threshold_opens_one_firing_with_a_trigger_per_target(org, make_service):
    checkout, search = make_service("Checkout API 001"), make_service("Checkout API 002")
    alert = Alert.objects.create(
        organization=org, name="Errors", threshold=3, match_level=Level.ERROR
    )
    alert.targets.set([checkout, search])
    errors = [event(level=Level.ERROR, message=f"e{i}") for i in range(2)]
    assert evaluation.record(org.pk, errors) == []
    [firing] = evaluation.record(org.pk, errors)
    assert evaluation.record(org.pk, errors) == []  # already open: no second firing
    assert firing.count_at_open == 4
    triggers = Delivery.objects.filter(firing=firing)
    assert {d.dedup_key for d in triggers} == {
        firing.dedup_key(checkout.pk),
        firing.dedup_key(search.pk),
    }
    assert all(d.event_action == EventAction.TRIGGER and d.alert == alert for d in triggers)


def test_another_organizations_events_never_count(org, make_org):
    theirs = make_org("Globex")
    alert = Alert.objects.create(organization=theirs, name="Everything", threshold=1)
    evaluation.record(org.pk, [event()] * 5)
    assert not Firing.objects.filter(alert=alert).exists()
    assert counting.counts().totals([CounterSet.of(alert)], time.time())[CounterSet.of(alert)] == 0


def test_the_beat_clears_a_firing_once_the_window_is_quiet(org, make_service):
    service = make_service()
    alert = Alert.objects.create(organization=org, name="Errors", threshold=1, window_minutes=1)
    alert.targets.add(service)
    now = time.time()
    [firing] = evaluation.record(org.pk, [event(timestamp=now)], now=now)
    assert evaluation.evaluate(now=now + 5) == {
        "evaluated": 1,
        "opened": 0,
        "cleared": 0,
        "failed": 0,
    }
    assert evaluation.evaluate(now=now + 61) == {
        "evaluated": 1,
        "opened": 0,
        "cleared": 1,
        "failed": 0,
    }
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.CLEARED
    trigger, resolve = Delivery.objects.filter(firing=firing).order_by("pk")
    assert resolve.event_action == EventAction.RESOLVE
    assert resolve.dedup_key == trigger.dedup_key


def test_an_absence_alert_waits_a_whole_window_before_it_can_fire(org, make_service):
    alert = Alert.objects.create(
        organization=org,
        name="Heartbeat",
        threshold=1,
        kind=ConditionKind.ABSENCE,
        window_minutes=10,
    )
    alert.targets.add(make_service())
    start = alert.counting_since.timestamp()
    assert evaluation.evaluate(now=start + 9 * 60)["opened"] == 0
    assert evaluation.evaluate(now=start + 10 * 60 + 1)["opened"] == 1
    evaluation.record(org.pk, [event(timestamp=start + 10 * 60 + 5)], now=start + 10 * 60 + 5)
    assert evaluation.evaluate(now=start + 10 * 60 + 10)["cleared"] == 1


def test_a_disabled_alert_is_cleared_by_the_beat_too(org, make_service):
    alert = Alert.objects.create(organization=org, name="Errors", threshold=1)
    alert.targets.add(make_service())
    [firing] = evaluation.record(org.pk, [event()])
    Alert.objects.filter(pk=alert.pk).update(enabled=False)
    assert evaluation.evaluate()["cleared"] == 1
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.DISABLED


def test_a_firing_never_opens_from_a_stale_read_of_the_alert(org, make_service):
    """A beat or a batch that read the alert before it was disabled or its condition
    changed must not page for it: its count is about something that no longer exists."""
    alert = Alert.objects.create(organization=org, name="Errors", threshold=1)
    alert.targets.add(make_service())
    moment = datetime.now(UTC)
    stale = Alert.objects.get(pk=alert.pk)
    Alert.objects.filter(pk=alert.pk).update(enabled=False)
    assert firings.open_firing(stale, 5, moment) is None
    Alert.objects.filter(pk=alert.pk).update(enabled=True, generation=stale.generation + 1)
    assert firings.open_firing(stale, 5, moment) is None
    assert not Firing.objects.exists() and not Delivery.objects.exists()
    assert firings.open_firing(Alert.objects.get(pk=alert.pk), 5, moment) is not None


def test_a_batch_counted_by_a_stale_compile_does_not_fire(org, make_service):
    alert = Alert.objects.create(organization=org, name="Errors", threshold=1)
    alert.targets.add(make_service())
    evaluation.compiled_alerts(org.pk)  # cached with the old generation
    Alert.objects.filter(pk=alert.pk).update(
        generation=alert.generation + 1, updated_at=alert.updated_at
    )
    assert evaluation.record(org.pk, [event()]) == []
    assert not Firing.objects.exists()


def test_the_beat_opens_a_presence_firing_that_could_not_open_as_events_arrived(
    org, make_service, monkeypatch
):
    alert = Alert.objects.create(organization=org, name="Errors", threshold=2)
    alert.targets.add(make_service())

    def database_busy(*args, **kwargs):
        raise OperationalError("could not obtain lock")

    with monkeypatch.context() as patch:
        patch.setattr(firings, "open_firings", database_busy)  # ingest opens in batches
        assert evaluation.record(org.pk, [event(), event()]) == []  # counted, not lost
    assert not Firing.objects.exists()
    assert evaluation.evaluate()["opened"] == 1
    firing = Firing.objects.get(alert=alert, cleared_at__isnull=True)
    assert firing.count_at_open == 2
    assert Delivery.objects.get(firing=firing).event_action == EventAction.TRIGGER


def test_one_alert_that_fails_never_holds_up_the_others(org, make_service, monkeypatch):
    service = make_service()
    broken, fine = (
        Alert.objects.create(
            organization=org, name=name, threshold=1, kind=ConditionKind.ABSENCE, window_minutes=1
        )
        for name in ("Broken", "Fine")
    )
    for alert in (broken, fine):
        alert.targets.add(service)
    real = firings.open_firings

    def fails_for_broken(alert, values, now):
        if alert.pk == broken.pk:
            raise OperationalError("server closed the connection unexpectedly")
        return real(alert, values, now)

    monkeypatch.setattr(firings, "open_firings", fails_for_broken)
    later = max(broken.counting_since, fine.counting_since).timestamp() + 61
    assert evaluation.evaluate(now=later) == {
        "evaluated": 2,
        "opened": 1,
        "cleared": 0,
        "failed": 1,
    }
    assert Firing.objects.get().alert == fine
    monkeypatch.setattr(firings, "open_firings", real)
    assert evaluation.evaluate(now=later + 10)["opened"] == 1  # retried on the next beat


def test_the_beat_reads_the_count_again_before_it_clears(org, make_service, monkeypatch):
    """A batch that arrived between the beat's read and its clear keeps the firing open."""
    alert = Alert.objects.create(organization=org, name="Errors", threshold=1, window_minutes=1)
    alert.targets.add(make_service())
    now = time.time()
    [firing] = evaluation.record(org.pk, [event(timestamp=now)], now=now)
    store = counting.counts()
    first_read = store.totals

    def read_then_batch_arrives(sets, at):
        totals = first_read(sets, at)
        monkeypatch.setattr(store, "totals", first_read)
        evaluation.record(org.pk, [event(timestamp=at)], now=at)
        return totals

    monkeypatch.setattr(store, "totals", read_then_batch_arrives)
    monkeypatch.setattr(evaluation, "counts", lambda: store)
    assert evaluation.evaluate(now=now + 61)["cleared"] == 0
    firing.refresh_from_db()
    assert firing.cleared_at is None


def test_the_chart_series_reads_like_the_evaluation(org):
    alert = Alert.objects.create(organization=org, name="Errors", threshold=2, window_minutes=1)
    Alert.objects.filter(pk=alert.pk).update(counting_since=datetime.now(UTC) - timedelta(hours=2))
    alert.refresh_from_db()
    now = time.time()
    evaluation.record(
        org.pk,
        [event(timestamp=now - 30), event(timestamp=now - 20), event(timestamp=now - 200)],
        now=now,
    )
    series = chart.window_series(alert, datetime.fromtimestamp(now, UTC))
    assert series.threshold == 2
    assert series.values[-1] == 2  # the last point is the count now
    assert max(series.values) == 2 and min(series.values) == 0
    assert series.times == sorted(series.times)
    assert series.times[-1] - series.times[0] >= 3500  # an hour's span at least


def test_clearing_resolves_every_incident_still_open_and_only_those(org, make_service):
    """An acknowledged incident is still open, and so is one whose resolve PagerDuty
    refused; a trigger PagerDuty refused opened nothing."""
    from integrations.pagerduty import delivery as engine

    acked, refused_resolve, refused_trigger = (
        make_service(f"Checkout API 00{n}") for n in (1, 2, 3)
    )
    alert = Alert.objects.create(organization=org, name="Errors", threshold=1)
    alert.targets.set([acked, refused_resolve, refused_trigger])
    [firing] = evaluation.record(org.pk, [event()])
    triggers = {d.service_id: d for d in firing.deliveries.all()}
    engine.queue([engine.follow_up(triggers[acked.pk], EventAction.ACKNOWLEDGE)])
    [failed] = engine.queue([engine.follow_up(triggers[refused_resolve.pk], EventAction.RESOLVE)])
    Delivery.objects.filter(pk=failed.pk).update(status=Delivery.Status.FAILED)
    Delivery.objects.filter(pk=triggers[refused_trigger.pk].pk).update(
        status=Delivery.Status.FAILED
    )
    assert firings.clear_firing(firing, Firing.ClearReason.CLEARED, datetime.now(UTC))
    resolves = firing.deliveries.filter(event_action=EventAction.RESOLVE).exclude(pk=failed.pk)
    assert sorted(d.service_id for d in resolves) == sorted([acked.pk, refused_resolve.pk])
