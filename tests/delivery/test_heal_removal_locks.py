"""A path healing (a delivery got through to a service marked refused) while the service is
removed: the heal pages the firings the refusal kept from paging, and locks their alerts to
do it; the removal locks the alerts it writes about, then the services. With the heal
locking the services first, each waited for the other and PostgreSQL aborted one (the
admin's removal failed, or the heal, leaving the mark while the path works). Now the heal
locks the alerts first, as every writer does, so the removal waits for it. Real
PostgreSQL, one connection each, and the sandbox."""

from __future__ import annotations

import pytest

from alerts_saas.alerts import mended
from integrations.pagerduty import paths, removal
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.delivery.sending import open_firing, send_queued
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_heal_racing_the_removal_of_its_service_neither_fails(
    org, make_service, pagerduty, monkeypatch
):
    service = make_service()
    pagerduty.fault("events-us", "refuse")  # once: the key is good
    _, firing = open_firing(org, service)
    send_queued()
    assert firing.deliveries.get().status == Delivery.Status.FAILED
    plan = removal.plan_service_removal(PagerDutyService.objects.get(pk=service.pk))
    healed: list[int] = []

    # The heal has locked what it locks before paging the refused firing when the service's
    # removal starts.
    outcome = race(
        monkeypatch,
        mended,
        "lock_and_reread",
        lambda: healed.append(paths.heal([service.pk])),
        lambda: removal.carry_out(plan, seen=plan.orphan_ids, move_to=None, actor=None),
    )
    assert outcome.errors == []
    assert healed == [1]  # the heal committed, with the firing's trigger sent again
    assert outcome.blocked  # the removal waited for it
    assert not PagerDutyService.objects.filter(pk=service.pk).exists()
