"""A batch of events that takes many hosts of an alert that groups over its threshold at
once (a storm) opens all their firings and pages each host, each trigger with its own
host's latest events and severity, on both count stores; with Redis, for the queries of a
few hosts (without it, counting itself registers each new host in the database)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts_saas.alerts import counting, evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, GroupBy, Level
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db

FEW, MANY = 3, 30


@pytest.fixture(params=["redis", "database"])
def store(request, settings):
    """Each count store: Redis (the settings'), and the database's (no Redis)."""
    counting.counts.cache_clear()
    if request.param == "database":
        settings.REDIS_URL = ""
    yield request.param
    counting.counts.cache_clear()


def _storm(org, service, hosts: int) -> tuple[Alert, int]:
    """A new alert counting each host's errors on its own (threshold 2), and the queries of
    the one batch that takes `hosts` hosts over it (each host a warning, then an error)."""
    alert = Alert.objects.create(
        organization=org,
        name=f"Errors per host ({hosts})",
        match_app=f"shop-{hosts}",
        threshold=2,
        group_by=GroupBy.SOURCE,
        severity_from_events=True,
    )
    alert.targets.add(service)
    now = time.time()
    events = [
        Event(
            timestamp=now,
            app=alert.match_app,
            source=f"web-{i}",
            level=level,
            message=f"{word} on web-{i}",
        )
        for i in range(hosts)
        for level, word in ((Level.WARNING, "slow"), (Level.ERROR, "failed"))
    ]
    evaluation.record(org.pk, events[:1])  # the alert compiled and its first count made
    with CaptureQueriesContext(connection) as captured:
        evaluation.record(org.pk, events[1:])
    return alert, len(captured)


def test_a_storm_opens_every_hosts_firing_for_the_queries_of_a_few(org, make_service, store):
    service = make_service()
    few, few_queries = _storm(org, service, FEW)
    many, many_queries = _storm(org, service, MANY)
    if store == "redis":
        assert many_queries == few_queries, {FEW: few_queries, MANY: many_queries}

    for alert, hosts in ((few, FEW), (many, MANY)):
        opened = Firing.objects.filter(alert=alert, cleared_at__isnull=True)
        assert sorted(f.group for f in opened) == sorted(f"web-{i}" for i in range(hosts))
        triggers = Delivery.objects.filter(alert=alert, event_action=EventAction.TRIGGER)
        assert triggers.count() == hosts
        for trigger in triggers:
            payload = trigger.body["payload"]
            host = payload["custom_details"]["group"]["value"]
            # Its own host's events, newest first, and the highest level among them.
            latest = payload["custom_details"]["recent_matching_events"]
            assert [e["message"] for e in latest] == [f"failed on {host}", f"slow on {host}"]
            assert payload["severity"] == "error"
