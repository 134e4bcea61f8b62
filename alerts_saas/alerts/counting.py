"""Matching events per alert and time bucket, and each alert's latest matching events.

A window is cut into 60 buckets (so a bucket is as many seconds as the window has minutes)
and the count in a window is the sum of its 60 newest buckets: at most a sixtieth of the
window is lost at its old edge. Counts live in the alert's current counter set
(`Alert.generation`), so a changed condition starts from zero.

With Redis (production, tests) buckets are fields of one hash per alert and counter set,
and the latest events a capped list; a batch is counted, and the window sums it needs are
read, by one Lua script: one round trip, whatever the alerts and buckets. Without Redis
(the embedded default) the same lives in two tables.

Counts that know they were lost: Redis keeps nothing on disk here, so a restart, a failover
to an empty node or a flush empties it. An empty store must never read as "no events", so
it carries an epoch, the moment it started counting (set by the first script to find it
missing). Every read returns it as `Totals.since`; evaluation treats a window that began
before it as unknown (see `evaluation.holds`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import orjson
import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Sum

from alerts_saas.alerts.models import Alert, MatchBucket, RecentMatch

BUCKETS_PER_WINDOW = 60
RECENT_KEPT = 10
CHART_MIN_SPAN = 3600  # seconds: charts show at least the last hour


def bucket_seconds(window_minutes: int) -> int:
    return max(1, window_minutes * 60 // BUCKETS_PER_WINDOW)


def retention_seconds(window_minutes: int) -> int:
    """How long buckets are kept: the chart's span plus one window before it."""
    return chart_span(window_minutes) + window_minutes * 60


def chart_span(window_minutes: int) -> int:
    return max(CHART_MIN_SPAN, 2 * window_minutes * 60)


