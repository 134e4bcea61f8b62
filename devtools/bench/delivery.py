"""Delivery benchmark (`make bench-delivery`): what users get from the delivery engine.

On PostgreSQL, Redis and a real Celery worker, against a fast local sink standing in for
PagerDuty's Events API v2 (devtools/bench/sink.py), it measures in one run:

- the sink's own capacity (raw keep-alive clients): it must take at least 3x the rates below;
- alternating rounds of N notifications (default 3,000): Tripwire (Delivery rows written in
  bulk with `delivery.queue` in one transaction, timed until the sink has them all),
  Prometheus Alertmanager (the same number of alerts through its API v2, one notification
  each, to a PagerDuty receiver pointing at the sink) and the fair limit, a plain pooled HTTP
  loop posting the same events with the worker's concurrency;
- latency from commit to the sink's receipt at a steady 20/s, on an empty delivery table and
  again with a history of 1,000,000 finished deliveries (history.py) in it;
- where the CPU goes: microseconds per notification by process, for each system
  (delivery_cpu.py): on 2 cores the rate ratio follows the ratio of these totals.

The rounds run on the table with its history. Every process it starts is stopped on exit.
This module is the command; the phases and the figures they make are in delivery_run.py.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from alerts_saas.celery import app
from devtools.bench import delivery_cpu, history
from devtools.bench.alertmanager import Alertmanager, find_or_install
from devtools.bench.common import Children, production_env, start_worker
from devtools.bench.delivery_run import AM_KEY, Run
from devtools.bench.report import report
from devtools.bench.sink import Sink


class Command(BaseCommand):
    help = "Delivery throughput vs Alertmanager and a plain HTTP loop, and latency, to a sink."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rounds", type=int, default=2, help="rounds per system (>= 2)")
        parser.add_argument("--notifications", type=int, default=3000, help="per round")
        parser.add_argument("--history-rows", type=int, default=1_000_000)
        parser.add_argument(
            "--concurrency", type=int, default=2, help="worker processes = plain loop clients"
        )
        parser.add_argument("--skip-alertmanager", action="store_true")
        parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
        parser.add_argument("--rate", type=float, default=20.0, help="latency phases: per s")
        parser.add_argument("--seconds", type=float, default=15.0, help="latency phases")
        parser.add_argument("--sink-processes", type=int, default=1)
        parser.add_argument(
            "--plain-client",
            choices=["engine", "urllib3", "requests"],
            default="engine",
            help="the plain loop's HTTP client (engine: the engine's own sender)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["quick"]:
            opts.update(notifications=300, history_rows=20_000, seconds=5.0)
        opts["rounds"] = max(2, opts["rounds"])
        children = Children("bench-delivery")
        sink = Sink(opts["sink_processes"], lambda n, a: children.start(n, a, dict(os.environ)))
        am: Alertmanager | None = None
        try:
            sink.start()
            self.stdout.write(f"Sink on {sink.url} ({opts['sink_processes']} process(es)).")
            am = self._alertmanager(children, sink, opts)
            env = production_env(PAGERDUTY_EVENTS_URL_US=sink.url, PAGERDUTY_EVENTS_URL_EU=sink.url)
            app.control.purge()  # tasks a killed run left on the bench's broker
            history.empty_deliveries()
            self.stdout.write(f"Starting the Celery worker (concurrency {opts['concurrency']})...")
            start_worker(children, env, opts["concurrency"], "bench-delivery")
            results = Run(self, children, sink, am, opts).measure()
        except KeyboardInterrupt:
            raise CommandError("Interrupted; the processes it started are stopped.") from None
        finally:
            children.stop_all()
            sink.stop()
            if am is not None:
                shutil.rmtree(am.home, ignore_errors=True)
        results["setup"]["logs"] = str(children.logs)
        report(self.stdout, self.style, results)
        self.stdout.write("\n".join(delivery_cpu.table(results)))

    def _alertmanager(
        self, children: Children, sink: Sink, opts: dict[str, Any]
    ) -> Alertmanager | None:
        if opts["skip_alertmanager"]:
            self.stdout.write("Alertmanager: skipped (--skip-alertmanager); its figures are null.")
            return None
        binary, why = find_or_install()
        if binary is None:
            self.stdout.write(self.style.WARNING(f"Alertmanager: SKIPPED, {why}."))
            return None
        am = Alertmanager(binary, AM_KEY, sink.url, lambda n, a: children.start(n, a, {}))
        am.start()
        self.stdout.write(f"Alertmanager {am.version} on {am.url} ({binary}).")
        return am
