"""The count store in Redis: a counter set is one hash, a batch one Lua script.

A counter set's hash holds its buckets (fields named by bucket number), the window sum kept
beside them (s, a, b: the sum of buckets a..b), its latest events as a ring (r0..r9, and p:
how many were ever written), and, for alerts whose severity follows the events, the highest
level per bucket (l<bucket>). One hash and one HSET per counter set and batch keeps the
work per matched alert small: at 2,000 alerts a batch of 500 events touches ~300 of them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import orjson
import redis

from alerts_saas.alerts.counters import (
    RECENT_KEPT,
    CounterSet,
    SeenGroup,
    Tally,
    Totals,
    retention_seconds,
)

# KEYS: the epoch (set to Redis's own clock when missing); then per counter set its hash;
# then per alert that registers group values its values seen (a sorted set by last seen)
# and their first sightings (a hash). ARGV[1]: numbers as little-endian doubles (`_pack`:
# struct.unpack reads them for a fraction of what parsing JSON text costs), packed so that
# a batch is a few arguments, not one per bucket and event: the recent events kept, the
# time now, how many counter sets and how many alerts registering values; then per such
# alert: where its two keys are in KEYS, how long its values are kept, and per value, in
# the order of their counter sets: its counter set's place in KEYS, the value's position
# in ARGV, the alert's limit of values and when the value's earliest event in the batch
# happened (its first sighting, if new); then per counter set: its retention, its
# (bucket, count) pairs, its (bucket, highest level) pairs, its recent events' positions
# in ARGV (each event sent once however many counter sets keep it), and whether its window
# sum is wanted, with the window's first and last bucket if it is. ARGV[2...]: the events
# and group values. Returns the epoch, then each wanted window sum in order (-1 for a
# group value refused at its alert's limit).
#
# Reading the window sum costs the buckets that entered or left the window since the last
# read, usually one or two, not the window's 60. A span that moved back or jumped far is
# summed afresh. Keys live for the retention from the start of their newest bucket: their
# expiry is renewed when a bucket starts, not on every batch (an alert's values seen, once
# per batch however many of its values start a bucket).
#
# What a batch costs Redis here is mostly the script's own work, not the commands: each
# number passed to redis.call is printed by Redis as '%.17g' (about as dear as the HINCRBY
# itself), and each tonumber() parses text. So numbers are passed as text made once per
# distinct value (`text`, `digits`), the sums and window ends read are parsed once per
# distinct text (`number`), the ring's field names are made once, the tables that carry a
# command's arguments are reused from one counter set to the next, and the functions called
# per counter set are locals (not looked up by name at each call).
_ADD = """
local call, tonumber, unpack, min, max = redis.call, tonumber, unpack, math.min, math.max
local since = redis.call('GET', KEYS[1])
if not since then
  local t = redis.call('TIME')
  since = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
  redis.call('SET', KEYS[1], since)
end
local out, o = {since}, 1
local v
do
  local data = ARGV[1]
  local count = #data / 8
  if count <= 7000 then  -- unpack's results must fit Lua's stack (8,000)
    local sixteens = (count - count % 16) / 16  -- string.rep's copies, 16 at a time
    local doubles = string.rep('dddddddddddddddd', sixteens) .. string.rep('d', count % 16)
    v = {struct.unpack('<' .. doubles, data)}
  else
    v = {}
    for at = 0, count - 1, 4000 do
      local take = math.min(count - at, 4000)
      local part = {struct.unpack('<' .. string.rep('d', take), data, 8 * at + 1)}
      for j = 1, take do
        v[at + j] = part[j]
      end
    end
  end
end
local kept, now, sets_n, groups, i = v[1], v[2], v[3], v[4], 5
local format = string.format
-- Redis prints a number argument as '%.17g'; for the whole numbers passed here that is
-- their digits, which '%d' prints for much less. Each distinct one is printed once.
local text = {}
local function digits(n)
  local s = format('%d', n)
  text[n] = s
  return s
end
local number = {}
local function parse(s)
  local n = tonumber(s)
  number[s] = n
  return n
end
local stamp = format('%.17g', now)  -- the time now, as Redis would print it
local ring = {}
for j = 0, kept - 1 do
  ring[j] = 'r' .. j