@dataclass(frozen=True, slots=True)
class CounterSet:
    """Where one alert's counts live now."""

    alert_id: int
    generation: int
    window_minutes: int
    # Made once, not per batch: the Redis keys (buckets, window sum, recent events) and how
    # long they are kept.
    keys: tuple[str, str, str] = field(init=False, compare=False, repr=False)
    retention: int = field(init=False, compare=False, repr=False)
    size: int = field(init=False, compare=False, repr=False)  # a bucket's seconds
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        base = f"tw:alert:{self.alert_id}:{self.generation}"
        keys = (base + ":buckets", base + ":window", base + ":recent")
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "retention", retention_seconds(self.window_minutes))
        object.__setattr__(self, "size", bucket_seconds(self.window_minutes))
        object.__setattr__(self, "_hash", hash((self.alert_id, self.generation)))

    def __hash__(self) -> int:  # a counter set is a key of every batch's dicts: hashed once
        return self._hash

    @classmethod
    def of(cls, alert: Alert) -> CounterSet:
        return cls(alert.pk, alert.generation, alert.window_minutes)

    def window_buckets(self, now: float) -> range:
        """The buckets whose sum is the count in the window ending at `now`."""
        last = int(now // self.size)
        return range(last - BUCKETS_PER_WINDOW + 1, last + 1)


@dataclass(slots=True)
class Tally:
    """What one batch of events adds to one alert."""

    buckets: dict[int, int] = field(default_factory=dict)
    recent: list[bytes] = field(default_factory=list)  # events as JSON, newest last


class Totals(dict[CounterSet, int]):
    """Window counts, and `since`: when the store started counting (epoch seconds; 0 for a
    store that never loses its counts). A count whose window began before `since` is only
    a lower bound."""

    def __init__(self, values: dict[CounterSet, int], since: float) -> None:
        super().__init__(values)
        self.since = since


class Counts(Protocol):
    def add(
        self, tallies: dict[CounterSet, Tally], totals_for: Iterable[CounterSet], now: float
    ) -> Totals:
        """Add the tallies; return the window count of each of `totals_for`, at `now`."""

    def totals(self, sets: Iterable[CounterSet], now: float) -> Totals: ...

    def since(self, now: float) -> float:
        """When the store started counting (see `Totals.since`)."""

    def buckets(self, counter: CounterSet, first: int, last: int) -> dict[int, int]: ...

    def recent(self, counter: CounterSet, limit: int = RECENT_KEPT) -> list[dict[str, Any]]:
        """The latest matching events, newest first."""

    def prune(self, sets: Iterable[CounterSet], now: float) -> None: ...


# KEYS: the epoch (set to Redis's own clock when missing); then, per counter, its buckets
# hash, window sum and recent list. ARGV[1]: a JSON array of numbers, packed so that a batch
# is a few arguments, not one per bucket and event: the recent events kept, then per
# counter its retention, its bucket count and (bucket, count) pairs, its recent count and
# the events' positions in ARGV (each event sent once however many counters keep it), and
# whether its window sum is wanted, with the window's first and last bucket if it is.
# ARGV[2...]: the events, as JSON. Returns the epoch, then each wanted window sum in order.
#
# A window sum is kept beside the buckets (fields s, a, b: the sum of buckets a..b), so
# that reading it costs the buckets that entered or left the window since the last read,
# usually one or two, not the window's 60; a counter's new counts inside the kept span are
# added to it. A span that moved back or jumped far is summed afresh. Keys live for the
# retention from the start of their newest bucket: their expiry is renewed when a bucket
# starts (or the span moves), not on every batch.
_ADD = """
local since = redis.call('GET', KEYS[1])
if not since then
  local t = redis.call('TIME')
  since = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
  redis.call('SET', KEYS[1], since)
end
local out = {since}
local v = cjson.decode(ARGV[1])
local kept, i = v[1], 2
for k = 2, #KEYS, 3 do
  local buckets, window, recent = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local keep, n = v[i], v[i + 1]
  i = i + 2
  local held = redis.call('HMGET', window, 's', 'a', 'b')
  local sum, from, to = tonumber(held[1]), tonumber(held[2]), tonumber(held[3])
  local added, fresh = 0, false
  for j = 1, n do
    local bucket, count = v[i], v[i + 1]
    i = i + 2
    if redis.call('HINCRBY', buckets, bucket, count) == count then
      fresh = true
    end
    if sum and bucket >= from and bucket <= to then
      added = added + count
    end
  end
  local m = v[i]
  i = i + 1
  if m > 0 then
    local events = {}
    for j = 1, m do
      events[j] = ARGV[v[i] + 1]
      i = i + 1
    end
    redis.call('LPUSH', recent, unpack(events))
    redis.call('LTRIM', recent, 0, kept - 1)
  end
  if fresh then
    redis.call('EXPIRE', buckets, keep)
    redis.call('EXPIRE', window, keep)
    redis.call('EXPIRE', recent, keep)
  end
  local wanted = v[i]
  i = i + 1
  if wanted == 1 then
    local first, last = v[i], v[i + 1]
    i = i + 2
    if not sum or first < from or last < to or first - from > 60 or last - to > 60 then
      local fields = {}
      for b = first, last do
        fields[#fields + 1] = b
      end
      local values = redis.call('HMGET', buckets, unpack(fields))
      sum = 0
      for j = 1, #values do
        if values[j] then sum = sum + tonumber(values[j]) end
      end
    else
      sum = sum + added
      local fields, gone = {}, math.min(first - 1, to) - from + 1
      for b = from, math.min(first - 1, to) do
        fields[#fields + 1] = b
      end
      for b = math.max(to + 1, first), last do
        fields[#fields + 1] = b
      end
      if #fields > 0 then
        local values = redis.call('HMGET', buckets, unpack(fields))
        for j = 1, #fields do
          if values[j] then
            if j <= gone then sum = sum - tonumber(values[j])
            else sum = sum + tonumber(values[j]) end
          end
        end
      end
    end
    if first ~= from or last ~= to then
      redis.call('HSET', window, 's', sum, 'a', first, 'b', last)
      redis.call('EXPIRE', window, keep)
    elseif added > 0 then
      redis.call('HSET', window, 's', sum)
    end
    out[#out + 1] = sum
  elseif added > 0 then
    redis.call('HINCRBY', window, 's', added)
  end
end
return out
"""
EPOCH_KEY = "tw:counts:epoch"


class RedisCounts:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self._add = self.client.register_script(_ADD)

    def add(
        self, tallies: dict[CounterSet, Tally], totals_for: Iterable[CounterSet], now: float
    ) -> Totals:
        wanted = dict.fromkeys(totals_for)
        keys: list[str] = [EPOCH_KEY]
        numbers: list[int] = [RECENT_KEPT]
        events: dict[bytes, int] = {}  # each event once, by its position in ARGV
        empty = Tally()
        order = []  # the wanted counters, in the order the script returns their sums
        for counter in [*tallies, *(c for c in wanted if c not in tallies)]:
            tally = tallies.get(counter, empty)
            keys += counter.keys
            numbers += (counter.retention, len(tally.buckets))
            for pair in tally.buckets.items():
                numbers += pair
            latest = tally.recent[-RECENT_KEPT:]
            numbers.append(len(latest))
            numbers += [events.setdefault(event, len(events) + 1) for event in latest]
            if counter in wanted:
                window = counter.window_buckets(now)
                numbers += (1, window.start, window.stop - 1)
                order.append(counter)
            else:
                numbers.append(0)
        since, *sums = self._add(keys=keys, args=[orjson.dumps(numbers), *events])
        found = dict(zip(order, sums, strict=True))
        return Totals({c: int(found[c]) for c in wanted}, float(since))

    def totals(self, sets: Iterable[CounterSet], now: float) -> Totals:
        return self.add({}, sets, now)

    def since(self, now: float) -> float:
        return self.add({}, [], now).since

    def buckets(self, counter: CounterSet, first: int, last: int) -> dict[int, int]:
        stored = self.client.hgetall(counter.keys[0])
        return {int(b): int(c) for b, c in stored.items() if first <= int(b) <= last}

    def recent(self, counter: CounterSet, limit: int = RECENT_KEPT) -> list[dict[str, Any]]:
        return [orjson.loads(raw) for raw in self.client.lrange(counter.keys[2], 0, limit - 1)]

    def prune(self, sets: Iterable[CounterSet], now: float) -> None:
        for counter in sets:
            key = counter.keys[0]
            oldest = int((now - retention_seconds(counter.window_minutes)) // counter.size)
            stale = [b for b in self.client.hkeys(key) if int(b) < oldest]
            if stale:
                self.client.hdel(key, *stale)


class DatabaseCounts:
    """The same in two tables: an upsert adds to a bucket without reading it first."""

    def add(
        self, tallies: dict[CounterSet, Tally], totals_for: Iterable[CounterSet], now: float
    ) -> Totals:
        rows = [
            (c.alert_id, c.generation, bucket, count)
            for c, tally in tallies.items()
            for bucket, count in tally.buckets.items()
        ]
        table = MatchBucket._meta.db_table  # a constant: no user input in this statement
        upsert = (
            f"INSERT INTO {table} (alert_id, generation, bucket, count) "  # noqa: S608
            "VALUES (%s, %s, %s, %s) ON CONFLICT (alert_id, generation, bucket) "
            f"DO UPDATE SET count = {table}.count + excluded.count"
        )
        with transaction.atomic():
            if rows:
                with connection.cursor() as cursor:
                    cursor.executemany(upsert, rows)
            RecentMatch.objects.bulk_create(
                RecentMatch(
                    alert_id=c.alert_id, generation=c.generation, event=orjson.loads(summary)
                )
                for c, tally in tallies.items()
                for summary in tally.recent[-RECENT_KEPT:]
            )
        return self.totals(totals_for, now)

    def since(self, now: float) -> float:
        return 0.0  # the database keeps its counts

    def totals(self, sets: Iterable[CounterSet], now: float) -> Totals:
        sets = list(sets)
        if not sets:
            return Totals({}, 0.0)
        where = Q()
        for c in sets:
            window = c.window_buckets(now)
            where |= Q(
                alert_id=c.alert_id,
                generation=c.generation,
                bucket__gte=window.start,
                bucket__lt=window.stop,
            )
        found = dict(
            MatchBucket.objects.filter(where)
            .values("alert_id")
            .annotate(n=Sum("count"))
            .values_list("alert_id", "n")
        )
        return Totals({c: found.get(c.alert_id, 0) for c in sets}, 0.0)

    def buckets(self, counter: CounterSet, first: int, last: int) -> dict[int, int]:
        return dict(
            MatchBucket.objects.filter(
                alert_id=counter.alert_id,
                generation=counter.generation,
                bucket__gte=first,
                bucket__lte=last,
            ).values_list("bucket", "count")
        )

    def recent(self, counter: CounterSet, limit: int = RECENT_KEPT) -> list[dict[str, Any]]:
        rows = RecentMatch.objects.filter(alert_id=counter.alert_id, generation=counter.generation)
        return list(rows.order_by("-received_at", "-pk").values_list("event", flat=True)[:limit])

    def prune(self, sets: Iterable[CounterSet], now: float) -> None:
        for c in sets:
            oldest = int((now - retention_seconds(c.window_minutes)) // c.size)
            MatchBucket.objects.filter(alert_id=c.alert_id).filter(
                Q(generation__lt=c.generation) | Q(bucket__lt=oldest)
            ).delete()
            keep = RecentMatch.objects.filter(alert_id=c.alert_id, generation=c.generation)
            keep_ids = list(
                keep.order_by("-received_at", "-pk").values_list("pk", flat=True)[:RECENT_KEPT]
            )
            RecentMatch.objects.filter(alert_id=c.alert_id).exclude(pk__in=keep_ids).delete()


@lru_cache(maxsize=1)
def counts() -> Counts:
    url = settings.REDIS_URL
    return RedisCounts(url) if url else DatabaseCounts()
