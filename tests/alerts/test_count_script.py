"""The counting script in Redis (count_script.ADD), at its edges: the window sum kept
beside the buckets through moves, jumps and moves back; expiry renewed when a bucket
starts; levels; the ring; the group limit; what it writes, as text; a batch too large
for one unpack; and the state of counter sets whose buckets expired, swept."""

from __future__ import annotations

import random

import pytest

from alerts_saas.alerts.counters import COUNTS_PREFIX, RECENT_KEPT, CounterSet, Tally
from alerts_saas.alerts.counting import counts
from alerts_saas.alerts.counting_redis import _STATE, STATE_KEY, RedisCounts

NOW = 1_764_000_000.123456


@pytest.fixture
def store() -> RedisCounts:
    found = counts()
    assert isinstance(found, RedisCounts), "the suite counts in Redis (tests/settings.py)"
    for prefix in ("tw:alert:990*", "tw:alert:991*", f"{COUNTS_PREFIX}99*"):  # from a rerun
        stale = list(found.client.scan_iter(prefix, count=1000))
        if stale:
            found.client.delete(*stale)
    found.client.delete(STATE_KEY)
    return found


def _state(store: RedisCounts, counter: CounterSet) -> tuple[float, float, float, float]:
    """A counter set's kept state: window sum, its first and last bucket, events written."""
    packed = store.client.hget(STATE_KEY, counter.key)
    assert packed is not None, counter
    return _STATE.unpack(packed)


def _window_sum(store: RedisCounts, counter: CounterSet, now: float) -> int:
    span = counter.window_buckets(now)
    return sum(store.buckets(counter, span.start, span.stop - 1).values())


