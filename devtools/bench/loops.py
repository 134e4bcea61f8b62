"""Plain HTTP loops posting events to the sink: the fair limit (the engine's own HTTP client,
sender.py, with its concurrency; or urllib3 or requests from threads) and the sink's own
capacity (raw keep-alive sockets, the cheapest client)."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson


def _post_engine(url: str, bodies: list[bytes], go: Any, out: Any, concurrency: int) -> None:
    """All of `bodies` through the engine's sender (one event loop, aiohttp), at most
    `concurrency` in flight: the engine's sends without the engine."""
    from integrations.pagerduty.sender import Options, Sender

    headers = (("Content-Type", "application/json"),)
    sender = Sender(Options(concurrency, 5.0, 10.0, headers))
    sender.post_all([(url, b"[]")] * concurrency)[0].result()  # connected before the start
    go.wait()
    answers = sender.post_all([(url, body) for body in bodies])[0].result()
    out.put(dict(Counter(a.status for a in answers if a.status is not None)))
    sender.close()


def _post_pooled(
    url: str, bodies: list[bytes], go: Any, out: Any, threads: int = 1, client: str = "urllib3"
) -> None:
    """`threads` threads posting one after another through one pooled client per process:
    a urllib3 PoolManager shared by the threads, or a requests.Session per thread."""
    if client == "engine":
        _post_engine(url, bodies, go, out, threads)
        return
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    headers = {"Content-Type": "application/json"}
    if client == "urllib3":
        import urllib3

        pool = urllib3.PoolManager(num_pools=8, maxsize=max(4, threads), retries=False)
        timeout = urllib3.Timeout(connect=5, read=10)

        def poster() -> Any:
            return lambda body: (
                pool.request("POST", url, body=body, headers=headers, timeout=timeout).status
            )

    else:
        import requests
        from requests.adapters import HTTPAdapter

        def poster() -> Any:
            session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_maxsize=4, max_retries=0))
            session.trust_env = False
            return lambda body: (
                session.post(url, data=body, headers=headers, timeout=(5, 10)).status_code
            )

    def run(share: list[bytes], ready: threading.Barrier) -> None:
        post = poster()
        post(b"[]")  # connected before the start (a 400, not recorded)
        ready.wait()
        go.wait()
        mine: Counter[int] = Counter(post(body) for body in share)
        with lock:
            statuses.update(mine)

    ready = threading.Barrier(threads)
    workers = [
        threading.Thread(target=run, args=(bodies[i::threads], ready)) for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(dict(statuses))


def _post_raw(url: str, bodies: list[bytes], go: Any, out: Any, threads: int) -> None:
    """`threads` raw keep-alive sockets: what the sink takes, the client costing least."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def run(share: list[bytes]) -> None:
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine: Counter[int] = Counter()
        go.wait()
        for body in share:
            head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            head_bytes, _, rest = buf.partition(b"\r\n\r\n")
            length = int(head_bytes.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += sock.recv(65536)
            mine[int(head_bytes.split(b" ", 2)[1])] += 1
        sock.close()
        with lock:
            statuses.update(mine)

    workers = [threading.Thread(target=run, args=(bodies[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(dict(statuses))


@dataclass
class LoopResult:
    seconds: float
    statuses: Counter[int]

    @property
    def per_s(self) -> float:
        return sum(self.statuses.values()) / self.seconds


def post_all(
    url: str, bodies: list[bytes], processes: int, threads: int = 1, client: str = "engine"
) -> LoopResult:
    """Post `bodies` to `url` from `processes` processes (spawned: none inherits the
    caller's database connections) of `threads` threads (or, for the engine's client,
    requests in flight) each, with keep-alive clients: "engine" (the delivery engine's
    sender, one per process), "urllib3" (one PoolManager per process), "requests" (a
    Session per thread) or "raw" (a socket per thread, the cheapest). Timed from when all are
    connected to when the last answer is in."""
    if client == "raw":
        return run_processes(
            _post_raw, [(url, bodies[i::processes], threads) for i in range(processes)]
        )
    return run_processes(
        _post_pooled,
        [(url, bodies[i::processes], threads, client) for i in range(processes)],
    )


def run_processes(target: Any, shares: list[tuple[Any, ...]], before: int = 2) -> LoopResult:
    """Run `target` in a spawned process per share, with the start event and the result
    queue placed after the share's first `before` arguments; timed from when all are up
    and connected to when the last has put its statuses."""
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(*share[:before], go, out, *share[before:]))
        for share in shares
    ]
    for p in procs:
        p.start()
    time.sleep(0.6 + 0.2 * len(procs))  # interpreters up and connected
    started = time.monotonic()
    go.set()
    statuses: Counter[int] = Counter()
    for _ in procs:
        statuses.update(out.get(timeout=600))
    seconds = time.monotonic() - started
    for p in procs:
        p.join()
    return LoopResult(seconds, statuses)


def sample_bodies(n: int, prefix: str, routing_keys: list[str]) -> list[bytes]:
    """`n` trigger events shaped as the engine sends them."""
    return [
        orjson.dumps(
            {
                "event_action": "trigger",
                "dedup_key": f"{prefix}-{i}",
                "payload": {"summary": f"{prefix} {i}", "source": "bench", "severity": "info"},
                "routing_key": routing_keys[i % len(routing_keys)],
            }
        )
        for i in range(n)
    ]
