"""Injected failures: the next N requests to a host fail in a chosen way."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

HOSTS = ("identity", "rest-us", "rest-eu", "events-us", "events-eu")
MODES = ("500", "429", "hang", "drop", "refuse")
# "refuse": an Events API request answered as for a routing key PagerDuty does not know (400,
# "Invalid routing key"), though it does: a refusal that passes (events hosts only).


@dataclass
class Fault:
    """A pending failure for one host."""

    host: str
    mode: str
    remaining: int
    seconds: float = 0.0
    id: int = 0

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultRegistry:
    """Thread-safe FIFO of faults per host; ``clear`` also wakes up hanging requests."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _queues: dict[str, deque[Fault]] = field(default_factory=dict)
    _wake: threading.Event = field(default_factory=threading.Event)
    _next_id: int = 1

    def add(self, host: str, mode: str, count: int = 1, seconds: float = 0.0) -> Fault:
        """Queue a fault; raises ValueError on bad input."""
        if host not in HOSTS:
            raise ValueError(f"host must be one of {', '.join(HOSTS)}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        if mode == "refuse" and not host.startswith("events-"):
            raise ValueError("mode 'refuse' is for the events hosts only")
        bad_seconds = isinstance(seconds, bool) or not isinstance(seconds, int | float)
        if mode == "hang" and (bad_seconds or seconds <= 0):
            raise ValueError("seconds must be a positive number for mode 'hang'")
        with self._lock:
            fault = Fault(host, mode, count, float(seconds or 0.0), self._next_id)
            self._next_id += 1
            self._queues.setdefault(host, deque()).append(fault)
            return fault

    def take(self, host: str) -> Fault | None:
        """Consume one use of the oldest fault queued for ``host``."""
        with self._lock:
            queue = self._queues.get(host)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return Fault(fault.host, fault.mode, fault.remaining, fault.seconds, fault.id)

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for q in self._queues.values() for f in q]

    def clear(self) -> None:
        """Drop queued faults and release any request currently hanging."""
        with self._lock:
            self._queues.clear()
            self._wake.set()
            self._wake = threading.Event()

    def hang(self, seconds: float) -> bool:
        """Block the calling thread for ``seconds``; False if ``clear`` cut it short."""
        with self._lock:
            wake = self._wake
        return not wake.wait(seconds)


def drop_connection(environ: dict[str, Any]) -> bool:
    """Shut the client's TCP connection without sending a response.

    Works with werkzeug's development server, which exposes the socket as
    ``werkzeug.socket``. Returns False when no socket is available.
    """
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return False
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    return True
