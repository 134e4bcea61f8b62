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

This module is the command and its phases; the clients that post the load and the latency
samples are in ingest_clients.py, what it sets up (the organization, the processes'
environment, gunicorn) in ingest_setup.py, and the figures and report in ingest_report.py.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from alerts_saas.alerts.models import Firing
from devtools.bench import alert_mix, alert_set, ingest_report, ingest_setup
from devtools.bench.common import BUSY_MACHINE, Children, CpuMeter, start_worker
from devtools.bench.ingest_clients import Load, Sampler
from devtools.bench.ingest_setup import PROBES, BenchOrg
from devtools.sandbox.testing import SandboxProcess

REPO = Path(settings.BASE_DIR)
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
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            help="throughput rounds: each count's phase is cut into this many, the counts "
            "taking turns, so that a shared machine's slow minutes fall on every count alike",
        )
        parser.add_argument("--warmup", type=float, default=3.0, help="warm-up per round")
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
        if opts["rounds"] < 1:
            raise CommandError("--rounds must be at least 1")
        counts = alert_counts(opts["alerts"])
        started = time.monotonic()
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        children = Children("bench-ingest")
        try:
            with SandboxProcess(log_path=children.logs / "sandbox.log") as sandbox:
                sandbox.configure(events_rate_limit=100_000)
                org = ingest_setup.bench_org(sandbox, self.stdout.write)
                env = ingest_setup.child_env(sandbox)
                self.stdout.write(
                    f"Starting the Celery worker (concurrency {opts['concurrency']})..."
                )
                start_worker(children, env, opts["concurrency"], "bench-ingest")
                base = ingest_setup.start_web(children, env, opts, self.stdout.write)
                meter = CpuMeter(
                    children, {"sandbox": sandbox.process.pid if sandbox.process else None}
                )
                idle = self._idle(meter)
                sampler = Sampler(
                    f"{base}/api/v1/events", org.secret, org.probes, org.services, sandbox
                )
                rounds: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
                for turn in range(opts["rounds"]):
                    for n in counts:
                        rounds[n].append(self._throughput(n, turn, base, org, meter, opts))
                runs = [
                    self._measure(n, rounds[n], base, org, meter, sampler, opts) for n in counts
                ]
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

    def _switch(self, count: int, base: str, org: BenchOrg, phase: str) -> dict[str, Any]:
        """Put `count` alerts in place and check, through the API, that the product took
        them: one event meeting the new canary must fire it."""
        switched = alert_set.switch(org.organization, org.user, org.services, count, PROBES)
        self.stdout.write(
            f"\n{count} alerts, {phase}: {switched.added} added, {switched.deleted} deleted "
            f"in {switched.seconds:.2f} s..."
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

    def _throughput(
        self,
        count: int,
        turn: int,
        base: str,
        org: BenchOrg,
        meter: CpuMeter,
        opts: dict[str, Any],
    ) -> dict[str, Any]:
        """One round of `count`'s throughput phase: its share of `--seconds`, after a
        warm-up, on batches stamped now."""
        self._switch(count, base, org, f"round {turn + 1} of {opts['rounds']}")
        url, secret = f"{base}/api/v1/events", org.secret
        batches = alert_mix.make_batches(24, opts["batch"])
        self._warm_up(url, secret, batches, opts)
        seconds = opts["seconds"] / opts["rounds"]
        load = Load(url, secret, batches, opts["threads"])
        before = meter.sample()
        load.start()
        time.sleep(seconds)
        load.stop()
        throughput = {
            "accepted_events": load.accepted,
            "requests": load.requests,
            "seconds": round(load.seconds, 2),
            "failures": load.failures,
            "cpu_cores_used": CpuMeter.spent(before, meter.sample(), load.seconds),
            "everyday_alerts_fired": (
                Firing.objects.filter(organization=org.organization)
                .exclude(alert__name__startswith=alert_set.PROBE_PREFIX)
                .exclude(alert__name__startswith=alert_set.CANARY_PREFIX)
                .count()
            ),
        }
        self.stdout.write(
            f"  {opts['warmup']:g} s warm-up, then {opts['threads']} threads posting batches of "
            f"{opts['batch']} for {seconds:g} s: "
            f"{load.accepted / load.seconds:,.0f} events/s"
        )
        return throughput

    def _warm_up(self, url: str, secret: str, batches: list[bytes], opts: dict[str, Any]) -> None:
        warm = Load(url, secret, batches, opts["threads"])
        warm.start()
        time.sleep(opts["warmup"])
        warm.stop()
        if warm.failures:
            raise CommandError(f"the warm-up failed: {warm.failures}")

    def _measure(
        self,
        count: int,
        rounds: list[dict[str, Any]],
        base: str,
        org: BenchOrg,
        meter: CpuMeter,
        sampler: Sampler,
        opts: dict[str, Any],
    ) -> dict[str, Any]:
        """`count`'s figures: its throughput rounds together, and its latency phases."""
        started = time.monotonic()
        switched = self._switch(count, base, org, "latency")
        url, secret = f"{base}/api/v1/events", org.secret
        batches = alert_mix.make_batches(24, opts["batch"])
        self._warm_up(url, secret, batches, opts)  # every worker has compiled the new set
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
        specs = alert_mix.alert_specs(switched["everyday"])
        figures = ingest_report.count_figures(
            count,
            ingest_report.combined(rounds),
            quiet,
            loaded,
            alert_set=switched,
            mix=alert_mix.describe_mix(specs, alert_mix.make_events(MIX_SAMPLE, seed=13)),
            seconds=round(time.monotonic() - started, 1),
        )
        loaded_p99 = figures["p99_ms_under_load"]
        self.stdout.write(
            f"  {figures['events_per_s']:,.0f} events/s over its rounds, gunicorn "
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
            "rounds": opts["rounds"],
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
