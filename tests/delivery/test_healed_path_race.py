"""Two deliveries that get through to a refused service, settled by two workers at once:
only the settle that clears the mark (under the service row's lock) sends the refused
firing's trigger again; the other waits for it, finds the mark gone, and sends nothing.
Real PostgreSQL, one connection each."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts_saas.alerts import mended
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.dashboard.conftest import alert, fire, refused, service
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_settles_healing_one_service_send_the_refused_firing_once(org, monkeypatch):
    legacy = service(org, "Legacy DB", refused_at=timezone.now(), refused_detail="Invalid key")
    made = alert(org, "DB errors", legacy)
    firing = fire(made)
    trigger = refused(org, legacy, made, timezone.now())
    Delivery.objects.filter(pk=trigger.pk).update(
        firing=firing, dedup_key=firing.dedup_key(legacy.pk)
    )
    healed: list[int] = []

    # The first settle holds the service's row (its mark cleared) while it pages; the
    # second settle's heal waits for it.
    outcome = race(
        monkeypatch,
        mended,
        "page_mended",
        lambda: healed.append(paths.heal([legacy.pk])),
        lambda: healed.append(paths.heal([legacy.pk])),
    )
    assert outcome.errors == [] and outcome.blocked
    assert sorted(healed) == [0, 1]
    again = Delivery.objects.filter(firing=firing, service=legacy, event_action=EventAction.TRIGGER)
    assert again.exclude(pk=trigger.pk).count() == 1
    assert PagerDutyService.objects.get(pk=legacy.pk).refused_at is None
