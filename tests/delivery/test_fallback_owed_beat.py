"""Beat's safety net: a fallback that heals pages the firings that reached nobody even when
the heal's callback never ran (the process died between the heal's commit and it). The beat
task pages each such firing through the fallback once, never a cleared one or one the
fallback paged already, and costs one query when no organization has anything to do. Real
PostgreSQL, the sandbox over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import fallback_owed, firings
from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.mute_models import MuteWindow
from alerts_saas.alerts.tasks import page_owed_through_fallback
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.delivery.fallback_copies import accepted as _accepted
from tests.delivery.fallback_copies import copies as _copies
from tests.delivery.fallback_copies import fallback as _fallback
from tests.delivery.fallback_copies import reaches as _reaches
from tests.delivery.fallback_copies import refused_everywhere as _refused_everywhere
from tests.delivery.sending import open_firing, send_queued

pytestmark = pytest.mark.django_db(transaction=True)


def _healed_without_callback(fallback: PagerDutyService) -> None:
    """The fallback's heal committed, and its process died before the callback ran."""
    PagerDutyService.objects.filter(pk=fallback.pk).update(
        refused_at=None, refused_detail="", failing_since=None
    )


def test_beat_pages_once_what_a_lost_heal_callback_did_not(org, make_service, pagerduty):
    fallback = _fallback(make_service)
    service = make_service("Checkout API 001")
    pagerduty.fault("events-us", "refuse", count=2)  # the trigger, then the fallback's copy
    firing = _refused_everywhere(org, service, fallback, "DB errors")
    _healed_without_callback(fallback)
    assert _reaches(firing)  # the dashboard says the fallback pages it: beat makes it so

    assert page_owed_through_fallback() == {"organizations": 1, "alerts_paged": 1, "failed": 0}
    send_queued()
    assert _copies(firing, fallback) == [Delivery.Status.FAILED, Delivery.Status.DELIVERED]
    assert _accepted(pagerduty, firing, fallback) == 1

    # The next run finds nothing to do and sends nothing.
    assert page_owed_through_fallback() == {"organizations": 0, "alerts_paged": 0, "failed": 0}
    send_queued()
    assert _copies(firing, fallback) == [Delivery.Status.FAILED, Delivery.Status.DELIVERED]
    assert _accepted(pagerduty, firing, fallback) == 1


def test_beat_leaves_cleared_firings_and_those_paged_through_the_fallback(
    org, make_service, pagerduty
):
    fallback = _fallback(make_service)
    service = make_service("Checkout API 001")
    pagerduty.fault("events-us", "refuse")  # the first firing's own trigger only
    _, paged = open_firing(org, service, "Disk full")
    send_queued()
    assert _copies(paged, fallback) == [Delivery.Status.DELIVERED]

    pagerduty.fault("events-us", "refuse", count=2)
    cleared = _refused_everywhere(org, service, fallback, "DB errors")
    assert firings.clear_firing(cleared, Firing.ClearReason.CLEARED, timezone.now())
    send_queued()
    _healed_without_callback(fallback)

    assert page_owed_through_fallback()["alerts_paged"] == 0
    send_queued()
    assert _copies(paged, fallback) == [Delivery.Status.DELIVERED]
    assert _accepted(pagerduty, paged, fallback) == 1
    assert _copies(cleared, fallback) == [Delivery.Status.FAILED]


def test_a_fallback_still_refused_pages_nothing(org, make_service, pagerduty):
    fallback = _fallback(make_service)
    service = make_service("Checkout API 001")
    pagerduty.fault("events-us", "refuse", count=2)
    firing = _refused_everywhere(org, service, fallback, "DB errors")
    assert PagerDutyService.objects.get(pk=fallback.pk).refused_at is not None

    assert page_owed_through_fallback()["organizations"] == 0
    assert _copies(firing, fallback) == [Delivery.Status.FAILED]


def test_a_muted_fallback_holds_the_firing_and_beat_leaves_it_to_the_mute(
    org, make_service, pagerduty
):
    fallback = _fallback(make_service)
    service = make_service("Checkout API 001")
    pagerduty.fault("events-us", "refuse", count=2)
    firing = _refused_everywhere(org, service, fallback, "DB errors")
    _healed_without_callback(fallback)
    MuteWindow.objects.create(
        organization=org,
        service=fallback,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(minutes=30),
    )

    assert page_owed_through_fallback()["alerts_paged"] == 0
    firing.refresh_from_db()
    assert firing.held  # the mute's end pages it (`mute_release`)
    assert _copies(firing, fallback) == [Delivery.Status.FAILED]
    # Held: the next run has nothing to do for it.
    assert page_owed_through_fallback()["organizations"] == 0


def test_one_organization_failing_does_not_hold_up_the_others(
    org, make_service, pagerduty, make_org, make_user, monkeypatch
):
    fallback = _fallback(make_service)
    service = make_service("Checkout API 001")
    pagerduty.fault("events-us", "refuse", count=2)
    failing = _refused_everywhere(org, service, fallback, "DB errors")
    _healed_without_callback(fallback)
    other = make_org("Other Ops", owner=make_user("owner@other.example"))
    own = PagerDutyService.objects.create(
        organization=other, name="Own", integration_key="o" * 32, refused_at=timezone.now()
    )
    other_fallback = PagerDutyService.objects.create(
        organization=other, name="Fallback", integration_key="f" * 32, is_fallback=True
    )
    _, owed = open_firing(other, own, "Queue depth")
    owed.deliveries.update(status=Delivery.Status.FAILED)
    real = fallback_owed.page_healed_fallback

    def page(organization_id: int) -> list[str]:
        if organization_id == org.pk:  # the first one tried
            raise RuntimeError("database hiccup")
        return real(organization_id)

    monkeypatch.setattr(fallback_owed, "page_healed_fallback", page)
    assert org.pk < other.pk
    assert page_owed_through_fallback() == {"organizations": 2, "alerts_paged": 1, "failed": 1}
    assert _copies(owed, other_fallback) == [Delivery.Status.FAILED, Delivery.Status.QUEUED]
    assert _copies(failing, fallback) == [Delivery.Status.FAILED]


def test_twenty_organizations_with_nothing_to_do_cost_one_query(make_org, make_user):
    for n in range(20):
        org = make_org(f"Org {n}", owner=make_user(f"owner{n}@org{n}.example"))
        own = PagerDutyService.objects.create(
            organization=org, name="Own", integration_key=f"own{n:029d}", refused_at=timezone.now()
        )
        fallback = PagerDutyService.objects.create(
            organization=org, name="Fallback", integration_key=f"fb{n:030d}", is_fallback=True
        )
        _, firing = open_firing(org, own, "DB errors")
        firing.deliveries.filter(service=own).update(status=Delivery.Status.FAILED)
        # Paged through the fallback already: nothing owed.
        firing.deliveries.filter(service=fallback).update(status=Delivery.Status.DELIVERED)
        assert _copies(firing, fallback) == [Delivery.Status.DELIVERED]

    with CaptureQueriesContext(connection) as queries:
        assert page_owed_through_fallback()["organizations"] == 0
    assert len(queries) == 1


def test_beat_runs_it_every_minute(settings):
    from celery import current_app

    [entry] = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "alerts_saas.alerts.tasks.page_owed_through_fallback"
    ]
    assert entry["schedule"] == timedelta(seconds=60)
    assert entry["task"] in current_app.tasks
