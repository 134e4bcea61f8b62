"""Sliding-window rate limiter (a log of request times per key)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one rate-limit check, with the values for ratelimit-* headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class SlidingWindowLimiter:
    """Allows ``limit`` hits per ``window`` seconds looking back from now, per key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, limit: int, window: float, now: float | None = None) -> RateDecision:
        """Record a request for ``key`` unless it is over the limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            allowed = len(hits) < limit
            if allowed:
                hits.append(now)
            remaining = max(0, limit - len(hits))
            reset = math.ceil(hits[0] + window - now) if hits else math.ceil(window)
            return RateDecision(allowed, limit, remaining, reset)

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._hits.clear()
