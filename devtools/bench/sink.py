"""A fast stand-in for PagerDuty's Events API v2 (the loops that post to it: loops.py).

The sink answers every `POST /v2/enqueue` as PagerDuty does (202 and
`{"status":"success","message":"Event processed","dedup_key":...}`, the event's dedup key or
a new one), or 500 or 429 when switched to, and records each receipt: its time, the status
it answered, the event's dedup key and routing key.

It is a raw asyncio protocol on uvloop with httptools' HTTP parser (both C): here it takes
several times what aiohttp, uvicorn with a raw ASGI app or a keep-alive
`socketserver.ThreadingTCPServer` take (see README, "Benchmarks"). `--processes N` forks N
servers sharing the listening socket.

Its state is shared memory: a directory on tmpfs (/dev/shm) holding a one-byte `mode` file,
mapped by every server process and read on each request, and one append-only receipts file
per process (a line per request, written with one write(2)). `SinkClient` reads both; it
needs nothing from Django, nor does the sink.

    python -m devtools.bench.sink --port 18000 --dir /dev/shm/sink --processes 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import mmap
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson

REPO = Path(__file__).resolve().parents[2]

MODES = {b"2": 202, b"5": 500, b"4": 429}
BODIES = {
    500: b'{"status":"error","message":"Internal Server Error"}',
    429: b'{"status":"throttle event","message":"Requests for this service are arriving too '
    b'quickly. Please retry later."}',
    400: b'{"status":"invalid event","message":"Event object is invalid",'
    b'"errors":["Invalid JSON"]}',
}
REASONS = {202: b"Accepted", 500: b"Internal Server Error", 429: b"Too Many Requests"}
REASONS |= {400: b"Bad Request", 404: b"Not Found"}


# -- The server -----------------------------------------------------------------------------


def _clean(value: Any) -> str:
    return str(value or "-").replace("\t", " ").replace("\n", " ")[:255]


class _Protocol(asyncio.Protocol):
    """One keep-alive connection: httptools parses, each complete request is answered."""

    def __init__(self, mode: mmap.mmap, log_fd: int) -> None:
        import httptools

        self.mode = mode
        self.log_fd = log_fd
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception:  # a malformed request: drop the connection, as a server would
            if self.transport is not None:
                self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        received = time.time()
        body, url = b"".join(self.body), self.url
        self.body, self.url = [], b""
        status, answer = self._answer(url, body, received)
        keep = self.parser.should_keep_alive()
        head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
            status,
            REASONS[status],
            len(answer),
        )
        assert self.transport is not None
        self.transport.write(head + (b"\r\n" if keep else b"Connection: close\r\n\r\n") + answer)
        if not keep:
            self.transport.close()

    def _answer(self, url: bytes, body: bytes, received: float) -> tuple[int, bytes]:
        if self.parser.get_method() != b"POST" or url.split(b"?")[0] != b"/v2/enqueue":
            return 404, b'{"status":"not found"}'
        try:
            event = orjson.loads(body)
            if not isinstance(event, dict):
                raise ValueError
        except ValueError:
            return 400, BODIES[400]
        status = MODES.get(self.mode[:1], 202)
        dedup_key = _clean(event.get("dedup_key") or uuid.uuid4().hex)
        routing_key = _clean(event.get("routing_key"))
        os.write(self.log_fd, f"{received:.6f}\t{status}\t{dedup_key}\t{routing_key}\n".encode())
        if status != 202:
            return status, BODIES[status]
        answer = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        return 202, orjson.dumps(answer)


def _serve_one(sock: socket.socket, state: Path, index: int) -> None:
    import uvloop

    with (state / "mode").open("r+b") as f:
        mode = mmap.mmap(f.fileno(), 1)
    log_fd = os.open(state / f"receipts-{index}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(lambda: _Protocol(mode, log_fd), sock=sock, backlog=4096)
    )
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.run_forever()
    server.close()


def serve(port: int, state: Path, processes: int) -> None:
    """Listen on 127.0.0.1:`port`; with more than one process, the parent only waits."""
    state.mkdir(parents=True, exist_ok=True)
    mode = state / "mode"
    if not mode.exists():
        mode.write_bytes(b"2")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    sock.setblocking(False)
    if processes <= 1:
        _serve_one(sock, state, 0)
        return
    pids = []
    for index in range(processes):
        pid = os.fork()
        if pid == 0:
            _serve_one(sock, state, index)
            os._exit(0)
        pids.append(pid)

    def stop(*_: object) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    for pid in pids:
        os.waitpid(pid, 0)


# -- Its control: shared memory -------------------------------------------------------------


@dataclass
class SinkClient:
    """Reads the sink's receipts (incrementally) and switches its answers."""

    state: Path
    times: dict[str, list[float]] = field(default_factory=dict)  # dedup key -> receipts
    statuses: Counter[int] = field(default_factory=Counter)
    routing: Counter[str] = field(default_factory=Counter)  # routing key -> receipts
    distinct: dict[str, set[str]] = field(default_factory=dict)  # routing key -> dedup keys
    offsets: dict[str, int] = field(default_factory=dict)

    def set_mode(self, status: int) -> None:
        """Answer 202 (PagerDuty accepted), 500 or 429 from the next request on."""
        code = {v: k for k, v in MODES.items()}[status]
        with (self.state / "mode").open("r+b") as f, mmap.mmap(f.fileno(), 1) as m:
            m[:1] = code

    def refresh(self) -> int:
        """Read what arrived since the last call; the number of new receipts."""
        new = 0
        for path in sorted(self.state.glob("receipts-*.log")):
            start = self.offsets.get(path.name, 0)
            with path.open("rb") as f:
                f.seek(start)
                chunk = f.read()
            end = chunk.rfind(b"\n") + 1  # a line being written is read next time
            self.offsets[path.name] = start + end
            for line in chunk[:end].decode().splitlines():
                at, status, dedup_key, routing_key = line.split("\t")
                self.times.setdefault(dedup_key, []).append(float(at))
                self.statuses[int(status)] += 1
                self.routing[routing_key] += 1
                self.distinct.setdefault(routing_key, set()).add(dedup_key)
                new += 1
        return new

    def received(self) -> int:
        self.refresh()
        return sum(self.statuses.values())

    def wait_for(self, done: Callable[[], bool], timeout: float) -> bool:
        """Poll the receipts every 5 ms until `done()` holds; False on time-out."""
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            if done():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)

    def duplicates(self, keys: list[str]) -> int:
        """Receipts beyond the first among `keys`."""
        return sum(max(0, len(self.times.get(k, [])) - 1) for k in keys)


