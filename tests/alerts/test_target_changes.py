"""An open firing follows its alert's targets when they change from the service's side
(`alerts_saas.alerts.target_changes`): how integrations.pagerduty moves alerts without
importing the alerts app."""

from __future__ import annotations

import pytest
import redis
from django.db import transaction
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.counting import counts
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import EventAction, Reason

pytestmark = pytest.mark.django_db


def _firing(org, *services) -> tuple[Alert, Firing]:
    alert = Alert.objects.create(organization=org, name="Edge heartbeat missing", threshold=3)
    alert.targets.add(*services)
    firing = firings.open_firing(alert, 4, timezone.now())
    assert firing is not None
    return alert, firing


def _sent(firing: Firing) -> list[tuple[str, str, str]]:
    return [(d.event_action, d.service_name, d.reason) for d in firing.deliveries.order_by("pk")]


def test_a_service_given_an_alert_is_paged_for_its_open_firing(org, make_service, pagerduty):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")
    alert, firing = _firing(org, edge)
    with transaction.atomic():
        postgres.alerts.add(alert)
    assert _sent(firing) == [("trigger", "Edge Gateway", ""), ("trigger", "Postgres Primary", "")]
    trigger = firing.deliveries.get(service=postgres)
    assert trigger.dedup_key == firing.dedup_key(postgres.pk)
    assert trigger.alert_id == alert.pk
    assert (
        trigger.body["payload"]["custom_details"]["matching_events_in_window"] == 0
    )  # counted now

    # Taken off from the service's side, the service's incident is resolved.
    edge.alerts.remove(alert)
    resolve = firing.deliveries.get(service=edge, event_action=EventAction.RESOLVE)
    assert resolve.reason == Reason.TARGET_REMOVED


def test_changes_from_the_alerts_side_are_left_to_the_form(org, make_service, pagerduty):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")
    alert, firing = _firing(org, edge)
    alert.targets.add(postgres)  # the form re-evaluates the whole alert after saving
    assert _sent(firing) == [("trigger", "Edge Gateway", "")]


def test_disabled_or_quiet_alerts_page_nothing(org, make_service, pagerduty):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")
    quiet = Alert.objects.create(organization=org, name="Quiet")
    off = Alert.objects.create(organization=org, name="Off", enabled=False)
    postgres.alerts.add(quiet, off)
    assert not postgres.deliveries.exists()
    assert sorted(postgres.alerts.values_list("name", flat=True)) == ["Off", "Quiet"]
    assert not edge.deliveries.exists()


def test_the_new_service_is_paged_even_when_the_counts_cannot_be_read(
    org, make_service, pagerduty, monkeypatch
):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")
    alert, firing = _firing(org, edge)
    store = counts()

    def down(*args, **kwargs):
        raise redis.ConnectionError("Redis is down")

    monkeypatch.setattr(store, "totals", down)
    monkeypatch.setattr(store, "recent", down)
    postgres.alerts.add(alert)
    trigger = firing.deliveries.get(service=postgres)
    details = trigger.body["payload"]["custom_details"]
    assert details["matching_events_in_window"] == 4  # the count when it opened
    assert details["recent_matching_events"] == []