end
-- The values seen of each alert that groups, in the order of its counter sets: one ZADD
-- makes now the last sighting of those seen before. If fewer changed than were sent, each
-- is asked whether it is registered (one last seen at this very moment changes nothing);
-- one that is not is registered while its alert is under its limit, or else refused.
-- (Only these keys are written here, and only counter sets' hashes below: registering all
-- values first leaves what the batch writes as registering them one counter set at a time.)
local refused, alert_of, alerts, renewed, seen = {}, {}, {}, {}, {}
for g = 1, groups do
  local at, gkeep, c = v[i], text[v[i + 1]] or digits(v[i + 1]), v[i + 2]
  local zset, firsts = KEYS[at], KEYS[at + 1]
  i = i + 3
  alerts[g] = {zset, firsts, gkeep}
  for j = 0, c - 1 do
    alert_of[v[i + 4 * j]] = g
    seen[2 * j + 1] = stamp
    seen[2 * j + 2] = ARGV[v[i + 4 * j + 1] + 1]
  end
  local changed = 0
  for s = 1, 2 * c, 4000 do  -- unpack's results must fit Lua's stack
    changed = changed + call('ZADD', zset, 'XX', 'CH', unpack(seen, s, min(2 * c, s + 3999)))
  end
  if changed < c then
    for j = 0, c - 1 do
      local x = i + 4 * j
      local member = ARGV[v[x + 1] + 1]
      if call('ZSCORE', zset, member) then
        -- registered before: its last sighting is now
      elseif call('ZCARD', zset) < v[x + 2] then
        call('ZADD', zset, stamp, member)
        call('HSET', firsts, member, v[x + 3])
        call('EXPIRE', zset, gkeep)
        call('EXPIRE', firsts, gkeep)
        renewed[g] = true
      else
        refused[v[x]] = true
      end
    end
  end
  i = i + 4 * c
end
local sets, fields = {}, {}
for k = 2, sets_n + 1 do
  local key, counted = KEYS[k], not refused[k]
  local keep, n = v[i], v[i + 1]
  i = i + 2
  local held = call('HMGET', key, 's', 'a', 'b', 'p')
  local sum = held[1] and (number[held[1]] or parse(held[1]))
  local from, to = number[held[2]] or parse(held[2]), number[held[3]] or parse(held[3])
  local pos = tonumber(held[4]) or 0
  local added, fresh, w = 0, false, 0
  for j = 1, n do
    local bucket, count = v[i], v[i + 1]
    i = i + 2
    if counted then
      local field = text[bucket] or digits(bucket)
      if call('HINCRBY', key, field, text[count] or digits(count)) == count then
        fresh = true
      end
      if sum and bucket >= from and bucket <= to then
        added = added + count
      end
    end
  end
  local levels = v[i]
  i = i + 1
  for j = 1, levels do
    local bucket, level = v[i], v[i + 1]
    i = i + 2
    if counted then
      local field = 'l' .. (text[bucket] or digits(bucket))
      local top = tonumber(call('HGET', key, field))
      if not top or level > top then
        sets[w + 1] = field
        sets[w + 2] = text[level] or digits(level)
        w = w + 2
      end
    end
  end
  local m = v[i]
  i = i + 1
  if counted and m > 0 then
    for j = 1, m do
      sets[w + 1] = ring[(pos + j - 1) % kept]
      sets[w + 2] = ARGV[v[i + j - 1] + 1]
      w = w + 2
    end
    sets[w + 1] = 'p'
    sets[w + 2] = format('%d', (pos + m) % (kept * 1000000))
    w = w + 2
  end
  i = i + m
  if fresh then
    call('EXPIRE', key, text[keep] or digits(keep))
    local g = alert_of[k]
    if g and not renewed[g] then
      local alert = alerts[g]
      call('EXPIRE', alert[1], alert[3])
      call('EXPIRE', alert[2], alert[3])
      renewed[g] = true
    end
  end
  local wanted = v[i]
  i = i + 1
  if wanted == 1 then
    local first, last = v[i], v[i + 1]
    i = i + 2
    if not counted then
      o = o + 1
      out[o] = -1
    else
      if not sum or first < from or last < to or first - from > 60 or last - to > 60 then
        local f = 0
        for b = first, last do
          f = f + 1
          fields[f] = text[b] or digits(b)
        end
        local values = call('HMGET', key, unpack(fields, 1, f))
        sum = 0
        for j = 1, f do
          local c = values[j]
          if c then sum = sum + (number[c] or parse(c)) end
        end
      else
        sum = sum + added
        local f = 0
        for b = from, min(first - 1, to) do
          f = f + 1
          fields[f] = text[b] or digits(b)
        end
        local gone = f
        for b = max(to + 1, first), last do
          f = f + 1
          fields[f] = text[b] or digits(b)
        end
        if f > 0 then
          local values = call('HMGET', key, unpack(fields, 1, f))
          for j = 1, f do
            local c = values[j]
            if c then
              c = number[c] or parse(c)
              if j <= gone then sum = sum - c else sum = sum + c end
            end
          end
        end
      end
      if first ~= from or last ~= to or added > 0 then
        sets[w + 1] = 's'
        sets[w + 2] = text[sum] or digits(sum)
        sets[w + 3] = 'a'
        sets[w + 4] = text[first] or digits(first)
        sets[w + 5] = 'b'
        sets[w + 6] = text[last] or digits(last)
        w = w + 6
      end
      o = o + 1
      out[o] = sum
    end
  elseif added > 0 then
    sets[w + 1] = 's'
    sets[w + 2] = text[sum + added] or digits(sum + added)
    w = w + 2
  end
  if w > 0 then
    call('HSET', key, unpack(sets, 1, w))
  end
