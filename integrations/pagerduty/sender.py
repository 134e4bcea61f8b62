"""Many HTTP POSTs at once from a synchronous program: one asyncio loop per process.

The loop runs aiohttp (on uvloop where installed) in a daemon thread; callers hand it a
batch of posts and get a `concurrent.futures.Future` of the answers, plus a list of flags
that turn true as each answer arrives (for renewing a lease on the rest meanwhile).

Why not threads: on the delivery benchmark's 2-core machine, urllib3 from 8 threads cost
about 0.7 ms of CPU per event (GIL hand-offs, http.client's pure-Python response
parsing); aiohttp on uvloop, with its C parser and one thread, about 0.2 ms. Against
PagerDuty, whose answers take tens of milliseconds, the sends are bounded by the
`concurrency` connections in flight, not by threads.

Nothing here knows Django or PagerDuty: `events.py` builds the posts and reads the answers.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import certifi

try:  # C event loop: a third of asyncio's cost per request
    import uvloop

    _new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
    _new_loop = asyncio.new_event_loop


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's answer to one post (`status` None: none came, `error` says why)."""

    status: int | None
    body: bytes = b""
    reason: str = ""
    latency_ms: int = 0
    error: str = ""  # "timeout", or the cause's class name ("ConnectionError", ...)


@dataclass(frozen=True, slots=True)
class Options:
    concurrency: int
    connect_timeout: float
    read_timeout: float
    headers: tuple[tuple[str, str], ...]


class Sender:
    """An event loop thread and its client session, for this process only."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.pid = os.getpid()
        self._loop = _new_loop()
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="http-sender", daemon=True
        )
        self._thread.start()

    def post_all(self, posts: list[tuple[str, bytes]]) -> tuple[Future[list[Answer]], list[bool]]:
        """POST each body to its URL, at most `concurrency` at a time; the answers in order."""
        done = [False] * len(posts)
        return self._submit(self._post_all(posts, done)), done

    def close(self, timeout: float = 2.0) -> None:
        """Close the connections and stop the loop (at exit)."""
        if self._loop.is_closed() or not self._thread.is_alive():
            return
        if self._session is not None:
            with contextlib.suppress(Exception):  # best effort, at exit
                self._submit(self._session.close()).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    def _proxy(self, url: str) -> str | None:
        """The proxy for `url` from the environment (HTTPS_PROXY, NO_PROXY...), as requests
        reads it; looked up once per URL (aiohttp's trust_env reads it on every request,
        tripling the cost of a post)."""
        if url not in self._proxies:
            parts = urlsplit(url)
            proxies = getproxies()
            bypass = proxy_bypass(parts.hostname or "") if proxies else True
            self._proxies[url] = None if bypass else proxies.get(parts.scheme)
        return self._proxies[url]

    def _submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            o = self.options
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=o.concurrency,
                    ssl=ssl.create_default_context(cafile=certifi.where()),
                    ttl_dns_cache=60,
                ),
                headers=dict(o.headers),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=o.connect_timeout, sock_read=o.read_timeout
                ),
                skip_auto_headers=("Accept-Encoding",),
            )
        return self._session

    async def _post_all(self, posts: list[tuple[str, bytes]], done: list[bool]) -> list[Answer]:
        session = self._client()

        async def post(i: int, url: str, body: bytes) -> Answer:
            answer = await _post(session, url, body, self._proxy(url))
            done[i] = True
            return answer

        return list(
            await asyncio.gather(*(post(i, url, body) for i, (url, body) in enumerate(posts)))
        )


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, proxy: str | None) -> Answer:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        async with session.post(url, data=body, proxy=proxy) as response:
            content = await response.read()
            return Answer(response.status, content, response.reason or "", elapsed())
    except TimeoutError:  # aiohttp's timeouts are TimeoutErrors
        return Answer(None, latency_ms=elapsed(), error="timeout")
    except (aiohttp.ClientConnectionError, ConnectionError):
        return Answer(None, latency_ms=elapsed(), error="ConnectionError")
    except (aiohttp.ClientError, ValueError) as exc:
        return Answer(None, latency_ms=elapsed(), error=exc.__class__.__name__)


_senders: dict[tuple[int, Options], Sender] = {}
_lock = threading.Lock()


def sender(options: Options) -> Sender:
    """This process's sender for `options` (made after a prefork worker forks)."""
    key = (os.getpid(), options)
    found = _senders.get(key)
    if found is None:
        with _lock:
            found = _senders.get(key)
            if found is None:
                found = _senders[key] = Sender(options)
    return found


@atexit.register
def _close_all() -> None:
    for (pid, _options), each in list(_senders.items()):
        if pid == os.getpid():
            each.close()
