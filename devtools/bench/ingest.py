"""Ingest and firing benchmark (`make bench`).

Reports, in one run, on PostgreSQL, Redis, a real Celery worker and the local PagerDuty
sandbox:

- ingest throughput: events per second accepted by POST /api/v1/events (gunicorn, production
  settings over plain http) with 50 alerts in the organization and batches of 500 events,
  posted by a few keep-alive client threads for a fixed time after a warm-up;
- firing latency: p50 and p99 from just before the threshold-crossing POST to the sandbox's
  receipt of the trigger, at a modest pace with nothing else running ("quiet"), and again
  while the throughput load runs ("under load").

It starts its own sandbox, Celery worker and gunicorn, and uses the database and Redis of the
settings it runs with (the Makefile points it at the scratch `tripwire_bench` database and
Redis databases of its own). Every process it starts is stopped on the way out.

The 50 alerts are a mix of the rules people set (app, level at or above, message contains, a
regular expression, attribute equals, combinations, a few absence alerts). Their thresholds
are out of reach of the throughput phase: at these rates any everyday threshold is crossed in
the first second, and with no beat to clear it the alert then stays firing for the run.
Firing is measured by ten "probe" alerts among the 50 (attribute `probe` equals `p<k>`,
threshold 1, one PagerDuty service each): a sample posts one event with that attribute and
waits for nothing; the bench clears the probe's firing (which sends a resolve, as in life)
before it uses the same probe again.
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
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, Level
from alerts_saas.ingest.models import IngestKey
from devtools.bench.common import (
    BUSY_MACHINE,
    Children,
    CpuMeter,
    cores_line,
    percentile,
    production_env,
    sandbox_services,
    save_result,
    start_worker,
)
from devtools.sandbox.testing import SandboxClient, SandboxProcess, free_port
from integrations.pagerduty.models import PagerDutyService

REPO = Path(settings.BASE_DIR)
ORG_SLUG = "bench-ingest"
TARGET_EVENTS_PER_SECOND = 5000
TARGET_P99_MS = 500
PROBES = 10  # probe alerts, each on its own PagerDuty service (integration key)
UNREACHABLE = 50_000_000  # thresholds the throughput phase can't cross

APPS = ["checkout", "payments", "search", "auth", "inventory", "shipping", "web", "cron"]
SOURCES = [f"web-{n}" for n in range(1, 7)] + [f"worker-{n}" for n in range(1, 4)]
REGIONS = ["eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2"]
TIERS = ["free", "team", "business", "enterprise"]
LEVELS = ["debug", "info", "notice", "warning", "error", "critical"]
LEVEL_WEIGHTS = [10, 60, 5, 12, 10, 3]
DEPENDENCIES = ["postgres", "redis", "stripe", "s3", "elasticsearch", "kafka"]


# -- The events ---------------------------------------------------------------------------


def _message(rng: random.Random, app: str, level: str) -> tuple[str, dict[str, Any]]:
    """A log line and the attributes it would come with."""
    n = rng.randint(1000, 999_999)
    ms = rng.randint(2, 4000)
    status = rng.choice([200, 200, 200, 201, 204, 301, 400, 404, 500, 502, 503])
    if app == "cron" and rng.random() < 0.5:
        return f"heartbeat from {rng.choice(['billing', 'reports', 'cleanup'])} job", {}
    if level in ("error", "critical"):
        text = rng.choice(
            [
                f"Payment failed: card declined for order {n}",
                f"Timeout talking to {rng.choice(DEPENDENCIES)} after {ms} ms",
                f"Connection reset by peer while reading from {rng.choice(DEPENDENCIES)}",
                f"ERROR: deadlock detected while updating order {n}",
                f"Worker out of memory handling job {n}; restarting",
                f"Unhandled exception in request {n}: KeyError('customer_id')",
                f"GET /api/orders/{n} {rng.choice([500, 502, 503])} in {ms} ms",
            ]
        )
        status = rng.choice([500, 502, 503])
    elif level == "warning":
        text = rng.choice(
            [
                f"Retrying job {n} (attempt {rng.randint(1, 9)})",
                f"Slow query took {ms} ms on orders for customer {n}",
                f"disk usage at {rng.randint(70, 99)}% on /var/lib/{app}",
                f"Cache miss storm for key product:{n}",
            ]
        )
    else:
        text = rng.choice(
            [
                f"GET /api/orders/{n} {status} in {ms} ms",
                f"POST /api/cart/{n}/items {status} in {ms} ms",
                f"User {n} signed in from {rng.choice(REGIONS)}",
                f"Cache miss for key product:{n}",
                f"Indexed {rng.randint(1, 500)} documents in {ms} ms",
                f"Shipment {n} label printed; carrier accepted the parcel and will pick it up "
                f"from warehouse {rng.randint(1, 40)} before the end of the working day",
            ]
        )
    return text, {"status": status, "duration_ms": ms}


def make_event(rng: random.Random, when: datetime) -> dict[str, Any]:
    app = rng.choice(APPS)
    level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
    message, extra = _message(rng, app, level)
    attributes: dict[str, Any] = {"region": rng.choice(REGIONS), **extra}
    if rng.random() < 0.5:
        attributes["customer_tier"] = rng.choice(TIERS)
    if rng.random() < 0.2:
        attributes["retry"] = rng.random() < 0.3
    if rng.random() < 0.3:
        attributes["trace_id"] = f"{rng.getrandbits(64):016x}"
    return {
        "timestamp": when.isoformat().replace("+00:00", "Z"),
        "source": rng.choice(SOURCES),
        "app": app,
        "level": level,
        "message": message,
        "attributes": attributes,
    }


def make_batches(count: int, size: int, seed: int = 7) -> list[bytes]:
    """`count` pre-serialised batches of `size` varied events, stamped now (give or take a
    few seconds, as senders' clocks and buffers do)."""
    rng = random.Random(seed)
    now = time.time()
    return [
        orjson.dumps(
            [
                make_event(rng, datetime.fromtimestamp(now - rng.uniform(0, 5), UTC))
                for _ in range(size)
            ]
        )
        for _ in range(count)
    ]


# -- The alerts ---------------------------------------------------------------------------


def alert_specs() -> list[dict[str, Any]]:
    """Forty everyday alerts (the ten probes come on top: 50 in all)."""
    error, warning, critical = Level.ERROR, Level.WARNING, Level.CRITICAL
    specs: list[dict[str, Any]] = []
    for app in ("checkout", "payments", "search"):
        specs.append({"name": f"{app}: any event", "match_app": app})
    for app in APPS:
        specs.append({"name": f"{app}: errors", "match_app": app, "match_level": error})
    specs += [
        {"name": "critical anywhere", "match_level": critical},
        {"name": "errors anywhere", "match_level": error, "window_minutes": 1},
        {"name": "payment failures", "match_message": "payment failed"},
        {"name": "timeouts", "match_message": "timeout talking to"},
        {"name": "connection resets", "match_message": "Connection reset"},
        {"name": "out of memory", "match_message": "out of memory", "window_minutes": 15},
        {"name": "stripe trouble", "match_message": "stripe", "match_level": error},
        {"name": "slow queries", "match_message": "slow query", "window_minutes": 10},
        {
            "name": "5xx responses",
            "match_message": r"\s5\d\d in \d+ ms$",
            "match_message_regex": True,
        },
        {
            "name": "deadlocks",
            "match_message": r"(?i)deadlock|lock wait timeout",
            "match_message_regex": True,
        },
        {
            "name": "disk nearly full",
            "match_message": r"disk usage at 9\d%",
            "match_message_regex": True,
        },
        {
            "name": "retries exhausted",
            "match_message": r"^Retrying job \d+ \(attempt [7-9]\)",
            "match_message_regex": True,
        },
        {
            "name": "orders key errors",
            "match_message": r"KeyError\('\w+'\)",
            "match_message_regex": True,
            "match_app": "checkout",
        },
        {"name": "status 500", "match_attribute": "status", "match_attribute_value": "500"},
        {
            "name": "eu-west-1 errors",
            "match_attribute": "region",
            "match_attribute_value": "eu-west-1",
            "match_level": error,
        },
        {
            "name": "enterprise customers",
            "match_attribute": "customer_tier",
            "match_attribute_value": "enterprise",
            "match_level": warning,
        },
        {"name": "retried", "match_attribute": "retry", "match_attribute_value": "true"},
        {
            "name": "slow requests",
            "match_attribute": "duration_ms",
            "match_attribute_value": "3999",
        },
        {"name": "web-1 warnings", "match_source": "web-1", "match_level": warning},
        {"name": "worker-2 errors", "match_source": "worker-2", "match_level": error},
        {"name": "web-3 anything", "match_source": "web-3", "window_minutes": 60},
        {
            "name": "declined in us-east-1",
            "match_app": "payments",
            "match_message": "declined",
            "match_attribute": "region",
            "match_attribute_value": "us-east-1",
        },
        {
            "name": "checkout 503 from web",
            "match_app": "checkout",
            "match_source": "web-2",
            "match_attribute": "status",
            "match_attribute_value": "503",
        },
        {
            "name": "search slow indexing",
            "match_app": "search",
            "match_message": r"Indexed \d+ documents in [1-9]\d{3} ms",
            "match_message_regex": True,
        },
        {"name": "every event", "window_minutes": 1},
    ]
    for job in ("billing", "reports", "cleanup", "nightly-export"):
        specs.append(
            {
                "name": f"{job} heartbeat stopped",
                "kind": ConditionKind.ABSENCE,
                "match_app": "cron",
                "match_message": f"heartbeat from {job}",
                "threshold": 1,
            }
        )
    return specs


# -- Processes ----------------------------------------------------------------------------


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
    help = "Measure ingest throughput and firing latency (gunicorn, Celery, the sandbox)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--seconds", type=float, default=15.0, help="length of the throughput phase"
        )
        parser.add_argument("--warmup", type=float, default=3.0)
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
            "--no-loaded", action="store_true", help="skip the latency phase under load"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if connection.vendor != "postgresql" or not settings.REDIS_URL:
            raise CommandError("Run it on PostgreSQL and Redis: `make bench`.")
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        children = Children("bench-ingest")
        try:
            with SandboxProcess(log_path=children.logs / "sandbox.log") as sandbox:
                sandbox.configure(events_rate_limit=100_000)
                setup = self._setup(sandbox)
                env = self._child_env(sandbox)
                self.stdout.write(
                    f"Starting the Celery worker (concurrency {opts['concurrency']})..."
                )
                start_worker(children, env, opts["concurrency"], "bench-ingest")
                base = self._start_web(children, env, opts)
                results = self._measure(base, setup, children, sandbox, opts)
        except KeyboardInterrupt:
            raise CommandError("Interrupted; the processes it started are stopped.") from None
        finally:
            children.stop_all()
            signal.signal(signal.SIGTERM, previous)
        results["logs"] = str(children.logs)
        self._report(results)

    # -- setup ------------------------------------------------------------------------------
    def _setup(self, sandbox: SandboxProcess) -> dict[str, Any]:
        self.stdout.write("Setting up: organization, ingest key, 10 services, 50 alerts...")
        Organization.objects.filter(slug=ORG_SLUG).delete()
        user, _ = User.objects.get_or_create(email="bench-ingest@tripwire.localhost")
        org = create_organization(user, "Bench ingest", ORG_SLUG)
        _, secret = IngestKey.issue(org, "bench")
        services = sandbox_services(sandbox, org, PROBES)
        if len(services) < PROBES:
            raise CommandError(f"the sandbox has {len(services)} US services; {PROBES} needed")
        everyday = []
        for n, spec in enumerate(alert_specs()):
            spec = {"threshold": UNREACHABLE, "window_minutes": 5, **spec}
            alert = Alert.objects.create(organization=org, created_by=user, **spec)
            alert.targets.add(services[n % len(services)])
            everyday.append(alert)
        probes = []
        for k in range(PROBES):
            alert = Alert.objects.create(
                organization=org,
                created_by=user,
                name=f"probe {k}",
                threshold=1,
                window_minutes=1,
                match_attribute="probe",
                match_attribute_value=f"p{k}",
                severity="critical",
            )
            alert.targets.add(services[k])
            probes.append(alert)
        return {
            "organization": org,
            "secret": secret,
            "probes": probes,
            "services": services,
            "alerts": len(everyday) + len(probes),
            "absence_alerts": sum(a.kind == ConditionKind.ABSENCE for a in everyday),
        }

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
    def _measure(
        self,
        base: str,
        setup: dict[str, Any],
        children: Children,
        sandbox: SandboxProcess,
        opts: dict[str, Any],
    ) -> dict[str, Any]:
        url = f"{base}/api/v1/events"
        secret = setup["secret"]
        batches = make_batches(24, opts["batch"])
        meter = CpuMeter(children, {"sandbox": sandbox.process.pid if sandbox.process else None})
        before = meter.sample()
        time.sleep(2.0)
        idle = CpuMeter.spent(before, meter.sample(), 2.0)["other processes"]
        if idle > BUSY_MACHINE:
            self.stdout.write(
                self.style.WARNING(
                    f"Other processes keep {idle:.2f} cores busy: the figures will suffer."
                )
            )

        self.stdout.write(f"Warm-up: {opts['warmup']:g} s...")
        warm = Load(url, secret, batches, opts["threads"])
        warm.start()
        time.sleep(opts["warmup"])
        warm.stop()
        if warm.failures:
            raise CommandError(f"the warm-up failed: {warm.failures}")

        self.stdout.write(
            f"Throughput: {opts['threads']} threads posting batches of "
            f"{opts['batch']} for {opts['seconds']:g} s..."
        )
        load = Load(url, secret, batches, opts["threads"])
        before = meter.sample()
        load.start()
        time.sleep(opts["seconds"])
        load.stop()
        cpu = CpuMeter.spent(before, meter.sample(), load.seconds)
        eps = load.accepted / load.seconds

        sampler = Sampler(url, secret, setup["probes"], setup["services"], sandbox)
        self.stdout.write(f"Latency, quiet: {opts['samples']} crossings at {opts['rate']:g}/s...")
        before = meter.sample()
        started = time.monotonic()
        quiet = sampler.run(opts["samples"], opts["rate"])
        quiet["cpu_cores_used"] = CpuMeter.spent(before, meter.sample(), time.monotonic() - started)

        loaded: dict[str, Any] | None = None
        if not opts["no_loaded"]:
            self.stdout.write(
                f"Latency under load: {opts['samples']} crossings at "
                f"{opts['rate']:g}/s while the throughput load runs..."
            )
            background = Load(url, secret, batches, opts["threads"])
            background.start()
            time.sleep(1.0)
            before = meter.sample()
            started = time.monotonic()
            loaded = sampler.run(opts["samples"], opts["rate"])
            loaded["cpu_cores_used"] = CpuMeter.spent(
                before, meter.sample(), time.monotonic() - started
            )
            background.stop()
            loaded["events_per_second"] = round(background.accepted / background.seconds, 1)
            loaded["failures"] = background.failures

        latencies = sampler.collect()
        quiet.update(latencies.pop("quiet"))
        if loaded is not None:
            loaded.update(latencies.pop("loaded"))
        opened = (
            Firing.objects.filter(organization=setup["organization"])
            .exclude(alert__in=setup["probes"])
            .count()
        )
        return {
            "events_per_second": round(eps, 1),
            "target_events_per_second": TARGET_EVENTS_PER_SECOND,
            "events_per_second_vs_target": round(eps / TARGET_EVENTS_PER_SECOND, 3),
            "p50_ms": quiet["p50_ms"],
            "p99_ms": quiet["p99_ms"],
            "target_p99_ms": TARGET_P99_MS,
            "p99_vs_target": round(quiet["p99_ms"] / TARGET_P99_MS, 3),
            "throughput": {
                "accepted_events": load.accepted,
                "requests": load.requests,
                "seconds": round(load.seconds, 2),
                "failures": load.failures,
                "requests_per_second": round(load.requests / load.seconds, 1),
                "everyday_alerts_fired": opened,
                "cpu_cores_used": cpu,
            },
            "latency_quiet": quiet,
            "latency_under_load": loaded,
            "setup": {
                "alerts": setup["alerts"],
                "absence_alerts": setup["absence_alerts"],
                "probe_alerts": PROBES,
                "batch": opts["batch"],
                "client_threads": opts["threads"],
                "web_workers": opts["web_workers"],
                "web_worker_class": opts["web_class"],
                "web_threads": opts["web_threads"],
                "celery_concurrency": opts["concurrency"],
                "warmup_seconds": opts["warmup"],
                "cpus": os.cpu_count(),
                "other_processes_before_cores": idle,
                "database": connection.vendor,
                "broker": settings.CELERY_BROKER_URL.split("://")[0],
                "settings": "DJANGO_DEBUG=false over plain http (SSL redirect and secure "
                "cookies off)",
                "git_commit": _git_commit(),
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        }

    def _report(self, r: dict[str, Any]) -> None:
        s, tp, q = r["setup"], r["throughput"], r["latency_quiet"]
        ok_eps = "meets it" if r["events_per_second_vs_target"] >= 1 else "BELOW TARGET"
        ok_p99 = "meets it" if r["p99_vs_target"] <= 1 else "ABOVE TARGET"
        lines = [
            "",
            f"Ingest benchmark, one run ({s['at']}, commit {s['git_commit'] or '?'})",
            f"  {s['database']} + {s['broker']}, {s['cpus']} CPUs; gunicorn {s['web_workers']} "
            f"{s['web_worker_class']} workers, Celery worker concurrency "
            f"{s['celery_concurrency']}; {s['alerts']} alerts; {s['client_threads']} client "
            f"threads posting batches of {s['batch']}",
            "",
            f"  Ingest throughput : {r['events_per_second']:,.0f} events/s  "
            f"({tp['accepted_events']:,} accepted in {tp['seconds']} s, "
            f"{tp['requests_per_second']} requests/s)",
            f"    target {TARGET_EVENTS_PER_SECOND:,} events/s: "
            f"{r['events_per_second_vs_target']:.2f}x the target ({ok_eps})",
        ]
        if tp["failures"]:
            lines.append(f"    failures: {tp['failures']}")
        lines.append("    " + cores_line(tp["cpu_cores_used"]))
        lines += [
            "",
            f"  Firing latency, crossing POST -> sandbox receipt of the trigger, quiet "
            f"({q['count']} samples at {q['rate']:g}/s):",
            f"    p50 {q['p50_ms']:.1f} ms   p99 {q['p99_ms']:.1f} ms   (max {q['max_ms']:.1f} ms;"
            f" the POST itself: p50 {q['post_p50_ms']:.1f} ms)",
            f"    target p99 {TARGET_P99_MS} ms: {r['p99_vs_target']:.2f}x the target ({ok_p99})",
            "    " + cores_line(q["cpu_cores_used"]),
        ]
        loaded = r["latency_under_load"]
        if loaded:
            lines += [
                f"  Firing latency under the throughput load ({loaded['count']} samples, "
                f"{loaded['events_per_second']:,.0f} events/s alongside):",
                f"    p50 {loaded['p50_ms']:.1f} ms   p99 {loaded['p99_ms']:.1f} ms   (max "
                f"{loaded['max_ms']:.1f} ms; the POST itself: p50 "
                f"{loaded['post_p50_ms']:.1f} ms)",
                "    " + cores_line(loaded["cpu_cores_used"]),
            ]
        phases = [tp, q, *([loaded] if loaded else [])]
        others = max(
            [s["other_processes_before_cores"]]
            + [p["cpu_cores_used"]["other processes"] for p in phases]
        )
        if others > BUSY_MACHINE:
            lines += [
                "",
                self.style.WARNING(
                    f"  Other processes on this machine took up to {others:.2f} cores during the "
                    "run: the figures are lower than the product's. Run again when it is quiet."
                ),
            ]
        saved = save_result("ingest", r)
        lines += ["", f"Saved to {saved} (process logs in {r['logs']})"]
        self.stdout.write("\n".join(lines))


class Sampler:
    """Crossings of the probe alerts, one at a time at a steady pace."""

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
        self.phases: dict[str, dict[str, Any]] = {}
        self.n = 0
        self.rng = random.Random(11)

    def run(self, samples: int, rate: float) -> dict[str, Any]:
        phase = "quiet" if not self.phases else "loaded"
        posts: list[float] = []
        interval = 1 / rate
        start = time.monotonic()
        for i in range(samples):
            k = self.n % PROBES
            self.n += 1
            probe = self.probes[k]
            # The probe's previous firing is cleared first (a resolve goes out): the next
            # matching event crosses the threshold again.
            for firing in Firing.objects.filter(alert=probe, cleared_at__isnull=True):
                firings.clear_firing(firing, Firing.ClearReason.CLEARED, datetime.now(UTC), 0)
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            event = make_event(self.rng, datetime.now(UTC))
            event["attributes"]["probe"] = f"p{k}"
            body = orjson.dumps([event])
            posted = time.time()
            response = self.session.post(self.url, data=body, timeout=30)
            posts.append((time.time() - posted) * 1000)
            if response.status_code != 202:
                raise CommandError(f"a probe POST got {response.status_code}: {response.text}")
            firing = Firing.objects.filter(alert=probe, cleared_at__isnull=True).first()
            if firing is None:
                raise CommandError(f"probe {k} did not fire")
            self.sent[firing.dedup_key(self.services[k].pk)] = (phase, posted)
        self.phases[phase] = {
            "count": samples,
            "rate": rate,
            "post_p50_ms": round(statistics.median(posts), 1),
            "post_max_ms": round(max(posts), 1),
        }
        return self.phases[phase]

    def collect(self, timeout: float = 60) -> dict[str, dict[str, Any]]:
        """Latency per phase, from the sandbox's receipt of each trigger."""
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
        out: dict[str, dict[str, Any]] = {}
        for phase in self.phases:
            values = [
                (received[key] - posted) * 1000
                for key, (p, posted) in self.sent.items()
                if p == phase
            ]
            out[phase] = {
                "p50_ms": round(statistics.median(values), 1),
                "p99_ms": round(percentile(values, 99), 1),
                "max_ms": round(max(values), 1),
                "min_ms": round(min(values), 1),
                "samples_ms": [round(v, 1) for v in values],
            }
        return out


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
