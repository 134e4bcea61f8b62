"""Ingest and firing benchmark (`make bench`), at several alert counts.

Reports, on PostgreSQL, Redis, a real Celery worker and the local PagerDuty sandbox, for
each alert count of `--alerts` (50, 500 and 2,000 by default):

- ingest throughput: events per second accepted by POST /api/v1/events (gunicorn, production
  settings over plain http) in batches of 500, posted by a few keep-alive client threads for
  a fixed time after a warm-up, with the cores each process used; and events/s per core
  the gunicorn processes used;
- firing latency: p50 and p99 from just before the threshold-crossing POST to the sandbox's
  receipt of the trigger, at a modest pace with nothing else running ("quiet"), and again
  while the throughput load runs ("under load").

The organization holds, at each count, that many alerts of a team's variety and the events
are a team's stream (`alert_mix`): 120 apps, their hosts, levels, messages, attributes;
alerts on one app or host each (errors, "message contains", regular expressions, attribute
rules, combinations, some absence alerts) and a few organization-wide ones, so that only a
handful can match any one event. Their thresholds are out of reach of the throughput
phase: at these rates any everyday threshold is crossed in the first second, and with no
beat to clear it the alert then stays firing for the run. Firing is measured by ten
"probe" alerts (attribute `probe` equals `p<k>`, threshold 1, one PagerDuty service each),
kept at every count: a sample posts one event with that attribute; the bench clears the
probe's firing (which sends a resolve, as in life) before it uses the same probe again.

The processes start once; the alert set is switched between counts in bulk (`alert_set`),
and the bench checks through the API that the product took the new set (its canary alert
fires) before it measures. It uses the database and Redis of the settings it runs with (the
Makefile points it at the scratch `tripwire_bench` database and Redis databases of its
own). Every process it starts is stopped on the way out.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from alerts_saas.accounts.models import Organization, User
from alerts_saas.accounts.services import create_organization
from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.models import IngestKey
from devtools.bench import alert_mix, alert_set, ingest_report
from devtools.bench.common import (
    BUSY_MACHINE,
    Children,
    CpuMeter,
    percentile,
    production_env,
    sandbox_services,
    start_worker,
)
from devtools.sandbox.testing import SandboxClient, SandboxProcess, free_port
from integrations.pagerduty.models import PagerDutyService

REPO = Path(settings.BASE_DIR)
ORG_SLUG = "bench-ingest"
PROBES = 10  # probe alerts, each on its own PagerDuty service (integration key)
DEFAULT_ALERTS = "50,500,2000"
MIX_SAMPLE = 3000  # events of the mix checked for how many alerts each one meets


def alert_counts(text: str) -> list[int]:
    """`--alerts`: counts separated by commas, each room for the probes and the canary."""
    try:
        counts = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise CommandError(f"--alerts takes counts separated by commas, not {text!r}") from None
    if not counts or counts[0] < PROBES + 1:
        raise CommandError(f"--alerts: each count must be at least {PROBES + 1}")
    return counts


# -- Load -----------------------------------------------------------------------------------


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


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class Command(BaseCommand):
    help = (
        "Measure ingest throughput and firing latency at several alert counts "
        "(gunicorn, Celery, the sandbox)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--alerts",
            default=DEFAULT_ALERTS,
            help=f"alert counts, separated by commas (default {DEFAULT_ALERTS}); "
            f"each holds the {PROBES} probes and a canary",
        )
        parser.add_argument(
            "--seconds", type=float, default=15.0, help="length of each throughput phase"
        )
        parser.add_argument("--warmup", type=float, default=3.0, help="warm-up per count")
        parser.add_argument("--batch", type=int, default=500, help="events per POST")
        parser.add_argument("--threads", type=int, default=4, help="client threads")
        parser.add_argument(
            "--web-workers",
            type=int,
            default=3,
            help="gunicorn workers (2 or 3 measure the same here; 3 as in the Dockerfile)",
        )
        parser.add_argument(
            "--web-class", default="sync", help="gunicorn worker class (sync, gthread)"
        )
        parser.add_argument(
            "--web-threads", type=int, default=1, help="threads per gunicorn worker (gthread)"
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=2,
            help="Celery worker processes (1 and 2 measure the same at this "
            "pace; 2 takes a trigger and a resolve at once)",
        )
        parser.add_argument(
            "--samples", type=int, default=60, help="latency samples per latency phase"
        )
        parser.add_argument("--rate", type=float, default=5.0, help="latency samples per s")
        parser.add_argument(
            "--no-loaded", action="store_true", help="skip the latency phases under load"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if connection.vendor != "postgresql" or not settings.REDIS_URL:
            raise CommandError("Run it on PostgreSQL and Redis: `make bench`.")
        counts = alert_counts(opts["alerts"])
        started = time.monotonic()
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        children = Children("bench-ingest")
        try:
            with SandboxProcess(log_path=children.logs / "sandbox.log") as sandbox:
                sandbox.configure(events_rate_limit=100_000)
                org = self._setup(sandbox)
                env = self._child_env(sandbox)
                self.stdout.write(
                    f"Starting the Celery worker (concurrency {opts['concurrency']})..."
                )
                start_worker(children, env, opts["concurrency"], "bench-ingest")
                base = self._start_web(children, env, opts)
                meter = CpuMeter(
                    children, {"sandbox": sandbox.process.pid if sandbox.process else None}
                )
                idle = self._idle(meter)
                sampler = Sampler(
                    f"{base}/api/v1/events", org.secret, org.probes, org.services, sandbox
                )
                runs = [self._measure(n, base, org, meter, sampler, opts) for n in counts]
        except KeyboardInterrupt:
            raise CommandError("Interrupted; the processes it started are stopped.") from None
        finally:
            children.stop_all()
            signal.signal(signal.SIGTERM, previous)
        setup = self._described(opts, idle, time.monotonic() - started)
        result = ingest_report.summarise(runs, setup)
        result["logs"] = str(children.logs)
        saved = ingest_report.save(result)
        report = ingest_report.lines(result, self.style.WARNING)
        report += ["", f"Saved to {saved} (process logs in {children.logs})"]
        self.stdout.write("\n".join(report))

    # -- setup ------------------------------------------------------------------------------
    def _setup(self, sandbox: SandboxProcess) -> BenchOrg:
        self.stdout.write(f"Setting up: organization, ingest key, {PROBES} services and probes...")
        Organization.objects.filter(slug=ORG_SLUG).delete()
        user, _ = User.objects.get_or_create(email="bench-ingest@tripwire.localhost")
        org = create_organization(user, "Bench ingest", ORG_SLUG)
        _, secret = IngestKey.issue(org, "bench")
        services = sandbox_services(sandbox, org, PROBES)
        if len(services) < PROBES:
            raise CommandError(f"the sandbox has {len(services)} US services; {PROBES} needed")
        probes = alert_set.create_probes(org, user, services)
        return BenchOrg(org, user, secret, services, probes)

    def _child_env(self, sandbox: SandboxProcess) -> dict[str, str]:
        """Production settings over plain http, on this run's database, Redis and secrets."""
        env = production_env(
            INGEST_EVENTS_PER_MINUTE=str(10**12), PAGERDUTY_IDENTITY_URL=sandbox.identity_url
        )
        for region in ("us", "eu"):
            env[f"PAGERDUTY_REST_URL_{region.upper()}"] = sandbox.rest_url(region)
            env[f"PAGERDUTY_EVENTS_URL_{region.upper()}"] = sandbox.events_url(region)
        return env

    def _start_web(self, children: Children, env: dict[str, str], opts: dict[str, Any]) -> str:
        port = free_port()
        self.stdout.write(
            f"Starting gunicorn ({opts['web_workers']} {opts['web_class']} "
            f"workers) on port {port}..."
        )
        proc = children.start(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "alerts_saas.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(opts["web_workers"]),
                "--worker-class",
                opts["web_class"],
                "--threads",
                str(opts["web_threads"]),
                "--log-level",
                "warning",
                "--timeout",
                "60",
            ],
            env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                response = requests.get(f"{base}/healthz", timeout=2)
            except requests.RequestException:
                time.sleep(0.2)
                continue
            if response.status_code in (200, 503):
                return base
            break
        raise CommandError(f"gunicorn did not start:\n{children.log('gunicorn')}")

    # -- measurements -----------------------------------------------------------------------
    def _idle(self, meter: CpuMeter) -> float:
        """Cores other processes take before the bench does anything; warned about."""
        before = meter.sample()
        time.sleep(2.0)
        idle = CpuMeter.spent(before, meter.sample(), 2.0)["other processes"]
        if idle > BUSY_MACHINE:
            self.stdout.write(
                self.style.WARNING(
                    f"Other processes keep {idle:.2f} cores busy: the figures will suffer."
                )
            )
        return idle

    def _switch(self, count: int, base: str, org: BenchOrg) -> dict[str, Any]:
        """Put `count` alerts in place and check, through the API, that the product took
        them: one event meeting the new canary must fire it."""
        switched = alert_set.switch(org.organization, org.user, org.services, count, PROBES)
        self.stdout.write(
            f"\n{count} alerts: {switched.added} added, {switched.deleted} deleted in "
            f"{switched.seconds:.2f} s..."
        )
        rng = random.Random(count)
        event = alert_mix.make_event(rng, datetime.now(UTC))
        event["attributes"][alert_set.CANARY_ATTRIBUTE] = str(count)
        # Sent again every half second until it fires: another process's alert changes
        # reach ingestion within TOKEN_TRUSTED_SECONDS (1 s), not at once.
        posted = time.monotonic()
        deadline = posted + 30
        sent = 0.0
        while not Firing.objects.filter(alert=switched.canary).exists():
            now = time.monotonic()
            if now > deadline:
                raise CommandError(
                    f"the product did not take the set of {count} alerts: its canary did not "
                    "fire within 30 s of a matching event"
                )
            if now - sent >= 0.5:
                sent = now
                event["timestamp"] = datetime.now(UTC).isoformat()
                response = requests.post(
                    f"{base}/api/v1/events",
                    data=orjson.dumps([event]),
                    headers={
                        "Authorization": f"Bearer {org.secret}",
                        "Content-Type": "application/json",
                    },
                    timeout=60,
                )
                if response.status_code != 202:
                    raise CommandError(
                        f"the canary's POST got {response.status_code}: {response.text}"
                    )
            time.sleep(0.05)
        return {
            "alerts": switched.alerts,
            "everyday": switched.everyday,
            "probes": PROBES,
            "canaries": 1,
            "added": switched.added,
            "deleted": switched.deleted,
            "switch_seconds": switched.seconds,
            "canary_fired_after_ms": round((time.monotonic() - posted) * 1000, 1),
        }

    def _measure(
        self,
        count: int,
        base: str,
        org: BenchOrg,
        meter: CpuMeter,
        sampler: Sampler,
        opts: dict[str, Any],
    ) -> dict[str, Any]:
        started = time.monotonic()
        switched = self._switch(count, base, org)
        url, secret = f"{base}/api/v1/events", org.secret
        batches = alert_mix.make_batches(24, opts["batch"])  # stamped now, for this count

        self.stdout.write(f"  warm-up {opts['warmup']:g} s...")
        warm = Load(url, secret, batches, opts["threads"])
        warm.start()
        time.sleep(opts["warmup"])
        warm.stop()
        if warm.failures:
            raise CommandError(f"the warm-up failed: {warm.failures}")

        self.stdout.write(
            f"  throughput: {opts['threads']} threads posting batches of "
            f"{opts['batch']} for {opts['seconds']:g} s..."
        )
        load = Load(url, secret, batches, opts["threads"])
        before = meter.sample()
        load.start()
        time.sleep(opts["seconds"])
        load.stop()
        throughput = {
            "accepted_events": load.accepted,
            "requests": load.requests,
            "seconds": round(load.seconds, 2),
            "failures": load.failures,
            "requests_per_second": round(load.requests / load.seconds, 1),
            "cpu_cores_used": CpuMeter.spent(before, meter.sample(), load.seconds),
        }

        self.stdout.write(f"  latency, quiet: {opts['samples']} crossings at {opts['rate']:g}/s...")
        quiet = self._latency(sampler, f"{count}/quiet", meter, opts)
        loaded: dict[str, Any] | None = None
        if not opts["no_loaded"]:
            self.stdout.write("  latency under the throughput load...")
            background = Load(url, secret, batches, opts["threads"])
            background.start()
            time.sleep(1.0)
            loaded = self._latency(sampler, f"{count}/loaded", meter, opts)
            background.stop()
            loaded["events_per_second"] = round(background.accepted / background.seconds, 1)
            loaded["failures"] = background.failures
        latencies = sampler.collect()
        quiet.update(latencies[f"{count}/quiet"])
        if loaded is not None:
            loaded.update(latencies[f"{count}/loaded"])
        throughput["everyday_alerts_fired"] = (
            Firing.objects.filter(organization=org.organization)
            .exclude(alert__name__startswith=alert_set.PROBE_PREFIX)
            .exclude(alert__name__startswith=alert_set.CANARY_PREFIX)
            .count()
        )
        specs = alert_mix.alert_specs(switched["everyday"])
        figures = ingest_report.count_figures(
            count,
            throughput,
            quiet,
            loaded,
            alert_set=switched,
            mix=alert_mix.describe_mix(specs, alert_mix.make_events(MIX_SAMPLE, seed=13)),
            seconds=round(time.monotonic() - started, 1),
        )
        loaded_p99 = figures["p99_ms_under_load"]
        self.stdout.write(
            f"  {figures['events_per_s']:,.0f} events/s, gunicorn "
            f"{figures['gunicorn_cores'] or 0:.2f} cores; p99 quiet "
            f"{figures['p99_ms_quiet']:.0f} ms, under load "
            f"{'-' if loaded_p99 is None else f'{loaded_p99:.0f}'} ms"
        )
        return figures

    def _latency(
        self, sampler: Sampler, phase: str, meter: CpuMeter, opts: dict[str, Any]
    ) -> dict[str, Any]:
        before = meter.sample()
        started = time.monotonic()
        result = sampler.run(phase, opts["samples"], opts["rate"])
        result["cpu_cores_used"] = CpuMeter.spent(
            before, meter.sample(), time.monotonic() - started
        )
        return result

    def _described(self, opts: dict[str, Any], idle: float, seconds: float) -> dict[str, Any]:
        return {
            "alert_counts": alert_counts(opts["alerts"]),
            "probe_alerts": PROBES,
            "batch": opts["batch"],
            "seconds": opts["seconds"],
            "warmup_seconds": opts["warmup"],
            "samples": opts["samples"],
            "rate": opts["rate"],
            "client_threads": opts["threads"],
            "web_workers": opts["web_workers"],
            "web_worker_class": opts["web_class"],
            "web_threads": opts["web_threads"],
            "celery_concurrency": opts["concurrency"],
            "cpus": os.cpu_count(),
            "other_processes_before_cores": idle,
            "database": connection.vendor,
            "broker": settings.CELERY_BROKER_URL.split("://")[0],
            "settings": "DJANGO_DEBUG=false over plain http (SSL redirect and secure cookies off)",
            "git_commit": _git_commit(),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "run_seconds": round(seconds, 1),
        }


@dataclass(frozen=True)
class BenchOrg:
    """The bench's organization and what it keeps across alert counts."""

    organization: Organization
    user: User
    secret: str
    services: list[PagerDutyService]
    probes: list[Alert]


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


def _git_commit() -> str:
    git = shutil.which("git")
    if git is None:
        return ""
    return subprocess.run(  # noqa: S603 - fixed argv
        [git, "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
