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
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

LIMIT = 120
WINDOW = 60.0

# KEYS: one window per routing key. ARGV: now, window, limit, a unique tag, then the number
# of slots wanted per key. Returns, per key, the slots taken and (as a string) the seconds
# until the oldest entry leaves the window when fewer were free than wanted, else "0".
_RESERVE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local out = {}
for i, key in ipairs(KEYS) do
  local want = tonumber(ARGV[4 + i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local free = limit - redis.call('ZCARD', key)
  local grant = math.max(0, math.min(want, free))
  for j = 1, grant do
    redis.call('ZADD', key, now, ARGV[4] .. ':' .. i .. ':' .. j)
  end
  if grant > 0 then
    redis.call('EXPIRE', key, math.ceil(window) + 1)
  end
  local wait = '0'
  if grant < want then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = tostring(tonumber(oldest[2]) + window - now)
  end
  out[#out + 1] = grant
  out[#out + 1] = wait
end
return out
"""


@dataclass(frozen=True)
class Grant:
    """Slots taken for one key, and how long until the next one frees up if short."""

    granted: int
    wait: float


def _key(routing_key: str) -> str:
    # Never the routing key itself: it is a secret.
    return "pd:events-window:" + hashlib.sha256(routing_key.encode()).hexdigest()[:32]


class RedisWindow:
    """The window in Redis, shared by every worker: one round trip reserves for many keys."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_RESERVE)

    def reserve_many(
        self, wanted: dict[str, int], limit: int = LIMIT, window: float = WINDOW
    ) -> dict[str, Grant]:
        """Take up to `wanted[key]` slots now for each routing key, in one round trip."""
        keys = list(wanted)
        if not keys:
            return {}
        reply = self.script(
            keys=[_key(k) for k in keys],
            args=[time.time(), window, limit, uuid.uuid4().hex, *(wanted[k] for k in keys)],
        )
        return {
            key: Grant(int(reply[2 * i]), max(0.0, float(reply[2 * i + 1])))
            for i, key in enumerate(keys)
        }

    def reserve(self, routing_key: str, limit: int = LIMIT, window: float = WINDOW) -> float:
        """Take a slot now (0.0) or say how many seconds until one frees up."""
        grant = self.reserve_many({routing_key: 1}, limit, window)[routing_key]
        return 0.0 if grant.granted else grant.wait


class LocalWindow:
    """The window in this process (the embedded default, without Redis)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[str, deque[float]] = defaultdict(deque)

    def reserve_many(
        self, wanted: dict[str, int], limit: int = LIMIT, window: float = WINDOW
    ) -> dict[str, Grant]:
        now = time.time()
        grants = {}
        with self.lock:
            for routing_key, want in wanted.items():
                times = self.sent[_key(routing_key)]
                while times and times[0] <= now - window:
                    times.popleft()
                granted = max(0, min(want, limit - len(times)))
                times.extend([now] * granted)
                wait = times[0] + window - now if granted < want else 0.0
                grants[routing_key] = Grant(granted, max(0.0, wait))
        return grants

    def reserve(self, routing_key: str, limit: int = LIMIT, window: float = WINDOW) -> float:
        grant = self.reserve_many({routing_key: 1}, limit, window)[routing_key]
        return 0.0 if grant.granted else grant.wait


@lru_cache(maxsize=1)
def limiter() -> RedisWindow | LocalWindow:
    url = settings.REDIS_URL
    return RedisWindow(url) if url else LocalWindow()
