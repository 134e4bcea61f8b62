"""Races and edge cases found in review of resolving by hand, mutes and grouping: each
test failed before its fix."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import close_old_connections, transaction
from django.utils import timezone

from alerts_saas.alerts import evaluation, firings, mute_release
from alerts_saas.alerts.counting import CounterSet, Tally, counts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, GroupBy, MuteWindow
from alerts_saas.alerts.resolving import clear_if_resolved_in_pagerduty
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.alerts.test_alert_page import _alert, _events
from tests.alerts.test_manual_resolve import _incident

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_incidents_resolved_at_the_same_moment_clear_the_firing(org, make_service):
    """Each resolve is saved in its own transaction; the one that checks second must see
    the first's resolve, or the firing stays open for ever (and the alert never pages)."""
    first, second = make_service("Checkout API 001"), make_service("Checkout API 002")
    _alert(org, first, window_minutes=1, auto_resolve=False).targets.add(second)
    [firing] = _events(org, 3)
    one, two = (_incident(t) for t in firing.deliveries.filter(event_action=EventAction.TRIGGER))
    checked = threading.Event()

    def resolve(incident: Incident, hold: float) -> None:
        try:
            with transaction.atomic():
                Incident.objects.filter(pk=incident.pk).update(status="resolved")
                incident.refresh_from_db()
                clear_if_resolved_in_pagerduty(incident)
                checked.set()
                time.sleep(hold)  # commits after the other has looked
        finally:
            close_old_connections()

    a = threading.Thread(target=resolve, args=(one, 0.5))
    a.start()
    assert checked.wait(5)
    b = threading.Thread(target=resolve, args=(two, 0))
    b.start()
    a.join(10)
    b.join(10)
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.INCIDENT_RESOLVED


def test_a_forgotten_value_of_an_alert_that_waits_for_a_person_stays_open(org, settings):
    settings.ALERT_GROUP_FORGET_WINDOWS = 2
    alert = Alert.objects.create(
        organization=org,
        name="Heartbeat per host",
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=1,
        group_by=GroupBy.SOURCE,
        auto_resolve=False,
    )
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now() - timedelta(hours=1))
    whole = CounterSet.of(alert)
    start = time.time() - 600
    tally = Tally(buckets={int(start // whole.size): 1}, group_limit=10, first=start)
    counts().add({whole.in_group("db-1"): tally}, [], start)
    assert evaluation.evaluate(now=start + 70)["opened"] == 1
    # Far past forgetting: the host is still dead, and nobody resolved its incident.
    evaluation.evaluate(now=start + 400)
    [firing] = Firing.objects.filter(alert=alert)
    assert firing.is_open and firing.group == "db-1"


def test_a_refused_target_is_not_paged_again_while_another_stays_muted(org, make_service, settings):
    muted, refusing = make_service("Checkout API 001"), make_service("Checkout API 002")
    alert = _alert(org, muted, window_minutes=1)
    alert.targets.add(refusing)
    MuteWindow.objects.create(
        organization=org,
        service=muted,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    [firing] = _events(org, 3)
    assert firing.held
    trigger = Delivery.objects.get(firing=firing, service=refusing)
    Delivery.objects.filter(pk=trigger.pk).update(status=Delivery.Status.FAILED)
    # As the engine marks a service whose key PagerDuty refuses (`paths.record`).
    PagerDutyService.objects.filter(pk=refusing.pk).update(refused_at=timezone.now())
    for _ in range(3):
        mute_release.release_due(org.pk)
    assert Delivery.objects.filter(firing=firing, service=refusing).count() == 1
    assert not Delivery.objects.filter(firing=firing, service=muted).exists()
    firing.refresh_from_db()
    assert firing.held


def test_the_release_pages_the_target_whose_window_ended(org, make_service):
    service = make_service()
    alert = _alert(org, service, window_minutes=1)
    window = MuteWindow.objects.create(
        organization=org,
        alert=alert,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    [firing] = _events(org, 3)
    assert firing.held and not firing.deliveries.exists()
    MuteWindow.objects.filter(pk=window.pk).update(ends_at=timezone.now())
    assert firings.release_held(firing, alert, 3)
    firing.refresh_from_db()
    assert not firing.held
    assert firing.deliveries.filter(event_action=EventAction.TRIGGER, service=service).count() == 1
    assert not firings.release_held(firing, alert, 3)  # released once: nothing more to do
    assert firing.deliveries.count() == 1


def test_the_banner_shows_the_value_still_firing_not_the_newest(org, make_service, admin_client):
    alert = _alert(org, make_service(), window_minutes=1, group_by=GroupBy.SOURCE)
    older = Firing.objects.create(
        organization=org, alert=alert, group="web-1", count_at_open=3,
        opened_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    Firing.objects.create(
        organization=org, alert=alert, group="web-2", count_at_open=3,
        opened_at=timezone.now() - timedelta(minutes=5), cleared_at=timezone.now(),
        clear_reason=Firing.ClearReason.CLEARED,
    )  # fmt: skip
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert 'data-state="firing"' in page and "FIRING since" in page
    assert f'id="firing-{older.pk}"' in page
