"""Plain HTTP loops posting events to the sink: the fair limit (a pooled requests.Session
per client, configured as the engine's) and the sink's own capacity (raw keep-alive sockets,
the cheapest client)."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson


def _post_requests(url: str, bodies: list[bytes], go: Any, out: Any) -> None:
    """One pooled requests.Session, configured as the engine's, posting one after another."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("http://", adapter)
    session.trust_env = False
    headers = {"Content-Type": "application/json"}
    session.get(url, timeout=10)  # connected before the start (a 404, not recorded)
    go.wait()
    statuses: Counter[int] = Counter()
    for body in bodies:
        statuses[session.post(url, data=body, headers=headers, timeout=(5, 10)).status_code] += 1
    out.put(dict(statuses))


def _post_raw(url: str, bodies: list[bytes], go: Any, out: Any, threads: int = 4) -> None:
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


def post_all(url: str, bodies: list[bytes], processes: int, client: str = "requests") -> LoopResult:
    """Post `bodies` to `url` from `processes` processes (spawned: none inherits the
    caller's database connections), each with its own keep-alive client: "requests" (one
    session, as the engine's) or "raw" (four sockets each). Timed from when all are
    connected to when the last answer is in."""
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    target = _post_requests if client == "requests" else _post_raw
    procs = [
        ctx.Process(target=target, args=(url, bodies[i::processes], go, out))
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    time.sleep(0.5 + 0.2 * processes)  # interpreters up and connected
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
