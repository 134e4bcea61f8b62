"""Two deliveries that get through to a refused service, settled by two workers at once:
only the settle that clears the mark (under the service row's lock) sends the refused
firing's trigger again; the other waits for it, finds the mark gone, and sends nothing.
And no one reads the delivery that got through before the mark is cleared with it. Real
PostgreSQL, one connection each."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections
from django.utils import timezone

from alerts_saas.alerts import mended
from integrations.pagerduty import delivery as engine
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.dashboard.conftest import alert, fire, refused, service
from tests.delivery.sending import open_firing
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


def test_a_delivery_that_heals_its_service_is_read_with_the_heal(
    org, make_service, pagerduty, monkeypatch
):
    target = make_service()
    PagerDutyService.objects.filter(pk=target.pk).update(
        refused_at=timezone.now(), refused_detail="Invalid routing key"
    )
    _, firing = open_firing(org, target)
    [trigger] = firing.deliveries.all()
    seen: list[str] = []
    heal = paths.heal

    def read_then_heal(service_ids, **where):  # what another connection reads as it starts
        def read() -> None:
            try:
                seen.append(Delivery.objects.get(pk=trigger.pk).status)
            finally:
                close_old_connections()

        reader = threading.Thread(target=read)
        reader.start()
        reader.join()
        return heal(service_ids, **where)

    monkeypatch.setattr(paths, "heal", read_then_heal)
    engine.attempt_many([trigger.pk])
    assert seen == [Delivery.Status.SENDING]  # not "delivered" beside "Refused by PagerDuty"
    assert Delivery.objects.get(pk=trigger.pk).status == Delivery.Status.DELIVERED
    assert PagerDutyService.objects.get(pk=target.pk).refused_at is None