def test_the_kept_window_sum_is_the_sum_of_its_buckets_through_moves_jumps_and_back(store):
    rng = random.Random(3)
    counters = [CounterSet(990_001, 1, 1), CounterSet(990_002, 1, 5), CounterSet(990_003, 1, 60)]
    now = NOW
    for step in range(150):
        now += rng.choice([0, 0.3, 1, 1, 2, 7, 45, 61, 200, 4000, -3, -70])
        tallies = {}
        for counter in counters:
            if rng.random() < 0.2:
                continue  # read only
            last = int(now // counter.size)
            buckets: dict[int, int] = {}
            for _ in range(rng.randint(1, 4)):
                bucket = last - rng.choice([0, 0, 1, 3, 59, 60, 61, 150])
                buckets[bucket] = buckets.get(bucket, 0) + rng.randint(1, 9)
            tallies[counter] = Tally(buckets=buckets)
        totals = store.add(tallies, counters, now)
        for counter in counters:
            assert totals[counter] == _window_sum(store, counter, now), (step, counter)


def test_expiry_is_renewed_when_a_bucket_starts_not_when_one_grows(store):
    counter = CounterSet(990_010, 1, 1)
    alert = CounterSet(990_011, 1, 1)
    values = [alert.in_group(value) for value in ("web-1", "web-2")]
    bucket = int(NOW // counter.size)

    def grouped(b: int) -> dict[CounterSet, Tally]:
        return {c: Tally(buckets={b: 1}, group_limit=10, first=NOW) for c in values}

    store.add({counter: Tally(buckets={bucket: 2}), **grouped(bucket)}, [], NOW)
    client = store.client
    assert client.ttl(counter.key) == pytest.approx(counter.retention, abs=2)
    assert client.ttl(alert.groups_key) == pytest.approx(alert.group_retention, abs=2)
    assert client.ttl(alert.firsts_key) == pytest.approx(alert.group_retention, abs=2)
    for key in (counter.key, alert.groups_key, alert.firsts_key, *(c.key for c in values)):
        client.expire(key, 100)

    store.add({counter: Tally(buckets={bucket: 3}), **grouped(bucket)}, [], NOW + 0.5)
    for key in (counter.key, alert.groups_key, alert.firsts_key, *(c.key for c in values)):
        assert client.ttl(key) <= 100, key

    store.add({counter: Tally(buckets={bucket + 1: 1}), **grouped(bucket + 1)}, [], NOW + 1)
    assert client.ttl(counter.key) == pytest.approx(counter.retention, abs=2)
    for value in values:
        assert client.ttl(value.key) == pytest.approx(value.retention, abs=2)
    assert client.ttl(alert.groups_key) == pytest.approx(alert.group_retention, abs=2)
    assert client.ttl(alert.firsts_key) == pytest.approx(alert.group_retention, abs=2)


def test_the_highest_level_per_bucket_is_kept(store):
    counter = CounterSet(990_020, 1, 1)
    bucket = int(NOW // counter.size)
    store.add({counter: Tally(buckets={bucket: 1}, levels={bucket: 3})}, [], NOW)
    store.add({counter: Tally(buckets={bucket: 1}, levels={bucket: 2})}, [], NOW)
    assert store.client.hget(counter.key, f"l{bucket}") == b"3"
    store.add({counter: Tally(buckets={bucket: 1, bucket - 1: 1}, levels={bucket: 5})}, [], NOW)
    assert store.client.hget(counter.key, f"l{bucket}") == b"5"
    assert store.highest_level(counter, NOW) == 5


def test_the_ring_keeps_the_latest_events_across_its_wrap(store):
    counter = CounterSet(990_030, 1, 1)
    bucket = int(NOW // counter.size)
    sent = [f'{{"n":{n}}}'.encode() for n in range(27)]
    for start in range(0, 27, 4):
        store.add({counter: Tally(buckets={bucket: 1}, recent=sent[start : start + 4])}, [], NOW)
    assert [e["n"] for e in store.recent(counter)] == list(range(26, 26 - RECENT_KEPT, -1))
    assert _state(store, counter)[3] == 27
    assert not any(name.startswith(b"r") for name in store.client.hkeys(counter.key))


def test_a_value_past_the_limit_is_refused_and_one_seen_again_is_counted(store):
    alert = CounterSet(990_040, 1, 1)
    web = [alert.in_group(f"web-{n}") for n in range(3)]
    bucket = int(NOW // alert.size)

    def batch(counters: list[CounterSet], now: float):
        tallies = {c: Tally(buckets={bucket: 1}, group_limit=2, first=now - 1) for c in counters}
        return store.add(tallies, counters, now)

    first = batch(web, NOW)
    assert first.refused == {web[2]}
    assert [first[c] for c in web] == [1, 1, 0]
    assert not store.client.exists(web[2].key)
    # Seen again at the very same moment (its ZADD changes nothing): still counted.
    again = batch(web[:2], NOW)
    assert not again.refused and [again[c] for c in web[:2]] == [2, 2]
    later = batch(web, NOW + 0.25)
    assert later.refused == {web[2]}
    seen = store.groups([alert])[alert]
    assert sorted(s.value for s in seen) == ["web-0", "web-1"]
    assert {s.last_seen for s in seen} == {NOW + 0.25}
    assert {s.first_seen for s in seen} == {NOW - 1}


def test_what_it_writes_is_the_digits_and_the_time_as_redis_prints_it(store):
    alert = CounterSet(990_050, 1, 1)
    value = alert.in_group("db-1")
    bucket = int(NOW // alert.size)
    tally = Tally(buckets={bucket: 7, bucket - 1: 1_000_003}, group_limit=5, first=NOW)
    store.add({value: tally}, [value], NOW)
    stored = store.client.hgetall(value.key)
    assert stored[str(bucket).encode()] == b"7"
    assert stored[str(bucket - 1).encode()] == b"1000003"
    assert set(stored) == {str(bucket).encode(), str(bucket - 1).encode()}  # its buckets alone
    assert _state(store, value)[:3] == (1_000_010, bucket - 59, bucket)
    assert store.client.zscore(alert.groups_key, "db-1") == NOW  # every digit of the time
    assert store.client.zrange(alert.groups_key, 0, -1, withscores=True) == [(b"db-1", NOW)]


def test_a_batch_of_more_numbers_than_one_unpack_takes(store):
    counters = [CounterSet(991_000 + n, 1, 60) for n in range(1_200)]
    last = int(NOW // counters[0].size)
    tallies = {
        c: Tally(buckets={last: n % 5 + 1, last - 1: 1, last - 2: 2})
        for n, c in enumerate(counters)
    }
    totals = store.add(tallies, counters, NOW)  # about 12,000 numbers
    assert [totals[c] for c in counters] == [n % 5 + 1 + 3 for n in range(1_200)]
    assert store.buckets(counters[-1], last - 2, last) == {last - 2: 2, last - 1: 1, last: 5}


def test_each_alert_registers_its_values_in_order_up_to_its_own_limit(store):
    one, two = CounterSet(990_060, 1, 1), CounterSet(990_061, 1, 5)
    limits = {one.alert_id: 2, two.alert_id: 3}

    def batch(values: list[CounterSet], now: float):
        tallies = {
            c: Tally(buckets={int(now // c.size): 1}, group_limit=limits[c.alert_id], first=now)
            for c in values
        }
        return store.add(tallies, values, now)

    interleaved = [alert.in_group(v) for v in "abc" for alert in (one, two)]
    assert batch(interleaved, NOW).refused == {one.in_group("c")}
    assert sorted(s.value for s in store.groups([one])[one]) == ["a", "b"]
    assert sorted(s.value for s in store.groups([two])[two]) == ["a", "b", "c"]
    # A new value before and after ones seen again: the ones seen again count, it does not.
    later = batch([one.in_group("d"), one.in_group("a"), one.in_group("c")], NOW + 2)
    assert later.refused == {one.in_group("d"), one.in_group("c")}
    assert later[one.in_group("a")] == 2
    assert {s.value: s.last_seen for s in store.groups([one])[one]} == {"a": NOW + 2, "b": NOW}


def test_the_state_of_a_counter_set_whose_buckets_expired_is_swept_and_no_other(store):
    gone, kept = CounterSet(990_070, 1, 1), CounterSet(990_071, 1, 1)
    bucket = int(NOW // gone.size)
    event = [b'[1764000000.0,40,"disk full","db-1","",{}]']
    both = {c: Tally(buckets={bucket: 2}, recent=event) for c in (gone, kept)}
    store.add(both, [gone, kept], NOW)
    assert store.recent(gone) and store.recent(kept)
    store.client.delete(gone.key)  # as its expiry does, a retention after its newest bucket

    assert store._sweep() == 1
    assert store.client.hget(STATE_KEY, gone.key) is None and store.recent(gone) == []
    assert _state(store, kept)[0] == 2 and store.recent(kept)[0]["message"] == "disk full"
    # Counted again, it starts afresh: its window sum read from its buckets.
    assert store.add({gone: Tally(buckets={bucket: 1})}, [gone], NOW + 0.5)[gone] == 1


def test_forgetting_a_value_drops_its_state_and_ring(store):
    alert = CounterSet(990_080, 1, 1)
    value = alert.in_group("web-9")
    bucket = int(NOW // alert.size)
    event = [b'[1764000000.0,40,"down","web-9","",{}]']
    tally = Tally(buckets={bucket: 1}, recent=event, group_limit=5, first=NOW)
    store.add({value: tally}, [value], NOW)
    assert store.recent(value)

    store.forget(alert, ["web-9"])
    assert store.recent(value) == [] and store.client.hget(STATE_KEY, value.key) is None
    assert not store.client.exists(value.key)
