"""The API's Resolve and Stop watching take the locks the page's views take, in their order
(the alert's row without its key, then its firings): a service being removed meanwhile,
which holds the service while it writes deliveries that refer to the alert, never waits for
them nor they for it (as tests/alerts/test_stop_watching_deadlock.py for the views). Real
PostgreSQL, one connection each."""

from __future__ import annotations

import pytest

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Firing
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty import removal
from tests.alerts.test_stop_watching import _per_host, _quiet
from tests.api_client import Api
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("action", ["stop-watching", "resolve"])
def test_a_token_and_the_removal_of_a_service_never_wait_for_each_other(
    org, make_service, monkeypatch, action
):
    edge = make_service("Edge Gateway")
    alert = _per_host(org, edge)
    _quiet(org, alert, "web-1")
    firing = Firing.objects.get(alert=alert)
    api = Api(ApiToken.issue(org, "script", scope=Scope.WRITE)[1])

    def token() -> None:  # holds the alert's row as it resolves the firing
        if action == "resolve":
            api.post(f"/firings/{firing.pk}/resolve", status=200)
        else:
            api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=200)

    def remove() -> None:
        plan = removal.plan_service_removal(edge)
        removal.carry_out(plan, seen=plan.orphan_ids, move_to=None, actor=None)

    assert race(monkeypatch, firings, "_open_triggers", token, remove).errors == []
    assert Firing.objects.get(pk=firing.pk).cleared_at is not None
