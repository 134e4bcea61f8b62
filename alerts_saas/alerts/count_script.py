"""The Lua script that counts a batch in Redis (`counting_redis.RedisCounts.add` runs it),
and the form its numbers travel in."""

from __future__ import annotations

import struct

# KEYS: the epoch (set to Redis's own clock when missing); the state hash (each counter
# set's window sum and ring, `counting_redis`); then per counter set its hash of buckets;
# then per alert that registers group values its values seen (a sorted set by last seen)
# and their first sightings (a hash). ARGV[1]: numbers as little-endian doubles (`pack`:
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
# per counter set are locals (not looked up by name at each call). And the state every
# counter set reads and writes on each batch lives in one hash for all of them, not beside
# its buckets: two commands per batch instead of two per counter set, each of which cost
# its lookups of the command, the key and its expiry.
ADD = """
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
  ring[j] = 'r' .. j .. ':'
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
-- Each counter set's kept state (its window sum, the window's ends and how many events its
-- ring was ever written) is one field of the state hash (KEYS[2], packed as four doubles),
-- and its ring's events are fields of that hash too: all read in one HMGET and written in
-- one HSET per batch, leaving one command per counter set, its buckets' HINCRBY.
local state = KEYS[2]
local names, known, written, w = {}, {}, {}, 0
for k = 3, sets_n + 2 do
  names[k - 2] = KEYS[k]
end
for s = 1, sets_n, 4000 do  -- unpack's results must fit Lua's stack
  local got = call('HMGET', state, unpack(names, s, min(sets_n, s + 3999)))
  for j = 1, #got do
    known[s + j - 1] = got[j]
  end
end
local pack, read = struct.pack, struct.unpack
local fields = {}
for k = 3, sets_n + 2 do
  local key, counted = KEYS[k], not refused[k]
  local keep, n = v[i], v[i + 1]
  i = i + 2
  local sum, from, to, pos = nil, 0, 0, 0
  local held = known[k - 2]
  if held then
    sum, from, to, pos = read('<dddd', held)
    if sum < 0 then sum = nil end
  end
  local added, fresh, changed = 0, false, false
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
        call('HSET', key, field, text[level] or digits(level))
      end
    end
  end
  local m = v[i]
  i = i + 1
  if counted and m > 0 then
    for j = 1, m do
      written[w + 1] = ring[(pos + j - 1) % kept] .. key
      written[w + 2] = ARGV[v[i + j - 1] + 1]
      w = w + 2
    end
    pos = (pos + m) % (kept * 1000000)
    changed = true
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
        from, to, changed = first, last, true
      end
      o = o + 1
      out[o] = sum
    end
  elseif added > 0 then
    sum, changed = sum + added, true
  end
  if changed then
    written[w + 1] = key
    written[w + 2] = pack('<dddd', sum or -1, from, to, pos)
    w = w + 2
  end
end
for s = 1, w, 4000 do  -- unpack's results must fit Lua's stack
  call('HSET', state, unpack(written, s, min(w, s + 3999)))
end
return out
"""


def pack(numbers: list[int | float]) -> bytes:
    """The script's numbers (ARGV[1]), as it reads them: little-endian doubles (whole
    numbers, as the counts, buckets and retentions are, are exact up to 2**53)."""
    return struct.pack(f"<{len(numbers)}d", *numbers)
