"""CPU time per event of POST /api/v1/events, in this process (`python -m devtools.bench
ingest-cpu`).

`make bench` measures events/s per gunicorn core, which wall-clock noise on a shared
machine spoils. This measures what that figure is made of, the web process's CPU time per
event, and nothing else: the whole request path (WSGI handler, middleware, the ingest key,
the allowance, judging, matching, counting) runs here, on PostgreSQL and Redis, for
batches of the bench's mix (`alert_mix`) at each alert count (`alert_set`, as `make bench`
switches them). 25,000 events/s per core means at most 40 µs per event. Beside it, the
Redis server's CPU and this connection's PostgreSQL backend's, per event: on a machine of
two cores, where the bench's events/s at 2,000 alerts over those at 50 is about the ratio
of all processes' CPU per event, these count too.

CPU time still grows when other processes crowd the cores, so each count runs several
passes and the cheapest is reported (all are listed). It uses the database and Redis of
the settings it runs with (point REDIS_URL at a Redis server of its own for a Redis figure
that is this run's alone) and an organization of its own (`bench-ingest-cpu`), replaced on
each run. `--profile` prints where the time goes (a sampling profile of CPU time).
"""

from __future__ import annotations

import io
import math
import signal
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from types import FrameType
from typing import Any

import orjson
import redis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings

from alerts_saas.accounts.models import Organization, User
from alerts_saas.accounts.services import create_organization
from alerts_saas.ingest.models import IngestKey
from devtools.bench import alert_mix, alert_set
from devtools.bench.common import _cpu_seconds
from devtools.bench.ingest import alert_counts
from integrations.pagerduty.models import PagerDutyService

ORG_SLUG = "bench-ingest-cpu"
PATH = "/api/v1/events"
SERVICES = 3
TARGET_US = 40.0  # 25,000 events/s per core


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@dataclass(frozen=True)
class Spent:
    """What one pass cost, in seconds: this process's CPU, the wall clock, the Redis
    server's CPU (all of it: on a shared server, others' work counts too) and this
    connection's PostgreSQL backend."""

    events: int
    cpu: float
    wall: float
    redis: float
    postgres: float


@dataclass(frozen=True)
class Figure:
    """The best of several passes at one alert count, in µs per event."""

    alerts: int
    events: int
    cpu_us: float
    passes_us: list[float]
    wall_us: float
    redis_us: float
    postgres_us: float

    @classmethod
    def of(cls, alerts: int, passes: list[Spent]) -> Figure:
        best = min(passes, key=lambda spent: spent.cpu / spent.events)
        per = 1e6 / best.events
        return cls(
            alerts,
            best.events,
            best.cpu * per,
            [round(1e6 * spent.cpu / spent.events, 1) for spent in passes],
            best.wall * per,
            best.redis * per,
            best.postgres * per,
        )

    @property
    def all_us(self) -> float:
        return self.cpu_us + self.redis_us + self.postgres_us

    def line(self) -> str:
        return (
            f"{self.alerts:>6,} alerts: {self.cpu_us:5.1f} µs CPU per event "
            f"({1e6 / self.cpu_us:,.0f} events/s per core; passes {self.passes_us}); "
            f"wall {self.wall_us:.1f} µs, Redis {self.redis_us:.1f} µs, "
            f"PostgreSQL {self.postgres_us:.1f} µs"
        )


class Poster:
    """POSTs bodies through Django's WSGI handler, as gunicorn hands them over."""

    def __init__(self, secret: str) -> None:
        self.handler = WSGIHandler()
        self.secret = secret

    def post(self, body: bytes) -> dict[str, Any]:
        answer: list[str] = []
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": PATH,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {self.secret}",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }

        def start_response(status: str, headers: Any, *exc_info: Any) -> Any:
            answer.append(status)
            return lambda data: None

        content = b"".join(self.handler(environ, start_response))
        if not answer[0].startswith("202"):
            raise CommandError(f"POST {PATH} answered {answer[0]}: {content[:300]!r}")
        result: dict[str, Any] = orjson.loads(content)
        return result


def measure(poster: Poster, batches: list[bytes]) -> Spent:
    """What posting each of `batches` once cost."""
    backend = _backend()
    redis_before, postgres_before = _redis_seconds(), _cpu_seconds(backend)
    events = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for body in batches:
        events += poster.post(body)["accepted"]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Spent(
        events,
        cpu,
        wall,
        _redis_seconds() - redis_before,
        _cpu_seconds(backend) - postgres_before if backend == _backend() else math.nan,
    )


def _backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid: int = cursor.fetchone()[0]
    return pid


def _redis_seconds() -> float:
    """The Redis server's CPU so far (INFO cpu): a server of its own gives this run's."""
    cpu = _redis().info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


