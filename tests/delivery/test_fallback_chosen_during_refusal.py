"""A fallback chosen while PagerDuty's refusal of a firing's trigger is being settled: the
engine copies a refused trigger to the fallback it reads, and choosing a fallback pages the
firings that reach nobody as it reads them; each must see the other's work, or the firing
pages no one while the screen says its fallback pages it. Real PostgreSQL, one connection
each, and the sandbox."""

from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Firing
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService, Reason
from integrations.pagerduty.views import fallback as fallback_view
from tests.delivery.sending import open_firing
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)


def _setup(org, make_service, pagerduty) -> tuple[Firing, Delivery, PagerDutyService]:
    service = make_service("Checkout API 001")
    chosen = make_service("Checkout API 002")
    _, firing = open_firing(org, service)
    [trigger] = firing.deliveries.all()
    pagerduty.fault("events-us", "refuse")  # PagerDuty refuses the firing's trigger
    return firing, trigger, chosen


def _choose(admin_client, org, chosen: PagerDutyService) -> None:
    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{chosen.pk}/fallback/"
    assert admin_client.post(url, {"use": "1"}).status_code == 302


def _fallback_triggers(firing: Firing, chosen: PagerDutyService) -> int:
    return firing.deliveries.filter(service=chosen, reason=Reason.FALLBACK).count()


def test_a_fallback_chosen_while_a_refusal_settles_pages_the_firing(
    org, make_service, pagerduty, admin_client, monkeypatch
):
    firing, trigger, chosen = _setup(org, make_service, pagerduty)

    # The settle has read that there is no fallback, and has not committed, when the
    # fallback is chosen.
    outcome = race(
        monkeypatch,
        engine,
        "_drop_automatic_resolves",
        lambda: engine.attempt_many([trigger.pk]),
        lambda: _choose(admin_client, org, chosen),
    )
    assert outcome.errors == []
    assert Delivery.objects.get(pk=trigger.pk).status == Delivery.Status.FAILED
    assert _fallback_triggers(firing, chosen) == 1
    assert outcome.blocked  # the choice waited for the settle to commit


def test_a_refusal_settled_while_a_fallback_is_chosen_pages_the_firing(  # the other order
    org, make_service, pagerduty, admin_client, monkeypatch
):
    firing, trigger, chosen = _setup(org, make_service, pagerduty)

    # The fallback is saved, not committed, and has not read the firings yet, when the
    # refusal is settled.
    outcome = race(
        monkeypatch,
        fallback_view,
        "page_fallback_now",
        lambda: _choose(admin_client, org, chosen),
        lambda: engine.attempt_many([trigger.pk]),
    )
    assert outcome.errors == []
    assert Delivery.objects.get(pk=trigger.pk).status == Delivery.Status.FAILED
    assert _fallback_triggers(firing, chosen) == 1
