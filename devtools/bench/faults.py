"""Delivery under faults (`make bench-faults`): nothing lost, no second incident, and every
delivery settled soon after the faults end.

While deliveries are queued at a steady pace (triggers, a third of them followed by their
resolve), the run breaks the paging path on a fixed timeline:

- PagerDuty (the sandbox) answers 500 to every event for `--outage` seconds;
- the Celery worker is killed with SIGKILL `--kills` times meanwhile (and started again at
  once, as a supervisor would);
- then a storm of 429s;
- then Redis (broker and rate-limit store) restarts empty.

Then it waits for every delivery to be final and reports: lost (not delivered), second
incidents (a dedup key with two alerts in PagerDuty, or a resolve that overtook its
trigger), and how long after the faults ended the last delivery settled (target: 45 s).

It starts its own Redis on the port of REDIS_URL (never 6379, which others share), the
sandbox, a worker and beat, and uses the scratch database of the settings it runs with.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from alerts_saas.accounts.models import User
from alerts_saas.accounts.services import create_organization
from devtools.bench.common import Children, sandbox_services, save_result, start_worker
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService

TARGET_SETTLE_SECONDS = 45
PAYLOAD = {"summary": "fault run", "source": "bench", "severity": "error"}


class PrivateRedis:
    """A redis-server of the bench's own, which it may stop and start."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.port = parts.port or 6379
        if self.port == 6379:
            raise CommandError("REDIS_URL must name a port of the bench's own (not 6379).")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [  # noqa: S607 - redis-server from PATH, as the test scripts use it
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise CommandError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # as a crash: nothing saved
            self.proc.wait()


class Command(BaseCommand):
    help = "Delivery under worker kills, a PagerDuty outage, a 429 storm and a Redis restart."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--deliveries", type=int, default=1500)
        parser.add_argument("--keys", type=int, default=60, help="integration keys")
        parser.add_argument("--outage", type=float, default=60.0, help="seconds of 500s")
        parser.add_argument("--kills", type=int, default=5)
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args: Any, **opts: Any) -> None:
        private = PrivateRedis(settings.REDIS_URL)
        private.start()
        children = Children("bench-faults")
        try:
            with SandboxProcess(log_path=children.logs / "sandbox.log") as sandbox:
                sandbox.configure(events_rate_limit=1_000_000)
                result = self._run(children, sandbox, private, opts)
        finally:
            children.stop_all()
            private.stop()
        path = save_result("faults", result)
        self._report(result)
        self.stdout.write(f"Saved to {path}")

    def _run(
        self,
        children: Children,
        sandbox: SandboxProcess,
        private: PrivateRedis,
        opts: dict[str, Any],
    ) -> dict[str, Any]:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Delivery._meta.db_table}")
        user, _ = User.objects.get_or_create(email="bench-faults@example.com")
        organization = create_organization(user, f"Bench faults {os.getpid()}")
        services = sandbox_services(sandbox, organization, opts["keys"])
        env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
            "PAGERDUTY_SANDBOX_URL": sandbox.url,
            "LOG_LEVEL": "WARNING",
        }
        worker = start_worker(children, env, opts["concurrency"], "faults")
        children.start(
            "beat",
            [sys.executable, "-m", "celery", "-A", "alerts_saas", "beat", "--loglevel",
             "WARNING", "--schedule", str(children.logs / "beat-schedule")],
            env,
        )  # fmt: skip
        outage, kills = opts["outage"], opts["kills"]
        duration = 3 + outage + 8  # queuing goes on until Redis restarts: the faults' end
        producer = threading.Thread(
            target=_produce, args=(services, opts["deliveries"], duration), daemon=True
        )
        started = time.monotonic()
        producer.start()
        self.stdout.write(f"Queuing {opts['deliveries']} deliveries over {duration:.0f} s...")
        time.sleep(3)
        self.stdout.write(f"PagerDuty answers 500 for {outage:.0f} s; {kills} worker kills...")
        sandbox.fault("events-us", "500", count=10**7)
        for n in range(kills):
            _sleep_until(started + 3 + outage * (n + 1) / (kills + 1))
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            worker = start_worker(children, env, opts["concurrency"], f"faults{n}")
        _sleep_until(started + 3 + outage)
        sandbox.clear_faults()
        self.stdout.write("PagerDuty is back; a storm of 429s...")
        sandbox.fault("events-us", "429", count=300)
        time.sleep(8)
        self.stdout.write("Redis restarts empty...")
        private.stop()
        private.start()
        producer.join()
        faults_ended = timezone.now()
        # Until every delivery is final, a worker that exits is started again at once, as
        # the supervisor does in make run and docker-compose; each restart is counted.
        restarts, settled = 0, False
        deadline = time.monotonic() + 600
        while not settled and time.monotonic() < deadline:
            if worker.poll() is not None:
                restarts += 1
                worker = start_worker(children, env, opts["concurrency"], f"faults-r{restarts}")
            settled = not Delivery.objects.filter(
                status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
            ).exists()
            time.sleep(0.5)
        worker_alive = restarts == 0
        return _outcome(sandbox, faults_ended, settled, worker_alive, opts)

    def _report(self, r: dict[str, Any]) -> None:
        ok = r["lost"] == 0 and r["second_incidents"] == 0 and r["settle_ok"]
        self.stdout.write(
            f"\nDelivery under faults ({r['deliveries']} deliveries, {r['kills']} worker kills, "
            f"{r['outage_s']:.0f} s of 500s, 429 storm, Redis restart)\n"
            f"  delivered {r['delivered']}, failed {r['failed']}, not final {r['not_final']}: "
            f"lost {r['lost']}\n"
            f"  second incidents: {r['second_incidents']}; resolves in the wrong order: "
            f"{r['out_of_order']}\n"
            f"  last delivery settled {r['last_settled_after_faults_s']:.1f} s after the faults "
            f"ended (target <= {TARGET_SETTLE_SECONDS} s)\n"
            f"  worker survived the Redis restart without a restart: "
            f"{r['worker_survived_redis_restart']}\n"
            f"  {'ok' if ok else 'FAILED'}"
        )


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def _produce(services: list[PagerDutyService], total: int, duration: float) -> None:
    """Triggers at a steady pace; every third key gets its resolve a few seconds later."""
    pending: list[tuple[float, Delivery]] = []
    started = time.monotonic()
    for i in range(total):
        _sleep_until(started + duration * i / total)
        service = services[i % len(services)]
        key = f"fault-{os.getpid()}-{i}"
        rows = [engine.build_event(service, EventAction.TRIGGER, key, PAYLOAD)]
        now = time.monotonic()
        if i % 3 == 0:
            pending.append((now + 3, engine.build_event(service, EventAction.RESOLVE, key)))
        rows += [row for due, row in pending if due <= now]
        pending = [(due, row) for due, row in pending if due > now]
        with transaction.atomic():
            engine.queue(rows)
    with transaction.atomic():
        engine.queue([row for _due, row in pending])
    connection.close()


