"""Delivery benchmark against the local sandbox (`make bench-delivery`).

Reports, in one run: deliveries per second through the Celery worker, the same for a plain
pooled-HTTP loop posting the same events, their ratio, and p50/p99 latency from enqueue to
the sandbox's receipt at a steady 20 deliveries per second.

It starts its own sandbox and worker, and uses the database and broker of the settings it
runs with (the Makefile points it at a scratch PostgreSQL database and Redis).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import requests
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from alerts_saas.accounts.models import User
from alerts_saas.accounts.services import create_organization
from devtools.bench.common import Children, percentile, sandbox_services, save_result, start_worker
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService


def _event(i: int, prefix: str) -> dict[str, Any]:
    return {
        "summary": f"bench {prefix} {i}",
        "source": "bench",
        "severity": "info",
        "custom_details": {"n": i},
    }


class Command(BaseCommand):
    help = "Measure delivery throughput and latency against the local PagerDuty sandbox."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--events", type=int, default=1000)
        parser.add_argument(
            "--keys",
            type=int,
            default=50,
            help="integration keys to spread over (PagerDuty limits per key)",
        )
        parser.add_argument("--rate", type=float, default=20.0)
        parser.add_argument("--seconds", type=float, default=20.0)
        parser.add_argument(
            "--concurrency", type=int, default=2, help="worker processes (2 cores here: 2 is best)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        children = Children("bench-delivery")
        with SandboxProcess(env={"SANDBOX_TOKEN_LIFETIME": "864000"}) as sandbox:
            sandbox.configure(events_rate_limit=100_000)
            services = self._services(sandbox, opts["keys"])
            env = {
                **os.environ,
                "PAGERDUTY_SANDBOX_URL": sandbox.url,
                "DJANGO_SETTINGS_MODULE": os.environ.get(
                    "DJANGO_SETTINGS_MODULE", "alerts_saas.settings"
                ),
            }
            try:
                start_worker(children, env, opts["concurrency"], "bench-delivery", timeout=30)
                results = self._run(sandbox, services, opts)
            finally:
                children.stop_all()
        self._report(results)

    # -- setup ------------------------------------------------------------------------------
    def _services(self, sandbox: SandboxProcess, count: int) -> list[PagerDutyService]:
        Delivery.objects.all().delete()
        PagerDutyService.objects.filter(organization__slug="bench").delete()
        user, _ = User.objects.get_or_create(email="bench@tripwire.localhost")
        org = user.memberships.filter(organization__slug="bench").first() or None
        organization = org.organization if org else create_organization(user, "Bench", "bench")
        return sandbox_services(sandbox, organization, count)

    # -- measurements -----------------------------------------------------------------------
    def _run(
        self, sandbox: SandboxProcess, services: list[PagerDutyService], opts: dict[str, Any]
    ) -> dict[str, Any]:
        n = opts["events"]
        self.stdout.write(f"Throughput: {n} deliveries over {len(services)} keys...")
        started = time.monotonic()
        with transaction.atomic():
            batch = engine.queue(
                [
                    engine.build_event(
                        services[i % len(services)], "trigger", f"tp-{i}", _event(i, "tp")
                    )
                    for i in range(n)
                ]
            )
        ids = [d.pk for d in batch]
        self._wait_delivered(ids, timeout=600)
        worker_elapsed = time.monotonic() - started

        self.stdout.write(f"Plain loop: the same {n} events from one pooled session...")
        session = requests.Session()
        url = f"{sandbox.events_url('us')}/v2/enqueue"
        started = time.monotonic()
        for i in range(n):
            body = {
                "routing_key": services[i % len(services)].integration_key,
                "event_action": "trigger",
                "dedup_key": f"plain-{i}",
                "payload": _event(i, "plain"),
            }
            response = session.post(url, json=body, timeout=10)
            response.raise_for_status()
        plain_elapsed = time.monotonic() - started

        rate, seconds = opts["rate"], opts["seconds"]
        self.stdout.write(f"Latency: {rate:g} deliveries/s for {seconds:g} s...")
        enqueued: dict[str, float] = {}
        interval = 1 / rate
        start = time.time()
        for i in range(int(rate * seconds)):
            delay = start + i * interval - time.time()
            if delay > 0:
                time.sleep(delay)
            key = f"lat-{i}"
            enqueued[key] = time.time()
            with transaction.atomic():
                engine.queue_event(services[i % len(services)], "trigger", key, _event(i, "lat"))
        latency_ids = Delivery.objects.filter(dedup_key__startswith="lat-")
        self._wait_delivered(list(latency_ids.values_list("pk", flat=True)), timeout=120)
        received = {
            e["dedup_key"]: e["received_at_epoch"]
            for e in sandbox.events(kind="alert")
            if e["dedup_key"] in enqueued
        }
        latencies = [(received[k] - enqueued[k]) * 1000 for k in enqueued]
        return {
            "events": n,
            "keys": len(services),
            "concurrency": opts["concurrency"],
            "worker_per_second": n / worker_elapsed,
            "worker_seconds": worker_elapsed,
            "plain_per_second": n / plain_elapsed,
            "plain_seconds": plain_elapsed,
            "ratio": (n / worker_elapsed) / (n / plain_elapsed),
            "latency_rate": rate,
            "latency_count": len(latencies),
            "p50_ms": statistics.median(latencies),
            "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies),
            "database": connection.vendor,
            "broker": settings.CELERY_BROKER_URL.split("://")[0],
        }

    def _wait_delivered(self, ids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = (
                Delivery.objects.filter(pk__in=ids)
                .exclude(status=Delivery.Status.DELIVERED)
                .count()
            )
            if not pending:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{pending} deliveries were not delivered in {timeout} s")

    def _report(self, r: dict[str, Any]) -> None:
        ok_ratio = "ok" if r["ratio"] >= 0.5 else "BELOW TARGET"
        ok_p99 = "ok" if r["p99_ms"] < 250 else "ABOVE TARGET"
        self.stdout.write(
            "\nDelivery benchmark (one run, {database} + {broker}, worker concurrency "
            "{concurrency}, {events} events over {keys} keys)\n".format(**r)
            + f"  through the worker : {r['worker_per_second']:8.1f} deliveries/s "
            f"({r['worker_seconds']:.2f} s)\n"
            + f"  plain pooled loop  : {r['plain_per_second']:8.1f} deliveries/s "
            f"({r['plain_seconds']:.2f} s)\n"
            + f"  ratio worker/plain : {r['ratio']:8.2f}   (target >= 0.5: {ok_ratio})\n"
            + f"  latency at {r['latency_rate']:g}/s, enqueue -> sandbox receipt, "
            f"{r['latency_count']} deliveries:\n"
            + f"    p50 {r['p50_ms']:.1f} ms   p99 {r['p99_ms']:.1f} ms   max "
            f"{r['max_ms']:.1f} ms   (target p99 < 250 ms: {ok_p99})\n"
        )
        self.stdout.write(f"Saved to {save_result('delivery', r)}")
