"""What `make bench` posts at the ingest API while it measures: ``Load``, client threads
posting batches for the throughput phases, and ``Sampler``, crossings of the probe alerts one
at a time for firing latency, timed to the sandbox's receipt of each trigger."""

from __future__ import annotations

import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import requests
from django.core.management.base import CommandError

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from devtools.bench import alert_mix
from devtools.bench.common import percentile
from devtools.sandbox.testing import SandboxClient
from integrations.pagerduty.models import PagerDutyService


@dataclass
class Load:
    """Client threads posting pre-serialised batches until told to stop."""

    url: str
    secret: str
    batches: list[bytes]
    threads: int
    accepted: int = 0
    requests: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.started = time.monotonic()
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=60)
        self.finished = time.monotonic()

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def _run(self, n: int) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {self.secret}", "Content-Type": "application/json"}
        i = n * 7
        while not self._stop.is_set():
            body = self.batches[i % len(self.batches)]
            i += 1
            try:
                response = session.post(self.url, data=body, headers=headers, timeout=60)
            except requests.RequestException as exc:
                self._count(0, f"{exc.__class__.__name__}")
                continue
            if response.status_code == 202:
                self._count(int(response.json()["accepted"]), None)
            else:
                self._count(0, f"HTTP {response.status_code}: {response.text[:200]}")
        session.close()

    def _count(self, accepted: int, failure: str | None) -> None:
        with self._lock:
            self.requests += 1
            self.accepted += accepted
            if failure:
                self.failures[failure] = self.failures.get(failure, 0) + 1


class Sampler:
    """Crossings of the probe alerts, one at a time at a steady pace, per named phase."""

    def __init__(
        self,
        url: str,
        secret: str,
        probes: list[Alert],
        services: list[PagerDutyService],
        sandbox: SandboxClient,
    ) -> None:
        self.url = url
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        )
        self.probes = probes
        self.services = services
        self.sent: dict[str, tuple[str, float]] = {}  # dedup key -> (phase, epoch at POST)
        self.n = 0
        self.rng = random.Random(11)

    def run(self, phase: str, samples: int, rate: float) -> dict[str, Any]:
        posts: list[float] = []
        interval = 1 / rate
        start = time.monotonic()
        for i in range(samples):
            k = self.n % len(self.probes)
            self.n += 1
            probe = self.probes[k]
            # The probe's previous firing is cleared first (a resolve goes out): the next
            # matching event crosses the threshold again.
            for firing in Firing.objects.filter(alert=probe, cleared_at__isnull=True):
                firings.clear_firing(firing, Firing.ClearReason.CLEARED, datetime.now(UTC), 0)
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            event = alert_mix.make_event(self.rng, datetime.now(UTC))
            event["attributes"]["probe"] = f"p{k}"
            body = orjson.dumps([event])
            posted = time.time()
            response = self.session.post(self.url, data=body, timeout=60)
            posts.append((time.time() - posted) * 1000)
            if response.status_code != 202:
                raise CommandError(f"a probe POST got {response.status_code}: {response.text}")
            firing = self._opened(probe)
            self.sent[firing.dedup_key(self.services[k].pk)] = (phase, posted)
        return {
            "count": samples,
            "rate": rate,
            "post_p50_ms": round(statistics.median(posts), 1),
            "post_max_ms": round(max(posts), 1),
        }

    def _opened(self, probe: Alert, timeout: float = 30) -> Firing:
        """The probe's open firing (the POST opens it, or soon after)."""
        deadline = time.monotonic() + timeout
        while True:
            firing = Firing.objects.filter(alert=probe, cleared_at__isnull=True).first()
            if firing is not None:
                return firing
            if time.monotonic() > deadline:
                raise CommandError(f"{probe.name} did not fire")
            time.sleep(0.01)

    def collect(self, timeout: float = 60) -> dict[str, dict[str, Any]]:
        """Latency per phase since the last collect, from the sandbox's receipt of each
        trigger."""
        received: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.sandbox.events(kind="alert", event_action="trigger"):
                if event["dedup_key"] in self.sent:
                    received.setdefault(event["dedup_key"], event["received_at_epoch"])
            if len(received) == len(self.sent):
                break
            time.sleep(0.5)
        missing = set(self.sent) - set(received)
        if missing:
            raise CommandError(f"{len(missing)} triggers never reached the sandbox")
        by_phase: dict[str, list[float]] = {}
        for key, (phase, posted) in self.sent.items():
            by_phase.setdefault(phase, []).append((received[key] - posted) * 1000)
        self.sent.clear()
        return {
            phase: {
                "p50_ms": round(statistics.median(values), 1),
                "p99_ms": round(percentile(values, 99), 1),
                "max_ms": round(max(values), 1),
                "min_ms": round(min(values), 1),
                "samples_ms": [round(v, 1) for v in values],
            }
            for phase, values in by_phase.items()
        }
