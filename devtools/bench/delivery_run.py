"""The phases of one `make bench-delivery` run and the figures it saves.

``delivery.py`` is the command: its options, the processes it starts and stops, and the
printed report; it hands the started sink, worker and Alertmanager to ``Run.measure``.
"""

from __future__ import annotations

import functools
import math
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from devtools.bench import delivery_cpu, durable_loop, history
from devtools.bench.alertmanager import Alertmanager
from devtools.bench.common import Children, CpuMeter, percentile
from devtools.bench.loops import post_all, sample_bodies
from devtools.bench.sink import Sink
from integrations.pagerduty import delivery as engine
from integrations.pagerduty import events
from integrations.pagerduty.models import PagerDutyService

PER_KEY = 30  # events per integration key per phase: a quarter of PagerDuty's 120 a minute
# Both systems take the round's notifications in batches of this many: Alertmanager one POST
# to its API per batch, Tripwire one transaction of Delivery rows per batch.
BATCH = 500
AM_KEY = "alertmanager-bench-routing-key-00"
DURABLE = "durable loop"  # the plain loop's sends kept in PostgreSQL rows (durable_loop.py)
SINK_CLIENTS = 2  # processes of raw keep-alive connections (as many as the plain loop's)


def _payload(i: int, what: str) -> dict[str, Any]:
    return {
        "summary": f"checkout: {5 + i % 40} errors in 5 minutes ({what} {i})",
        "source": f"web-{i % 6 + 1}",
        "severity": ("critical", "error", "warning", "info")[i % 4],
        "custom_details": {"count": 5 + i % 40, "window_minutes": 5, "query": "level>=error"},
    }


def _stamp(times: dict[str, float], key: str) -> None:
    times[key] = time.time()