class Command(BaseCommand):
    help = "CPU µs per event of POST /api/v1/events in this process, at several alert counts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--alerts", default="50,500,2000", help="alert counts, separated by commas"
        )
        parser.add_argument("--batch", type=int, default=500, help="events per POST")
        parser.add_argument("--batches", type=int, default=20, help="POSTs per pass")
        parser.add_argument(
            "--passes", type=int, default=5, help="passes per count; the cheapest is reported"
        )
        parser.add_argument(
            "--profile", action="store_true", help="print a profile (CPU time) per count"
        )
        parser.add_argument("--top", type=int, default=30, help="functions the profile lists")

    def handle(self, *args: Any, **opts: Any) -> None:
        if connection.vendor != "postgresql" or not settings.REDIS_URL:
            raise CommandError("Run it on PostgreSQL and Redis (DATABASE_URL, REDIS_URL).")
        counts = alert_counts(opts["alerts"])
        # As in production: no query log; no allowance in the way.
        with override_settings(DEBUG=False, INGEST_EVENTS_PER_MINUTE=10**12):
            figures = self._run(counts, opts)
        by_alerts = {figure.alerts: figure for figure in figures}
        if 50 in by_alerts and 2000 in by_alerts:
            few, many = by_alerts[50], by_alerts[2000]
            web = few.cpu_us / many.cpu_us
            every = few.all_us / many.all_us
            self.stdout.write(
                f"CPU per event at 50 alerts / at 2,000: web {web:.2f}, with Redis and "
                f"PostgreSQL {every:.2f} (the bench's events/s ratio on two cores)"
            )
        self.stdout.write(
            f"(the best pass of each count; 25,000 events/s per core is {TARGET_US:.0f} µs)"
        )

    def _run(self, counts: list[int], opts: dict[str, Any]) -> list[Figure]:
        org, user, secret, services = _organization()
        poster = Poster(secret)
        batches = alert_mix.make_batches(opts["batches"], opts["batch"])
        figures = []
        for count in counts:
            alert_set.switch(org, user, services, count, 0)
            measure(poster, batches[:3])  # warm: the index compiled, the scripts loaded
            with Sampler(enabled=opts["profile"]) as sampler:
                passes = [measure(poster, batches) for _ in range(opts["passes"])]
            if opts["profile"]:
                self.stdout.write(f"\n--- where the CPU went at {count} alerts ---")
                self.stdout.write(sampler.report(opts["top"]))
            figure = Figure.of(count, passes)
            self.stdout.write(figure.line())
            figures.append(figure)
        return figures


class Sampler:
    """A sampling profiler of this process's CPU time (SIGPROF every millisecond of it):
    each sample counts the running function (its own time, C calls included) and every
    function on the stack (inclusive). Cheap enough not to change the picture, unlike a
    tracing profiler that reads the clock on every call."""

    def __init__(self, enabled: bool = True, interval: float = 0.001) -> None:
        self.enabled, self.interval = enabled, interval
        self.own: Counter[str] = Counter()
        self.within: Counter[str] = Counter()
        self.samples = 0
        self._previous: Any = None

    def __enter__(self) -> Sampler:
        if self.enabled:
            self._previous = signal.signal(signal.SIGPROF, self._sample)
            signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            signal.setitimer(signal.ITIMER_PROF, 0, 0)
            signal.signal(signal.SIGPROF, self._previous)

    def _sample(self, signum: int, frame: FrameType | None) -> None:
        self.samples += 1
        seen: set[str] = set()
        while frame is not None:
            code = frame.f_code
            name = f"{code.co_name} ({_short(code.co_filename)}:{code.co_firstlineno})"
            if not seen:
                self.own[name] += 1
            if name not in seen:
                seen.add(name)
                self.within[name] += 1
            frame = frame.f_back

    def report(self, top: int) -> str:
        total = max(1, self.samples)
        lines = [f"{self.samples} samples; own time:"]
        lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in self.own.most_common(top)]
        lines.append("including what they call:")
        lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in self.within.most_common(top)]
        return "\n".join(lines)


def _short(path: str) -> str:
    for marker in ("site-packages/", str(settings.BASE_DIR) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _organization() -> tuple[Organization, User, str, list[PagerDutyService]]:
    """A fresh organization with an ingest key and a few services for the alerts' targets."""
    Organization.objects.filter(slug=ORG_SLUG).delete()
    user, _ = User.objects.get_or_create(email="bench-ingest-cpu@tripwire.localhost")
    org = create_organization(user, "Bench ingest CPU", ORG_SLUG)
    _, secret = IngestKey.issue(org, "bench")
    services = [
        PagerDutyService.objects.create(
            organization=org, name=f"bench service {k}", integration_key=f"{k:032d}"
        )
        for k in range(SERVICES)
    ]
    return org, user, secret, services