end
return out
"""
# The counts' epoch; a new name when the layout changed, so an upgrade reads as a restart.
EPOCH_KEY = "tw:counts:epoch:2"
_RING = [f"r{n}" for n in range(RECENT_KEPT)]


class RedisCounts:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self._add = self.client.register_script(_ADD)

    def add(
        self, tallies: dict[CounterSet, Tally], totals_for: Iterable[CounterSet], now: float
    ) -> Totals:
        wanted = dict.fromkeys(totals_for)
        counters = [*tallies, *(c for c in wanted if c not in tallies)]
        keys = [EPOCH_KEY, *(counter.key for counter in counters)]
        numbers: list[int | float] = []  # per counter set; the alerts' values go first
        strings: dict[bytes, int] = {}  # each event or value once, by its position in ARGV
        groups: dict[str, tuple[CounterSet, list[int | float]]] = {}  # by the values' key
        empty = Tally()
        order = []  # the wanted counters, in the order the script returns their sums
        windows: dict[int, tuple[int, int, int]] = {}  # by bucket seconds: (1, first, last)
        for at, counter in enumerate(counters, 2):  # at: the counter set's place in KEYS
            tally = tallies.get(counter, empty)
            if tally.group_limit and counter.group is not None:
                value = strings.setdefault(counter.group.encode(), len(strings) + 1)
                alert = groups.get(counter.groups_key)
                if alert is None:
                    alert = groups[counter.groups_key] = (counter, [])
                alert[1].extend((at, value, tally.group_limit, tally.first))
            numbers += (counter.retention, len(tally.buckets))
            for pair in tally.buckets.items():
                numbers += pair
            numbers.append(len(tally.levels))
            for pair in tally.levels.items():
                numbers += pair
            latest = tally.recent[-RECENT_KEPT:]
            numbers.append(len(latest))
            numbers += [strings.setdefault(event, len(strings) + 1) for event in latest]
            if counter in wanted:
                window = windows.get(counter.size)
                if window is None:
                    span = counter.window_buckets(now)
                    window = windows[counter.size] = (1, span.start, span.stop - 1)
                numbers += window
                order.append(counter)
            else:
                numbers.append(0)
        head: list[int | float] = [RECENT_KEPT, now, len(counters), len(groups)]
        for counter, values in groups.values():
            head += (len(keys) + 1, counter.group_retention, len(values) // 4, *values)
            keys += (counter.groups_key, counter.firsts_key)
        since, *sums = self._add(keys=keys, args=[_pack(head + numbers), *strings])
        found = dict(zip(order, sums, strict=True))
        refused = frozenset(c for c, n in found.items() if int(n) < 0)
        return Totals({c: max(0, int(found[c])) for c in wanted}, float(since), refused)

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
        pipe = self.client.pipeline(transaction=False)
        for counter in counters:
            pipe.hmget(counter.key, ["p", *_RING])
        return {
            counter: _latest(reply, limit)
            for counter, reply in zip(counters, pipe.execute(), strict=True)
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

    def forget(self, alert: CounterSet, values: Iterable[str]) -> None:
        values = list(values)
        if not values:
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(alert.groups_key, *values)
        pipe.hdel(alert.firsts_key, *values)
        pipe.delete(*(alert.in_group(value).key for value in values))
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


def _pack(numbers: list[int | float]) -> bytes:
    """The script's numbers (ARGV[1]), as it reads them: little-endian doubles (whole
    numbers, as the counts, buckets and retentions are, are exact up to 2**53)."""
    return struct.pack(f"<{len(numbers)}d", *numbers)


def _latest(reply: list[bytes | None], limit: int) -> list[dict[str, Any]]:
    """A counter set's latest events, newest first, from its HMGET of p and the ring."""
    written, *ring = reply
    if written is None:
        return []
    newest = int(written)
    shown = []
    for back in range(1, min(limit, RECENT_KEPT, newest) + 1):
        event = ring[(newest - back) % RECENT_KEPT]
        if event is not None:
            shown.append(orjson.loads(event))
    return shown


def _bucket_of(name: bytes | str) -> int | None:
    """The bucket a field of a counter set's hash is about: its count or its level."""
    text = name.decode() if isinstance(name, bytes) else name
    text = text.removeprefix("l")
    return int(text) if text.lstrip("-").isdigit() else None
