"""PagerDuty's Events API limit (about 120 events a minute per integration key, over a
60-second window looking back from now), enforced across all workers.

With Redis (production, tests) the window is a sorted set per key, updated atomically by a
Lua script. The embedded default (no Redis) keeps the window in the worker process.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import defaultdict, deque
from functools import lru_cache

import redis
from django.conf import settings

LIMIT = 120
WINDOW = 60.0

# KEYS[1] the window; ARGV: now, window, limit, member. Returns 0 when a slot was taken,
# else the seconds (as a string) until the oldest entry leaves the window.
_RESERVE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


def _key(routing_key: str) -> str:
    # Never the routing key itself: it is a secret.
    return "pd:events-window:" + hashlib.sha256(routing_key.encode()).hexdigest()[:32]


class RedisWindow:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_RESERVE)

    def reserve(self, routing_key: str, limit: int = LIMIT, window: float = WINDOW) -> float:
        """Take a slot now (0.0) or say how many seconds until one frees up."""
        wait = self.script(
            keys=[_key(routing_key)], args=[time.time(), window, limit, uuid.uuid4().hex]
        )
        return max(0.0, float(wait))


class LocalWindow:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[str, deque[float]] = defaultdict(deque)

    def reserve(self, routing_key: str, limit: int = LIMIT, window: float = WINDOW) -> float:
        now = time.time()
        with self.lock:
            times = self.sent[_key(routing_key)]
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) < limit:
                times.append(now)
                return 0.0
            return times[0] + window - now


@lru_cache(maxsize=1)
def limiter() -> RedisWindow | LocalWindow:
    url = settings.REDIS_URL
    return RedisWindow(url) if url else LocalWindow()
