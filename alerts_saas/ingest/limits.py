"""Each organization's ingest allowance: events per minute, over a sliding window.

The window is two fixed minutes, the previous one weighted by how much of it still falls
within the last 60 seconds (an estimate good to a few percent, in O(1) space). With Redis
it holds across all web processes; without (the embedded default), per process.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

WINDOW = 60

# KEYS: this minute, the previous minute. ARGV: events, limit, fraction of this minute gone.
# Returns {1, 0, 0} when taken, else {0, this minute's count, the previous minute's}.
_TAKE = """
local n = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (1 - tonumber(ARGV[3])) + current + n > tonumber(ARGV[2]) then
  return {0, current, previous}
end
redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], 130)
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
            f"tw:ingest:{organization_id}:{int(minute)}",
            f"tw:ingest:{organization_id}:{int(minute) - 1}",
        ]
        taken, current, previous = self.script(keys=keys, args=[n, limit, gone / WINDOW])
        if taken:
            return Verdict(True)
        return Verdict(False, _retry_after(n, limit, int(current), int(previous), gone / WINDOW))


class LocalAllowance:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.minutes: dict[tuple[int, int], int] = {}

    def take(self, organization_id: int, n: int, limit: int) -> Verdict:
        minute, gone = divmod(time.time(), WINDOW)
        minute = int(minute)
        with self.lock:
            for key in [k for k in self.minutes if k[1] < minute - 1]:
                del self.minutes[key]
            current = self.minutes.get((organization_id, minute), 0)
            previous = self.minutes.get((organization_id, minute - 1), 0)
            if previous * (1 - gone / WINDOW) + current + n > limit:
                return Verdict(False, _retry_after(n, limit, current, previous, gone / WINDOW))
            self.minutes[(organization_id, minute)] = current + n
            return Verdict(True)


@lru_cache(maxsize=1)
def allowance() -> RedisAllowance | LocalAllowance:
    url = settings.REDIS_URL
    return RedisAllowance(url) if url else LocalAllowance()


def take(organization_id: int, n: int) -> Verdict:
    return allowance().take(organization_id, n, settings.INGEST_EVENTS_PER_MINUTE)
