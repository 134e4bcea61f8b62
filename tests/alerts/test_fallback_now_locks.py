"""A fallback chosen at the moment a firing is cleared: `fallback_now` takes the firings
as clearing does (their alerts' rows, then theirs, without the key) and pages only those
still open, so the clear never misses a fallback trigger it should resolve. Real
PostgreSQL, one connection each."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from alerts_saas.alerts import fallback_now, firings
from alerts_saas.alerts.models import Firing
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.dashboard.conftest import alert, fire, refused, service
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_firing_cleared_while_the_fallback_is_chosen_leaves_no_incident_open(org, monkeypatch):
    legacy = service(org, "Legacy DB", refused_at=timezone.now())
    made = alert(org, "DB errors", legacy)
    firing = fire(made)
    trigger = refused(org, legacy, made, timezone.now())
    Delivery.objects.filter(pk=trigger.pk).update(firing=firing)
    android = service(org, "Android Sync")
    PagerDutyService.objects.filter(pk=android.pk).update(is_fallback=True)
    android.refresh_from_db()

    def choose() -> None:  # holds what it read of the firing until the clear has tried
        with transaction.atomic():
            fallback_now.page_fallback_now(android)

    def clear() -> None:
        cleared = Firing.ClearReason.CLEARED
        firings.clear_firing(Firing.objects.get(pk=firing.pk), cleared, timezone.now())

    outcome = race(monkeypatch, fallback_now, "Pager", choose, clear)
    assert outcome.errors == [] and outcome.blocked  # the clear waited for the firing
    assert Firing.objects.get(pk=firing.pk).cleared_at is not None
    assert Delivery.objects.filter(firing=firing, service=android).count() == 2  # and resolve
    assert engine.open_triggers(Delivery.objects.filter(firing=firing)) == []