def state_dir(prefix: str = "sink-") -> Path:
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private directory in it
    return Path(tempfile.mkdtemp(prefix=prefix, dir=shm if shm.is_dir() else None))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Launch = Callable[[str, list[str]], "subprocess.Popen[bytes]"]


class Sink:
    """The sink as a child process; `launch(name, argv)` starts it (a bench's Children)."""

    def __init__(self, processes: int = 1, launch: Launch | None = None) -> None:
        self.port = free_port()
        self.state = state_dir()
        self.processes = processes
        self.launch = launch
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = SinkClient(self.state)

    @property
    def url(self) -> str:
        """The Events API base URL: events go to `url + "/v2/enqueue"`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> Sink:
        argv = [sys.executable, "-m", "devtools.bench.sink", "--port", str(self.port)]
        argv += ["--dir", str(self.state), "--processes", str(self.processes)]
        if self.launch is not None:
            self.proc = self.launch("sink", argv)
        else:
            self.proc = subprocess.Popen(argv, cwd=REPO, start_new_session=True)  # noqa: S603
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the sink exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the sink did not start")

    def stop(self) -> None:
        """Stop it (unless its launcher did) and remove its shared memory."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        shutil.rmtree(self.state, ignore_errors=True)

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="A fast local PagerDuty Events API v2 sink.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="its state (tmpfs)")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args(argv)
    serve(args.port, args.dir, args.processes)


if __name__ == "__main__":
    main(sys.argv[1:])