def _outcome(
    sandbox: SandboxProcess,
    faults_ended: Any,
    settled: bool,
    worker_alive: bool,
    opts: dict[str, Any],
) -> dict[str, Any]:
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    last = Delivery.objects.order_by("-delivered_at").values_list("delivered_at", flat=True)[0]
    after = (last - faults_ended).total_seconds() if last else float("inf")
    alerts = sandbox.alerts()
    per_key = Counter(a["dedup_key"] for a in alerts)
    resolved_keys = set(
        Delivery.objects.filter(event_action=EventAction.RESOLVE).values_list(
            "dedup_key", flat=True
        )
    )
    out_of_order = sum(
        1 for a in alerts if (a["status"] == "resolved") != (a["dedup_key"] in resolved_keys)
    )
    delivered = statuses.get(Delivery.Status.DELIVERED, 0)
    total = sum(statuses.values())
    return {
        "deliveries": total,
        "delivered": delivered,
        "failed": statuses.get(Delivery.Status.FAILED, 0),
        "not_final": total - delivered - statuses.get(Delivery.Status.FAILED, 0),
        "lost": total - delivered,
        "second_incidents": sum(n - 1 for n in per_key.values() if n > 1),
        "incidents": len(per_key),
        "out_of_order": out_of_order,
        "last_settled_after_faults_s": round(after, 1),
        "settle_ok": settled and after <= TARGET_SETTLE_SECONDS,
        "worker_survived_redis_restart": worker_alive,
        "kills": opts["kills"],
        "outage_s": opts["outage"],
    }
