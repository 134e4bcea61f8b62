"""What `make bench` sets up once per run: the bench's organization (its ingest key, the probe
alerts and their PagerDuty services in the sandbox), the environment of the processes it
starts, and gunicorn serving the product."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from django.core.management.base import CommandError

from alerts_saas.accounts.models import Organization, User
from alerts_saas.accounts.services import create_organization
from alerts_saas.alerts.models import Alert
from alerts_saas.ingest.models import IngestKey
from devtools.bench import alert_set
from devtools.bench.common import Children, production_env, sandbox_services
from devtools.sandbox.testing import SandboxProcess, free_port
from integrations.pagerduty.models import PagerDutyService

ORG_SLUG = "bench-ingest"
PROBES = 10  # probe alerts, each on its own PagerDuty service (integration key)


@dataclass(frozen=True)
class BenchOrg:
    """The bench's organization and what it keeps across alert counts."""

    organization: Organization
    user: User
    secret: str
    services: list[PagerDutyService]
    probes: list[Alert]


def bench_org(sandbox: SandboxProcess, say: Callable[[str], object]) -> BenchOrg:
    """A fresh organization with its ingest key, PagerDuty services and probe alerts."""
    say(f"Setting up: organization, ingest key, {PROBES} services and probes...")
    Organization.objects.filter(slug=ORG_SLUG).delete()
    user, _ = User.objects.get_or_create(email="bench-ingest@tripwire.localhost")
    org = create_organization(user, "Bench ingest", ORG_SLUG)
    _, secret = IngestKey.issue(org, "bench")
    services = sandbox_services(sandbox, org, PROBES)
    if len(services) < PROBES:
        raise CommandError(f"the sandbox has {len(services)} US services; {PROBES} needed")
    probes = alert_set.create_probes(org, user, services)
    return BenchOrg(org, user, secret, services, probes)


def child_env(sandbox: SandboxProcess) -> dict[str, str]:
    """Production settings over plain http, on this run's database, Redis and secrets."""
    env = production_env(
        INGEST_EVENTS_PER_MINUTE=str(10**12), PAGERDUTY_IDENTITY_URL=sandbox.identity_url
    )
    for region in ("us", "eu"):
        env[f"PAGERDUTY_REST_URL_{region.upper()}"] = sandbox.rest_url(region)
        env[f"PAGERDUTY_EVENTS_URL_{region.upper()}"] = sandbox.events_url(region)
    return env


def start_web(
    children: Children, env: dict[str, str], opts: dict[str, Any], say: Callable[[str], object]
) -> str:
    """Start gunicorn on a free port; its base URL once it answers /healthz."""
    port = free_port()
    say(f"Starting gunicorn ({opts['web_workers']} {opts['web_class']} workers) on port {port}...")
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
