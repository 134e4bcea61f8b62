"""The bench organization's alerts: the probes, and an everyday set switched between counts.

An organization of `make bench` holds, at a count N: the probe alerts (kept throughout),
one canary alert, and N - probes - 1 everyday alerts of the mix (`alert_mix.alert_specs`)
whose thresholds the throughput phase can't reach. Switching adds or deletes the tail of
the everyday set in bulk (a few hundred milliseconds for 2,000 alerts), replaces the
canary, and ends with an ordinary `save()` of the canary: however the product notices that
alerts changed (timestamps, counts, signals on save or delete), it notices this. The bench
then checks, through the API, that an event meeting the new canary fires it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import transaction

from alerts_saas.accounts.models import Organization, User
from alerts_saas.alerts.models import Alert
from devtools.bench.alert_mix import alert_specs
from integrations.pagerduty.models import PagerDutyService

UNREACHABLE = 50_000_000  # thresholds the throughput phase can't cross
PROBE_PREFIX = "probe "
CANARY_PREFIX = "canary "
CANARY_ATTRIBUTE = "bench_canary"


@dataclass(frozen=True)
class Switched:
    """An alert set in place: how many alerts of each sort, and its canary."""

    alerts: int
    everyday: int
    added: int
    deleted: int
    canary: Alert
    seconds: float


def create_probes(
    organization: Organization, user: User, services: list[PagerDutyService]
) -> list[Alert]:
    """One probe alert per service: attribute `probe` equals `p<k>`, threshold 1."""
    probes = []
    for k, service in enumerate(services):
        alert = Alert.objects.create(
            organization=organization,
            created_by=user,
            name=f"{PROBE_PREFIX}{k}",
            threshold=1,
            window_minutes=1,
            match_attribute="probe",
            match_attribute_value=f"p{k}",
            severity="critical",
        )
        alert.targets.add(service)
        probes.append(alert)
    return probes


def switch(
    organization: Organization,
    user: User,
    services: list[PagerDutyService],
    count: int,
    probes: int,
) -> Switched:
    """Make the organization hold `count` alerts: its `probes` probes, a canary, and the
    first `count - probes - 1` everyday alerts of the mix, each paging one of `services`."""
    started = time.monotonic()
    everyday = count - probes - 1
    if everyday < 0:
        raise ValueError(f"{count} alerts can't hold {probes} probes and a canary")
    wanted = {spec["name"]: (n, spec) for n, spec in enumerate(alert_specs(everyday))}
    alerts = Alert.objects.filter(organization=organization)
    with transaction.atomic():
        held = set(
            alerts.exclude(name__startswith=PROBE_PREFIX)
            .exclude(name__startswith=CANARY_PREFIX)
            .values_list("name", flat=True)
        )
        stale = held - set(wanted)
        alerts.filter(name__in=stale).delete()
        alerts.filter(name__startswith=CANARY_PREFIX).delete()
        missing = [(n, spec) for name, (n, spec) in wanted.items() if name not in held]
        created = Alert.objects.bulk_create(
            [
                Alert(organization=organization, created_by=user, **_everyday(spec))
                for _, spec in missing
            ],
            batch_size=500,
        )
        through = Alert.targets.through
        through.objects.bulk_create(
            [
                through(alert_id=alert.pk, pagerdutyservice_id=services[n % len(services)].pk)
                for alert, (n, _) in zip(created, missing, strict=True)
            ],
            batch_size=1000,
        )
        canary = Alert.objects.bulk_create(
            [
                Alert(
                    organization=organization,
                    created_by=user,
                    name=f"{CANARY_PREFIX}{count}",
                    threshold=1,
                    window_minutes=1,
                    match_attribute=CANARY_ATTRIBUTE,
                    match_attribute_value=str(count),
                )
            ]
        )[0]
    canary.refresh_from_db()
    canary.save()  # an ordinary save, for whatever notices changes on save
    return Switched(
        alerts=alerts.count(),
        everyday=everyday,
        added=len(created),
        deleted=len(stale),
        canary=canary,
        seconds=round(time.monotonic() - started, 2),
    )


def _everyday(spec: dict[str, object]) -> dict[str, object]:
    """An everyday alert's fields: out of the throughput phase's reach unless it says
    otherwise (the absence alerts' thresholds of 1; no beat runs in the bench)."""
    return {"threshold": UNREACHABLE, "window_minutes": 5, **spec}
