"""Each organization's ingest allowance, events per minute, over a sliding window; and,
the same way (`Meter`), its changes per minute and each API token's requests per minute.

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
from collections.abc import Callable
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


@dataclass(frozen=True)
class Meter:
    """What a window counts, and where: an organization's events (which are also its
    ingest activity) or an API token's requests."""

    name: str
    minute_key: Callable[[int, int], str]
    last_key: Callable[[int], str]
    keep_seconds: int  # how long a minute's count is kept
    last_keep_seconds: int
    # Without Redis: where a taken count is also recorded (the ingest activity).
    record: Callable[[int, int, float], None] | None = None


EVENTS = Meter(
    "events",
    activity.minute_key,
    activity.last_key,
    activity.KEEP_SECONDS,
    activity.LAST_KEEP_SECONDS,
    activity.add_to_database,
)


def _window_only(name: str, prefix: str) -> Meter:
    """A meter whose counts are kept only as long as the window needs them, under
    `prefix`:<subject>:<minute>."""
    return Meter(
        name,
        lambda subject, minute: f"{prefix}:{subject}:{minute}",
        lambda subject: f"{prefix}:{subject}:last",
        2 * WINDOW,
        2 * WINDOW,
    )


API_REQUESTS = _window_only("api", "tw:api")  # per API token
CHANGES = _window_only("changes", "tw:changes")  # per organization


class RedisAllowance:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_TAKE)

    def take(self, subject: int, n: int, limit: int, meter: Meter = EVENTS) -> Verdict:
        now = time.time()
        minute, gone = divmod(now, WINDOW)
        keys = [
            meter.minute_key(subject, int(minute)),
            meter.minute_key(subject, int(minute) - 1),
            meter.last_key(subject),
        ]
        args: list[str | int | float] = [
            n,
            limit,
            gone / WINDOW,
            meter.keep_seconds,
            f"{now:.3f}",
            meter.last_keep_seconds,
        ]
        taken, current, previous = self.script(keys=keys, args=args)
        if taken:
            return Verdict(True)
        return Verdict(False, _retry_after(n, limit, int(current), int(previous), gone / WINDOW))


class LocalAllowance:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.minutes: dict[tuple[str, int, int], int] = {}

    def take(self, subject: int, n: int, limit: int, meter: Meter = EVENTS) -> Verdict:
        now = time.time()
        minute, gone = divmod(now, WINDOW)
        minute = int(minute)
        with self.lock:
            for key in [k for k in self.minutes if k[2] < minute - 1]:
                del self.minutes[key]
            current = self.minutes.get((meter.name, subject, minute), 0)
            previous = self.minutes.get((meter.name, subject, minute - 1), 0)
            if previous * (1 - gone / WINDOW) + current + n > limit:
                return Verdict(False, _retry_after(n, limit, current, previous, gone / WINDOW))
            self.minutes[(meter.name, subject, minute)] = current + n
        if meter.record is not None:
            meter.record(subject, n, now)
        return Verdict(True)


@lru_cache(maxsize=1)
def allowance() -> RedisAllowance | LocalAllowance:
    url = settings.REDIS_URL
    return RedisAllowance(url) if url else LocalAllowance()


def take(organization_id: int, n: int) -> Verdict:
    return allowance().take(organization_id, n, settings.INGEST_EVENTS_PER_MINUTE)


def take_changes(organization_id: int, n: int) -> Verdict:
    """`n` changes of an organization, against its INGEST_CHANGES_PER_MINUTE."""
    return allowance().take(organization_id, n, settings.INGEST_CHANGES_PER_MINUTE, CHANGES)


def take_request(token_id: int) -> Verdict:
    """One request of an API token, against its API_REQUESTS_PER_MINUTE."""
    return allowance().take(token_id, 1, settings.API_REQUESTS_PER_MINUTE, API_REQUESTS)
