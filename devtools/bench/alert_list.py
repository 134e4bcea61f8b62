"""Alert list benchmark (`python -m devtools.bench alert-list`): server time of the list page.

One organization with 2,000 alerts (a few disabled, a few paging nobody, 40 firing) and a
history of 1,000,000 finished deliveries over 500,000 cleared firings spread over its alerts,
written by PostgreSQL itself (INSERT ... SELECT over generate_series). The data set is kept
between runs and rebuilt only when its size changes (or with --rebuild).

It times the page in this process through Django's test client, with production settings
(DEBUG off, the cached template loader, hashed static files): the command starts itself again
under them when run with DEBUG on. Each view is requested a few times to warm up, then timed
over --requests requests; the median and the highest are printed, with the page's queries.

Point it at a scratch database: it deletes and rewrites the bench organization's rows.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization, User
from alerts_saas.accounts.services import create_organization
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, Level
from devtools.bench.common import (
    BUSY_MACHINE,
    Children,
    CpuMeter,
    cores_line,
    production_env,
    save_result,
)
from integrations.pagerduty.models import PagerDutyService

ORG_SLUG = "bench-alert-list"
OWNER = "bench-alert-list@tripwire.localhost"
SERVICES = 12
FIRING = 40  # alerts with an open firing (enabled ones)
TARGET_MS = 100.0

# What the pages are asked for: (label, query string).
VIEWS = [
    ("first page", ""),
    ("page 2", "?page=2"),
    ("last page", "?page=40"),
    ("search", "?q=checkout"),
    ("search, page 2", "?q=checkout&page=2"),
    ("firing only", "?state=firing"),
    ("pages nobody", "?state=nobody"),
    ("no match", "?q=no-such-alert"),
]

TEAMS = ["checkout", "search", "billing", "auth", "inventory", "shipping", "payments", "email"]
SIGNALS = ["5xx errors", "slow requests", "heartbeat", "queue backlog", "disk full"]

# Cleared firings, oldest first over 90 days, each with a trigger and a resolve five minutes
# apart to one of the alert's services; one delivery in 47 refused for good (400).
_FIRINGS = """
INSERT INTO alerts_firing (
    organization_id, alert_id, opened_at, count_at_open, cleared_at, clear_reason, count_at_clear,
    "group", held, severity
)
SELECT %(org)s, (%(alerts)s::bigint[])[1 + g %% cardinality(%(alerts)s::bigint[])],
       t.at, 5 + g %% 40, t.at + interval '5 minutes', 'cleared', 0, '', false, 'error'
FROM generate_series(0, %(rows)s - 1) AS g
CROSS JOIN LATERAL (
    SELECT now() - interval '90 days' * (1 - g::float8 / %(rows)s) AS at
) AS t
"""

_DELIVERIES = """
INSERT INTO pagerduty_delivery (
    organization_id, service_id, service_name, region, routing_key, event_action, dedup_key,
    body, is_test, reason, trim_note, status, attempts, next_attempt_at, lease_until,
    last_error,
    response_status, response_message, response_errors, latency_ms, created_at, delivered_at,
    created_by_id, alert_id, firing_id, claim
)
SELECT
    f.organization_id, s.id, s.name, 'us', s.integration_key, a.action, d.dedup,
    jsonb_build_object('event_action', a.action, 'dedup_key', d.dedup),
    false, '', '', CASE WHEN d.failed THEN 'failed' ELSE 'delivered' END, 1, d.at, NULL,
    CASE WHEN d.failed THEN 'Event object is invalid' ELSE '' END,
    CASE WHEN d.failed THEN 400 ELSE 202 END,
    CASE WHEN d.failed THEN 'Event object is invalid' ELSE 'Event processed' END,
    '[]'::jsonb, 40 + f.id %% 400, d.at, CASE WHEN d.failed THEN NULL ELSE d.at END,
    NULL, f.alert_id, f.id, NULL
FROM alerts_firing AS f
JOIN pagerduty_pagerdutyservice AS s
    ON s.id = (%(services)s::bigint[])[1 + f.alert_id %% cardinality(%(services)s::bigint[])]
