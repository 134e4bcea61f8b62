"""Stop watching a host (or resolving it) while a service it pages is being removed: the
view holds the alert's row while it writes resolves that refer to the service; the removal
holds the service while it writes deliveries that refer to the alert. With the alert's row
locked FOR UPDATE, each waited for the other (review r2); without its key, neither does.
Real PostgreSQL, one connection each."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from alerts_saas.accounts.models import Role
from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Firing
from integrations.pagerduty import removal
from tests.alerts.test_stop_watching import _per_host, _quiet
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("action", ["stop_watching", "resolve"])
def test_a_person_and_the_removal_of_a_service_never_wait_for_each_other(
    org, make_service, monkeypatch, action
):
    edge = make_service("Edge Gateway")
    alert = _per_host(org, edge)
    _quiet(org, alert, "web-1")
    firing = Firing.objects.get(alert=alert)

    def person() -> None:  # the view holds the alert's row as it resolves the firing
        client = Client(raise_request_exception=False)
        client.force_login(org.memberships.get(role=Role.OWNER).user)
        url = reverse(f"alerts:{action}", args=[org.slug, alert.pk])
        answer = client.post(url, {"value": "web-1", "firing": firing.pk})
        assert answer.status_code == 302, answer.status_code

    def remove() -> None:
        plan = removal.plan_service_removal(edge)
        removal.carry_out(plan, seen=plan.orphan_ids, move_to=None, actor=None)

    assert race(monkeypatch, firings, "_open_triggers", person, remove).errors == []
    assert Firing.objects.get(pk=firing.pk).cleared_at is not None
