"""The count store in Redis: a counter set's buckets are one hash, a batch one Lua script.

A counter set's hash holds its buckets (fields named by bucket number) and, for alerts
whose severity follows the events, the highest level per bucket (l<bucket>); it expires a
retention after its newest bucket started. What every batch reads and rewrites of each
counter set lives in one hash for all of them (STATE_KEY): its window sum, kept beside the
buckets, and how many events its ring was ever written, packed as one field named by the
counter set's key (`_STATE`), and the ring itself, its latest events (fields r0:<key> to
r9:<key>). So a batch costs Redis one HINCRBY per counter set it counts, plus one HMGET
and one HSET of the state hash, where the state beside the buckets cost three commands
per counter set: at 2,000 alerts a batch of 500 events touches ~400 of them. The state of
a counter set whose buckets expired is dropped by `prune` on the beat. The script and its
arguments' form are in count_script.py.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import orjson
import redis

from alerts_saas.alerts.conditions import shown
from alerts_saas.alerts.count_script import ADD, pack
from alerts_saas.alerts.counters import (
    COUNTS_PREFIX,
    RECENT_KEPT,
    CounterSet,
    Row,
    SeenGroup,
    Tally,
    Totals,
    retention_seconds,
)

# The counts' epoch; a new name when the layout changed, so an upgrade reads as a restart
# (and the counter sets' keys too, `CounterSet.key`, so no two layouts share a count).
EPOCH_KEY = "tw:counts:epoch:3"
STATE_KEY = "tw:counts:state:3"
_RING = [f"r{n}:" for n in range(RECENT_KEPT)]  # a ring field: its prefix, then the key
_STATE = struct.Struct("<4d")  # window sum (-1: none kept), first and last bucket, written
_EMPTY = Tally()  # a counter set whose window sum alone is wanted


# The state hash's fields a sweep reads per step (HSCAN's COUNT, and one script call).
SWEEP_STEP = 1000
# KEYS[1]: the state hash; KEYS[2...]: counter sets' keys, each also the name of its state's
# field; ARGV: the ring's field prefixes. Drops the state and ring of those whose hash of
# buckets no longer exists.
DROP = """
local dropped, fields = 0, {}
for k = 2, #KEYS do
  local key = KEYS[k]
  if redis.call('EXISTS', key) == 0 then
    fields[1] = key
    for j = 1, #ARGV do
      fields[j + 1] = ARGV[j] .. key
    end
    redis.call('HDEL', KEYS[1], unpack(fields, 1, #ARGV + 1))
    dropped = dropped + 1
  end
end
return dropped
"""


class RedisCounts:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self._add = self.client.register_script(ADD)
        self._drop = self.client.register_script(DROP)

    def add(
        self, tallies: dict[CounterSet, Tally], totals_for: Iterable[CounterSet], now: float
    ) -> Totals:
        wanted = dict.fromkeys(totals_for)
        rows = [(counter, tally, counter in wanted) for counter, tally in tallies.items()]
        rows += [(counter, _EMPTY, True) for counter in wanted if counter not in tallies]
        since, sums = self.count(rows, now)
        found = dict(zip((counter for counter, _, want in rows if want), sums, strict=True))
        refused = frozenset(c for c, n in found.items() if n < 0)
        return Totals({c: max(0, found[c]) for c in wanted}, since, refused)

    def count(self, rows: Sequence[Row], now: float) -> tuple[float, list[int]]:
        """`Counts.count`: one script call for the whole batch."""
        keys = [EPOCH_KEY, STATE_KEY, *(counter.key for counter, _, _ in rows)]
        numbers: list[int | float] = []  # per counter set; the alerts' values go first
        strings: dict[bytes, int] = {}  # each event or value once, by its position in ARGV
        groups: dict[str, tuple[CounterSet, list[int | float]]] = {}  # by the values' key
        windows: dict[int, tuple[int, int, int]] = {}  # by bucket seconds: (1, first, last)
        for at, (counter, tally, wanted) in enumerate(rows, 3):  # at: its place in KEYS
            if tally.group_limit and counter.group is not None:
                value = strings.setdefault(counter.group.encode(), len(strings) + 1)
                alert = groups.get(counter.groups_key)
                if alert is None:
                    alert = groups[counter.groups_key] = (counter, [])
                alert[1].extend((at, value, tally.group_limit, tally.first))
            buckets = tally.buckets
            numbers += (counter.retention, len(buckets))
            for pair in buckets.items():
                numbers += pair
            levels = tally.levels
            numbers.append(len(levels))
            for pair in levels.items():
                numbers += pair
            latest = tally.recent
            if len(latest) > RECENT_KEPT:
                latest = latest[-RECENT_KEPT:]
            numbers.append(len(latest))
            for event in latest:
                numbers.append(strings.setdefault(event, len(strings) + 1))
            if wanted:
                window = windows.get(counter.size)
                if window is None:
                    span = counter.window_buckets(now)
                    window = windows[counter.size] = (1, span.start, span.stop - 1)
                numbers += window
            else:
                numbers.append(0)
        head: list[int | float] = [RECENT_KEPT, now, len(rows), len(groups)]
        for counter, values in groups.values():
            head += (len(keys) + 1, counter.group_retention, len(values) // 4, *values)
            keys += (counter.groups_key, counter.firsts_key)
        since, *sums = self._add(keys=keys, args=[pack(head + numbers), *strings])
        return float(since), [int(n) for n in sums]

    def totals(self, sets: Iterable[CounterSet], now: float) -> Totals:
        return self.add({}, sets, now)

    def since(self, now: float) -> float:
        return self.add({}, [], now).since

    def buckets(self, counter: CounterSet, first: int, last: int) -> dict[int, int]:
        wanted = range(first, last + 1)
        stored = self.client.hmget(counter.key, list(wanted))
        return {b: int(c) for b, c in zip(wanted, stored, strict=True) if c is not None}

    def recent(self, counter: CounterSet, limit: int = RECENT_KEPT) -> list[dict[str, Any]]:
        return self.recent_of([counter], limit)[counter]

    def recent_of(
        self, counters: Iterable[CounterSet], limit: int = RECENT_KEPT
    ) -> dict[CounterSet, list[dict[str, Any]]]:
        counters = list(dict.fromkeys(counters))
        if not counters:
            return {}
        fields = [name for counter in counters for name in _state_fields(counter.key)]
        reply = self.client.hmget(STATE_KEY, fields)
        each = RECENT_KEPT + 1
        return {
            counter: _latest(reply[n * each : (n + 1) * each], limit)
            for n, counter in enumerate(counters)
        }

    def highest_level(self, counter: CounterSet, now: float) -> int | None:
        return self.highest_levels([counter], now)[counter]

    def highest_levels(
        self, counters: Iterable[CounterSet], now: float
    ) -> dict[CounterSet, int | None]:
        counters = list(dict.fromkeys(counters))
        pipe = self.client.pipeline(transaction=False)
        for counter in counters:
            pipe.hmget(counter.key, [f"l{b}" for b in counter.window_buckets(now)])
        return {
            counter: max((int(n) for n in levels if n), default=None)
            for counter, levels in zip(counters, pipe.execute(), strict=True)
        }

    def groups(self, alerts: Iterable[CounterSet]) -> dict[CounterSet, list[SeenGroup]]:
        alerts = list(alerts)
        pipe = self.client.pipeline(transaction=False)
        for alert in alerts:
            pipe.zrevrange(alert.groups_key, 0, -1, withscores=True)
            pipe.hgetall(alert.firsts_key)
        replies = pipe.execute()
        seen = {}
        for n, alert in enumerate(alerts):
            lasts, firsts = replies[2 * n], replies[2 * n + 1]
            seen[alert] = [
                SeenGroup(value.decode(), float(firsts.get(value, last)), float(last))
                for value, last in lasts
            ]
        return seen

    def seen_counts(self, alerts: Iterable[CounterSet]) -> dict[CounterSet, int]:
        alerts = list(alerts)
        pipe = self.client.pipeline(transaction=False)
        for alert in alerts:
            pipe.zcard(alert.groups_key)
        return dict(zip(alerts, pipe.execute(), strict=True))

    def registered(self, alert: CounterSet, values: Iterable[str]) -> set[str]:
        values = list(values)
        if not values:
            return set()
        seen = self.client.zmscore(alert.groups_key, values)
        return {value for value, last in zip(values, seen, strict=True) if last is not None}

    def forget(self, alert: CounterSet, values: Iterable[str]) -> None:
        values = list(values)
        if not values:
            return
        keys = [alert.in_group(value).key for value in values]
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(alert.groups_key, *values)
        pipe.hdel(alert.firsts_key, *values)
        pipe.delete(*keys)
        pipe.hdel(STATE_KEY, *(name for key in keys for name in _state_fields(key)))
        pipe.execute()

    def prune(self, sets: Iterable[CounterSet], now: float) -> None:
        for counter in sets:
            oldest = int((now - retention_seconds(counter.window_minutes)) // counter.size)
            stale = [
                name
                for name in self.client.hkeys(counter.key)
                if (bucket := _bucket_of(name)) is not None and bucket < oldest
            ]
            if stale:
                self.client.hdel(counter.key, *stale)
        self._sweep()

    def _sweep(self) -> int:
        """Drop the state and ring of each counter set whose hash of buckets is gone (it
        expired, a retention after its newest bucket started): SWEEP_STEP fields at a time,
        each step atomic with the batches, so a counter set counted again meanwhile keeps
        its state. Returns how many counter sets' state it dropped."""
        dropped = 0
        states = self.client.hscan_iter(STATE_KEY, match=f"{COUNTS_PREFIX}*", count=SWEEP_STEP)
        while chunk := [name for name, _ in islice(states, SWEEP_STEP)]:
            dropped += int(self._drop(keys=[STATE_KEY, *chunk], args=_RING))
        return dropped


def _state_fields(key: str) -> list[str]:
    """A counter set's fields in the state hash: its state, then its ring."""
    return [key, *(ring + key for ring in _RING)]


def _latest(reply: list[Any], limit: int) -> list[dict[str, Any]]:
    """A counter set's latest events, newest first, from its state and ring."""
    state, *ring = reply
    if state is None:
        return []
    newest = int(_STATE.unpack(state)[3])
    latest = []
    for back in range(1, min(limit, RECENT_KEPT, newest) + 1):
        event = ring[(newest - back) % RECENT_KEPT]
        if event is not None:
            latest.append(shown(orjson.loads(event)))
    return latest


def _bucket_of(name: bytes | str) -> int | None:
    """The bucket a field of a counter set's hash is about: its count or its level."""
    text = name.decode() if isinstance(name, bytes) else name
    text = text.removeprefix("l")
    return int(text) if text.lstrip("-").isdigit() else None
