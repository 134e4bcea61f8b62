"""Through the API as on the page: changing the targets of an alert that groups, or
disabling it, costs the same number of queries with 30 hosts firing as with 3
(tests/alerts/test_grouped_alert_queries.py measures the pages)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, Level
from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db

FEW, MANY = 3, 30


def _firing_alert(api, org, service, hosts: int) -> Alert:
    body = alert_body(
        service,
        name=f"Per host {hosts}",
        condition={"kind": "presence", "threshold": 1, "window_minutes": 5},
        match={"app": f"app-{hosts}"},
        group_by="source",
    )
    alert = Alert.objects.get(pk=api.post("/alerts", body, status=201).json()["id"])
    events = [
        Event(timestamp=time.time(), app=f"app-{hosts}", source=f"web-{i}", level=Level.ERROR)
        for i in range(hosts)
    ]
    evaluation.record(org.pk, events)
    assert alert.firings.filter(cleared_at__isnull=True).count() == hosts
    return alert


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def test_patching_the_targets(api, org, service, other_service):
    alerts = {n: _firing_alert(api, org, service, n) for n in (FEW, MANY)}
    counted = {
        n: _queries(
            lambda a=alert: api.patch(
                f"/alerts/{a.pk}", {"targets": [other_service.pk]}, status=200
            )
        )
        for n, alert in alerts.items()
    }
    assert counted[MANY] == counted[FEW], f"queries by hosts firing: {counted}"
    for n, alert in alerts.items():
        new = Delivery.objects.filter(alert=alert, service=other_service)
        assert new.filter(event_action=EventAction.TRIGGER).count() == n
        removed = Delivery.objects.filter(
            alert=alert, service=service, event_action=EventAction.RESOLVE
        )
        assert set(removed.values_list("reason", flat=True)) == {Reason.TARGET_REMOVED}
        assert removed.count() == n


def test_disabling(api, org, service):
    alerts = {n: _firing_alert(api, org, service, n) for n in (FEW, MANY)}
    counted = {
        n: _queries(lambda a=alert: api.post(f"/alerts/{a.pk}/disable", status=200))
        for n, alert in alerts.items()
    }
    assert counted[MANY] == counted[FEW], f"queries by hosts firing: {counted}"
    for n, alert in alerts.items():
        assert set(alert.firings.values_list("clear_reason", flat=True)) == {
            Firing.ClearReason.DISABLED
        }
        assert Delivery.objects.filter(alert=alert, event_action=EventAction.RESOLVE).count() == n
