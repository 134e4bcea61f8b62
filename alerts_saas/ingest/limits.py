"""Each organization's ingest allowance: events per minute, over a sliding window.

The window is two fixed minutes, the previous one weighted by how much of it still falls
within the last 60 seconds (an estimate good to a few percent, in O(1) space). With Redis
it holds across all web processes; without (the embedded default), per process.

Taking a batch also counts it in the organization's ingest activity (`activity.py`), in
the same step: with Redis, this minute's count is kept for an hour and the batch's time
stamped by the same script, so a batch still costs one round trip.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

from alerts_saas.ingest import activity

WINDOW = activity.MINUTE

# KEYS: this minute, the previous minute, the last batch's time. ARGV: events, limit,
# fraction of this minute gone, how long a minute's count is kept (the ingest activity's
# hour), now, how long the last batch's time is kept. Returns {1, 0, 0} when taken, else
# {0, this minute's count, the previous minute's}. A minute's expiry is set when it starts.
_TAKE = """
local n = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (1 - tonumber(ARGV[3])) + current + n > tonumber(ARGV[2]) then
  return {0, current, previous}
end
redis.call('INCRBY', KEYS[1], n)
if current == 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[6])
return {1, 0, 0}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds


def _retry_after(n: int, limit: int, current: int, previous: int, gone: float) -> int:
    """Seconds until `n` more events would fit."""
    room = limit - current - n
    if room < 0 or previous == 0:  # this minute alone is full: wait for the next one
        return max(1, math.ceil((1 - gone) * WINDOW))
    # The previous minute's weight falls as this one goes on.
    needed_gone = 1 - room / previous
    return max(1, math.ceil((needed_gone - gone) * WINDOW))


class RedisAllowance:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_TAKE)

    def take(self, organization_id: int, n: int, limit: int) -> Verdict:
        now = time.time()
        minute, gone = divmod(now, WINDOW)
        keys = [
            activity.minute_key(organization_id, int(minute)),
            activity.minute_key(organization_id, int(minute) - 1),
            activity.last_key(organization_id),
        ]
        args: list[str | int | float] = [
            n,
            limit,
            gone / WINDOW,
            activity.KEEP_SECONDS,
            f"{now:.3f}",
            activity.LAST_KEEP_SECONDS,
        ]
        taken, current, previous = self.script(keys=keys, args=args)
        if taken:
            return Verdict(True)
        return Verdict(False, _retry_after(n, limit, int(current), int(previous), gone / WINDOW))


class LocalAllowance:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.minutes: dict[tuple[int, int], int] = {}

    def take(self, organization_id: int, n: int, limit: int) -> Verdict:
        now = time.time()
        minute, gone = divmod(now, WINDOW)
        minute = int(minute)
        with self.lock:
            for key in [k for k in self.minutes if k[1] < minute - 1]:
                del self.minutes[key]
            current = self.minutes.get((organization_id, minute), 0)
            previous = self.minutes.get((organization_id, minute - 1), 0)
            if previous * (1 - gone / WINDOW) + current + n > limit:
                return Verdict(False, _retry_after(n, limit, current, previous, gone / WINDOW))
            self.minutes[(organization_id, minute)] = current + n
        activity.add_to_database(organization_id, n, now)
        return Verdict(True)


@lru_cache(maxsize=1)
def allowance() -> RedisAllowance | LocalAllowance:
    url = settings.REDIS_URL
    return RedisAllowance(url) if url else LocalAllowance()


def take(organization_id: int, n: int) -> Verdict:
    return allowance().take(organization_id, n, settings.INGEST_EVENTS_PER_MINUTE)