CROSS JOIN LATERAL (
    VALUES ('trigger', f.opened_at), ('resolve', f.cleared_at)
) AS a(action, at)
CROSS JOIN LATERAL (
    SELECT 'tripwire-' || f.organization_id || '-alert-' || f.alert_id || '-firing-' || f.id
               || '-service-' || s.id AS dedup,
           a.at AS at, (f.id + length(a.action)) %% 47 = 7 AS failed
) AS d
WHERE f.organization_id = %(org)s AND a.at IS NOT NULL
"""


def _alert(n: int, org: Organization) -> Alert:
    """The n-th alert: a mix of teams, signals, conditions and rules."""
    team, signal = TEAMS[n % len(TEAMS)], SIGNALS[n % len(SIGNALS)]
    absence = signal == "heartbeat"
    return Alert(
        organization=org,
        name=f"{team} {signal} {n:04d}",
        severity=("critical", "error", "warning", "info")[n % 4],
        kind=ConditionKind.ABSENCE if absence else ConditionKind.PRESENCE,
        match_app=team,
        match_level=None if absence else Level.ERROR,
        match_message="" if n % 3 else "timeout",
        threshold=1 if absence else 5 + n % 20,
        window_minutes=(5, 10, 60)[n % 3],
        enabled=n % 25 != 3,
        counting_since=time_ago(days=2),
    )


def time_ago(**delta: float) -> datetime:
    return timezone.now() - timedelta(**delta)


class Command(BaseCommand):
    help = "Server time of the alert list at 2,000 alerts and 1,000,000 deliveries."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--alerts", type=int, default=2000)
        parser.add_argument("--deliveries", type=int, default=1_000_000)
        parser.add_argument("--requests", type=int, default=20, help="timed, per view")
        parser.add_argument("--warm-up", type=int, default=3, help="untimed, per view")
        parser.add_argument("--rebuild", action="store_true", help="write the data set again")

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.DEBUG:
            self._again_in_production()
        if connection.vendor != "postgresql":
            raise CommandError(
                "Run it on PostgreSQL (DATABASE_URL): the data set is written by SQL."
            )
        org, owner = self._data_set(opts["alerts"], opts["deliveries"], opts["rebuild"])
        client = Client(HTTP_HOST="localhost")
        client.force_login(owner)
        base = f"/o/{org.slug}/alerts/"
        meter = CpuMeter(Children("bench-alert-list"))
        before, started = meter.sample(), time.monotonic()
        results = [self._time(client, base, label, q, opts) for label, q in VIEWS]
        cores = CpuMeter.spent(before, meter.sample(), time.monotonic() - started)
        self._print(results, cores)
        result = {"views": results, "target_ms": TARGET_MS, "cores": cores}
        path = save_result("alert-list", result)
        self.stdout.write(f"saved to {path}")

    # -- Production settings --------------------------------------------------------------

    def _again_in_production(self) -> None:
        """Start this command again with DEBUG off, static files collected as in production."""
        static_root = Path(settings.VAR_DIR) / "bench" / "alert-list-static"
        env = production_env(STATIC_ROOT=str(static_root))
        if not (static_root / "staticfiles.json").exists():
            self.stdout.write("collecting static files (once) ...")
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                cwd=settings.BASE_DIR,
                env=env,
                check=True,
            )
        argv = [sys.executable, "-m", "devtools.bench", *sys.argv[1:]]
        os.execve(sys.executable, argv, env)  # noqa: S606 - the same command, other settings

    # -- The data set ---------------------------------------------------------------------

    def _data_set(self, alerts: int, deliveries: int, rebuild: bool) -> tuple[Organization, User]:
        owner, _ = User.objects.get_or_create(email=OWNER)
        org = Organization.objects.filter(slug=ORG_SLUG).first()
        if org is not None and not rebuild and self._has(org, alerts, deliveries):
            self.stdout.write(f"reusing {alerts} alerts and {deliveries:,} deliveries")
            return org, owner
        if org is not None:
            self._drop(org)
        started = time.monotonic()
        org = create_organization(owner, "Bench alert list", ORG_SLUG)
        self._write(org, alerts, deliveries)
        with connection.cursor() as cursor:
            # As autovacuum would have, on tables that have lived that long.
            for table in ("alerts_alert", "alerts_alert_targets", "alerts_firing"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            cursor.execute("VACUUM (ANALYZE) pagerduty_delivery")
        took = time.monotonic() - started
        self.stdout.write(f"wrote {alerts} alerts and {deliveries:,} deliveries in {took:.0f} s")
        return org, owner

    @staticmethod
    def _has(org: Organization, alerts: int, deliveries: int) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM alerts_alert WHERE organization_id = %s),"
                " (SELECT count(*) FROM pagerduty_delivery WHERE organization_id = %s)",
                [org.pk, org.pk],
            )
            found = cursor.fetchone()
        return found == (alerts, deliveries)

    def _drop(self, org: Organization) -> None:
        """The bench organization and its rows, history first (by SQL: the ORM's cascade
        would load a million deliveries)."""
        self.stdout.write("deleting the previous data set ...")
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM pagerduty_delivery WHERE organization_id = %s", [org.pk])
            cursor.execute("DELETE FROM alerts_firing WHERE organization_id = %s", [org.pk])
        org.delete()

    @transaction.atomic
    def _write(self, org: Organization, alerts: int, deliveries: int) -> None:
        services = PagerDutyService.objects.bulk_create(
            PagerDutyService(
                organization=org,
                region="us",
                name=f"{TEAMS[n % len(TEAMS)].title()} on-call {n}",
                integration_key=uuid.uuid4().hex,
            )
            for n in range(SERVICES)
        )
        made = Alert.objects.bulk_create(_alert(n, org) for n in range(alerts))
        through = Alert.targets.through
        through.objects.bulk_create(
            through(alert_id=a.pk, pagerdutyservice_id=services[(n + k) % SERVICES].pk)
            for n, a in enumerate(made)
            if n % 97 != 5  # a few page nobody
            for k in range(1 + n % 3)
        )
        ids = [a.pk for a in made]
        with connection.cursor() as cursor:
            params = {"org": org.pk, "alerts": ids, "rows": deliveries // 2}
            cursor.execute(_FIRINGS, params)
            cursor.execute(_DELIVERIES, {"org": org.pk, "services": [s.pk for s in services]})
        self._open_firings([a for a in made if a.enabled][:: max(1, alerts // FIRING)][:FIRING])

    @staticmethod
    def _open_firings(alerts: list[Alert]) -> None:
        """An open firing for each of `alerts`, opened in the last hours (no delivery of its
        own: the history's already count a million)."""
        Firing.objects.bulk_create(
            Firing(
                organization_id=a.organization_id,
                alert=a,
                opened_at=time_ago(minutes=7 * (n + 1)),
                count_at_open=a.threshold,
            )
            for n, a in enumerate(alerts)
        )

    # -- Timing ---------------------------------------------------------------------------

    def _time(
        self, client: Client, base: str, label: str, query: str, opts: dict[str, Any]
    ) -> dict[str, Any]:
        url = base + query
        for _ in range(opts["warm_up"]):
            self._get(client, url)
        with CaptureQueriesContext(connection) as captured:
            body = self._get(client, url)
        queries = len(captured)  # now: the next request empties the log
        times = []
        for _ in range(opts["requests"]):
            started = time.perf_counter()
            self._get(client, url)
            times.append((time.perf_counter() - started) * 1000)
        return {
            "view": label,
            "url": url,
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
            "queries": queries,
            "rows": body.count('<tr id="alert-'),
            "kb": round(len(body) / 1024),
        }

    @staticmethod
    def _get(client: Client, url: str) -> str:
        response = client.get(url)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        return response.content.decode()

    def _print(self, results: list[dict[str, Any]], cores: dict[str, float]) -> None:
        self.stdout.write(
            f"{'view':<16} {'median ms':>10} {'max ms':>8} {'queries':>8} {'rows':>5} {'KB':>5}"
        )
        for r in results:
            self.stdout.write(
                f"{r['view']:<16} {r['median_ms']:>10.1f} {r['max_ms']:>8.1f}"
                f" {r['queries']:>8} {r['rows']:>5} {r['kb']:>5}"
            )
        self.stdout.write(cores_line(cores))
        if cores["other processes"] > BUSY_MACHINE:
            self.stdout.write(
                f"note: other processes took {cores['other processes']:.2f} cores meanwhile"
                " (2 cores shared?): these times suffer from it"
            )
        worst = max(r["median_ms"] for r in results)
        verdict = "within" if worst <= TARGET_MS else "OVER"
        self.stdout.write(f"slowest median {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