class Run:
    """One run's phases, in order: sink capacity, latency on an empty table, history,
    warm-up, the alternating rounds, latency with the history."""

    def __init__(
        self,
        cmd: BaseCommand,
        children: Children,
        sink: Sink,
        am: Alertmanager | None,
        opts: dict[str, Any],
    ) -> None:
        self.say = cmd.stdout.write
        self.sink, self.am, self.opts = sink, am, opts
        self.client = sink.client
        self.meter = CpuMeter(children)
        self.org = history.organization()
        self.url = f"{sink.url}/v2/enqueue"
        # The worker's concurrency: its processes, each with its sends in flight.
        self.threads = int(getattr(settings, "DELIVERY_SEND_CONCURRENCY", 1))
        self.plain = (opts["concurrency"], self.threads, opts["plain_client"])

    def measure(self) -> dict[str, Any]:
        o = self.opts
        before = self.meter.sample()
        time.sleep(2.0)
        idle = CpuMeter.spent(before, self.meter.sample(), 2.0)
        sink = self._sink_capacity(max(5000, 4 * o["notifications"]))
        empty = self._latency("empty")
        self.say(f"History: {o['history_rows']:,} finished deliveries (INSERT ... SELECT)...")
        started = time.monotonic()
        rows = history.insert_history(o["history_rows"])
        self.say(f"  {rows:,} rows in the table after {time.monotonic() - started:.1f} s.")
        self._warm_up()
        rounds: list[dict[str, Any]] = []
        for r in range(1, o["rounds"] + 1):
            rounds.append(self._tripwire(r))
            if self.am is not None:
                rounds.append(self._alertmanager(r))
            rounds.append(self._plain(r))
            rounds.append(self._durable(r))
        loaded = self._latency("history")
        return self._results(idle, sink, rounds, empty, loaded)

    # -- phases -----------------------------------------------------------------------------
    def _timed(
        self, what: str, keys: list[str] | None, count: int, own: float | None = None
    ) -> dict[str, Any]:
        """Wait for `keys` (or, for Alertmanager, `count` new receipts of its key) at the
        sink; the phase's figures, timed from `self.started` (or `own` seconds)."""
        timeout = max(120.0, count / 10)
        base, base_dups = self.am_base
        if keys is not None:
            done = self.client.wait_for(lambda: all(k in self.client.times for k in keys), timeout)
            got = sum(k in self.client.times for k in keys)
            dups = self.client.duplicates(keys)
        else:
            done = self.client.wait_for(
                lambda: self.client.routing[AM_KEY] >= base + count, timeout
            )
            got = self.client.routing[AM_KEY] - base
            dups = self.client.routing[AM_KEY] - len(self.client.distinct.get(AM_KEY, ()))
            dups -= base_dups
        elapsed = time.monotonic() - self.started
        cpu = CpuMeter.spent(self.cpu_before, self.meter.sample(), elapsed)
        seconds = own or elapsed
        figures = {
            "system": what,
            "notifications": count,
            "received": got,
            "complete": done,
            "seconds": round(seconds, 3),
            "per_s": round(got / seconds, 1),
            "duplicates": dups,
            "cpu_cores_used": cpu,
            "cpu_seconds": delivery_cpu.cpu_seconds(cpu, elapsed),
        }
        flag = "" if done else f"  INCOMPLETE: {got}/{count} after {timeout:.0f} s"
        others = cpu["other processes"]
        self.say(
            f"  {what:<13}{figures['per_s']:9.1f}/s  ({seconds:.2f} s; other processes "
            f"{others:.2f} cores){flag}"
        )
        return figures

    def _start(self) -> None:
        self.client.refresh()
        base = self.client.routing[AM_KEY]
        self.am_base = base, base - len(self.client.distinct.get(AM_KEY, ()))
        self.cpu_before = self.meter.sample()
        self.started = time.monotonic()

    def _sink_capacity(self, n: int) -> dict[str, Any]:
        clients = SINK_CLIENTS * max(4, self.threads)
        self.say(f"Sink alone: {n:,} events from {clients} raw keep-alive clients...")
        bodies = sample_bodies(n, "cap", ["capacity-key"])
        before = self.meter.sample()
        result = post_all(self.url, bodies, SINK_CLIENTS, max(4, self.threads), "raw")
        cpu = CpuMeter.spent(before, self.meter.sample(), result.seconds)
        self.say(f"  {result.per_s:,.0f}/s")
        return {"per_s": round(result.per_s, 1), "clients": clients, "cpu": cpu}

    def _services(self, count: int, label: str) -> list[PagerDutyService]:
        return history.services(self.org, max(1, math.ceil(count / PER_KEY)), label)

    def _deliveries(self, prefix: str, services: list[PagerDutyService]) -> list[Any]:
        n = self.opts["notifications"]
        return [
            engine.build_event(
                services[i % len(services)], "trigger", f"{prefix}-{i}", _payload(i, prefix)
            )
            for i in range(n)
        ]

    def _warm_up(self) -> None:
        """A few of each, unmeasured: connections and pools open, code loaded."""
        self.say("Warm-up...")
        services = self._services(200, "warm-up")
        with transaction.atomic():
            queued = engine.queue(
                [
                    engine.build_event(
                        services[i % len(services)], "trigger", f"warm-{i}", _payload(i, "warm")
                    )
                    for i in range(200)
                ]
            )
        keys = [d.dedup_key for d in queued]
        if self.am is not None:
            self.am.post_alerts("warm", 200)
        post_all(self.url, sample_bodies(200, "warm-plain", ["warm-key"]), *self.plain)
        # The plain loop's start (spawn, imports, connections) with nothing to send.
        before, started = self.meter.sample(), time.monotonic()
        post_all(self.url, [], *self.plain)
        took = time.monotonic() - started
        spent = delivery_cpu.cpu_seconds(CpuMeter.spent(before, self.meter.sample(), took), took)
        self.plain_start = spent[delivery_cpu.LOAD_GENERATOR]
        self.client.wait_for(lambda: all(k in self.client.times for k in keys), 120)

    def _tripwire(self, r: int) -> dict[str, Any]:
        n = self.opts["notifications"]
        services = self._services(n, f"round {r}")
        self.say(
            f"Round {r}: {n:,} notifications each, over {len(services)} keys ({PER_KEY} per key)"
        )
        self.round_services = services
        deliveries = self._deliveries(f"tw{r}", services)
        keys = [d.dedup_key for d in deliveries]
        self._start()
        for first in range(0, n, BATCH):
            with transaction.atomic():
                engine.queue(deliveries[first : first + BATCH])
        figures = self._timed("Tripwire", keys, n)
        figures["round"] = r
        return figures

    def _alertmanager(self, r: int) -> dict[str, Any]:
        assert self.am is not None
        n = self.opts["notifications"]
        self._start()
        self.am.post_alerts(f"round{r}", n, batch=BATCH)
        figures = self._timed("Alertmanager", None, n)
        figures["round"] = r
        return figures

    def _plain(self, r: int) -> dict[str, Any]:
        """The same events as Tripwire's round, posted with the worker's concurrency
        (`concurrency` processes of DELIVERY_SEND_CONCURRENCY sends in flight), by default
        through the engine's HTTP client."""
        deliveries = self._deliveries(f"pl{r}", self.round_services)
        bodies = [events.encode({**d.body, "routing_key": d.routing_key}) for d in deliveries]
        keys = [d.dedup_key for d in deliveries]
        self._start()
        loop = post_all(self.url, bodies, *self.plain)
        # Its processes' start is not its work: the loop's own clock.
        figures = self._timed("plain loop", keys, len(bodies), loop.seconds)
        figures["statuses"] = {str(k): v for k, v in loop.statuses.items()}
        figures["round"] = r
        return figures

    def _durable(self, r: int) -> dict[str, Any]:
        """The plain loop's sends kept in PostgreSQL rows (`durable_loop`): inserted,
        claimed and settled as Tripwire's are, with nothing else."""
        deliveries = self._deliveries(f"du{r}", self.round_services)
        bodies = [events.encode({**d.body, "routing_key": d.routing_key}) for d in deliveries]
        keys = [d.dedup_key for d in deliveries]
        dsn = durable_loop.dsn()
        durable_loop.prepare(dsn)
        self._start()
        loop = durable_loop.post_all(dsn, self.url, bodies, self.plain[0], self.plain[1])
        figures = self._timed(DURABLE, keys, len(bodies), loop.seconds)
        figures["statuses"] = {str(k): v for k, v in loop.statuses.items()}
        figures["round"] = r
        return figures

    def _latency(self, label: str) -> dict[str, Any]:
        rate, seconds = self.opts["rate"], self.opts["seconds"]
        n = int(rate * seconds)
        services = self._services(n, f"latency {label}")
        self.say(f"Latency, {label} table: {rate:g}/s for {seconds:g} s ({n} deliveries)...")
        committed: dict[str, float] = {}
        self._start()
        for i in range(n):
            delay = self.started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            key = f"lat-{label}-{i}"
            with transaction.atomic():
                # Registered first, so it runs first: the moment of the commit.
                transaction.on_commit(functools.partial(_stamp, committed, key))
                engine.queue(
                    [
                        engine.build_event(
                            services[i % len(services)], "trigger", key, _payload(i, "lat")
                        )
                    ]
                )
        keys = list(committed)
        self.client.wait_for(lambda: all(k in self.client.times for k in keys), 60)
        elapsed = time.monotonic() - self.started
        cpu = CpuMeter.spent(self.cpu_before, self.meter.sample(), elapsed)
        values = [
            (self.client.times[k][0] - committed[k]) * 1000 for k in keys if k in self.client.times
        ]
        if not values:
            raise CommandError(f"no latency sample reached the sink ({label} table)")
        out = {
            "rate": rate,
            "count": n,
            "received": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p99_ms": round(percentile(values, 99), 1),
            "max_ms": round(max(values), 1),
            "table_rows": history.table_rows(),
            "cpu_cores_used": cpu,
        }
        self.say(f"  p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, max {out['max_ms']} ms")
        return out

    # -- the figures ------------------------------------------------------------------------
    def _results(
        self,
        idle: dict[str, float],
        sink: dict[str, Any],
        rounds: list[dict[str, Any]],
        empty: dict[str, Any],
        loaded: dict[str, Any],
    ) -> dict[str, Any]:
        def summary(system: str) -> dict[str, Any] | None:
            rates = [r["per_s"] for r in rounds if r["system"] == system]
            if not rates:
                return None
            return {
                "median": round(statistics.median(rates), 1),
                "min": min(rates),
                "max": max(rates),
                "spread_pct": round((max(rates) - min(rates)) / statistics.median(rates) * 100, 1),
            }

        tw, am, plain = summary("Tripwire"), summary("Alertmanager"), summary("plain loop")
        durable = summary(DURABLE)
        assert tw is not None and plain is not None and durable is not None
        fastest = max(tw["median"], plain["median"], am["median"] if am else 0)
        return {
            "tripwire_per_s": tw["median"],
            "alertmanager_per_s": am["median"] if am else None,
            "ratio_alertmanager": round(tw["median"] / am["median"], 3) if am else None,
            "plain_per_s": plain["median"],
            "ratio_plain": round(tw["median"] / plain["median"], 3),
            "durable_per_s": durable["median"],
            "ratio_durable": round(tw["median"] / durable["median"], 3),
            "p50_ms": empty["p50_ms"],
            "p99_ms": empty["p99_ms"],
            "p50_ms_history": loaded["p50_ms"],
            "p99_ms_history": loaded["p99_ms"],
            "history_rows": loaded["table_rows"],
            "sink_per_s": sink["per_s"],
            "sink_headroom": round(sink["per_s"] / fastest, 1),
            "spread": {"tripwire": tw, "alertmanager": am, "plain": plain, "durable": durable},
            "cpu_us_per_notification": {
                "tripwire": delivery_cpu.per_notification(rounds, "Tripwire"),
                "alertmanager": delivery_cpu.per_notification(rounds, "Alertmanager"),
                "plain": delivery_cpu.per_notification(rounds, "plain loop", self.plain_start),
                "durable": delivery_cpu.per_notification(rounds, DURABLE, self.plain_start),
                "plain_loop_start_cpu_seconds": self.plain_start,
            },
            "rounds": rounds,
            "latency_empty": empty,
            "latency_history": loaded,
            "sink": sink,
            "setup": {
                "notifications": self.opts["notifications"],
                "rounds": self.opts["rounds"],
                "concurrency": self.opts["concurrency"],
                "sends_in_flight": self.threads,
                "plain_loop": f"{self.plain[0]} processes x {self.plain[1]} "
                + {
                    "engine": "sends in flight, the engine's sender (aiohttp) per process",
                    "urllib3": "threads, a urllib3 PoolManager per process",
                    "requests": "threads, a requests.Session per thread",
                }[self.plain[2]],
                "keys_per_round": math.ceil(self.opts["notifications"] / PER_KEY),
                "pagerduty_events_per_minute": settings.PAGERDUTY_EVENTS_PER_MINUTE,
                "batch": BATCH,
                "rate_limit": f"kept at PagerDuty's {settings.PAGERDUTY_EVENTS_PER_MINUTE}/min "
                f"per key: {PER_KEY} events per key per phase, fresh keys each phase",
                "alertmanager": self.am.version if self.am else None,
                "cpus": os.cpu_count(),
                "other_processes_before_cores": idle["other processes"],
                "quick": self.opts["quick"],
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        }
