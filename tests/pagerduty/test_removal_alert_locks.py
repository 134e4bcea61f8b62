"""Disabling or deleting an alert (the API, the alert's page) while a service it pages is
removed, or its account disconnected: the alert's side holds the alert's row while it
writes resolves that refer to the service; the removal holds the services while it writes
resolves that refer to the alert. With the alert's row locked FOR UPDATE and the removal
locking the services first, each waited for the other and PostgreSQL aborted one (review).
Now the API locks the row without its key except to delete, and the removal locks every
alert it writes about first, so whichever comes second waits for the first. Real
PostgreSQL, one connection each, both orders. The alerts keep another service, so the
removal's confirmation still holds whichever goes first (an alert it would have left paging
nobody, disabled or deleted meanwhile, asks the person again: `PlanChanged`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty import removal
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.alerts.test_stop_watching import _per_host, _quiet
from tests.api_client import Api
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)

MakeService = Callable[..., PagerDutyService]
Racing = Callable[[Callable[[], None], Callable[[], None]], None]

ACTIONS = ["api-disable", "api-delete", "page-delete"]


def _act(org: Organization, alert: Alert, action: str) -> Callable[[], None]:
    """The change to `alert`, by a token or by a person on the alert's page."""
    if action.startswith("api"):
        api = Api(ApiToken.issue(org, "script", scope=Scope.WRITE)[1])

        def token() -> None:
            if action == "api-disable":
                api.post(f"/alerts/{alert.pk}/disable", status=200)
            else:
                api.delete(f"/alerts/{alert.pk}", status=204)

        return token

    def person() -> None:
        client = Client(raise_request_exception=False)
        client.force_login(org.memberships.get(role=Role.OWNER).user)
        answer = client.post(reverse("alerts:delete", args=[org.slug, alert.pk]))
        assert answer.status_code == 302, answer.status_code

    return person


def _removing(service: PagerDutyService, disconnect: bool = False) -> Callable[[], None]:
    def remove() -> None:
        if disconnect:
            assert service.account is not None
            plan = removal.plan_disconnect(service.account)
        else:
            plan = removal.plan_service_removal(service)
        removal.carry_out(plan, seen=plan.orphan_ids, move_to=None, actor=None)

    return remove


@pytest.fixture(params=[True, False], ids=["alert-first", "removal-first"])
def racing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Racing:
    """Runs the alert's change and the removal against each other, each test once in each
    order: the alert's side stops after taking its locks (at its firings' open incidents)
    or the removal does (at its resolves); the other then has to wait, and neither may
    fail."""
    alert_first: bool = request.param

    def run(change: Callable[[], None], remove: Callable[[], None]) -> None:
        if alert_first:
            outcome = race(monkeypatch, firings, "_open_triggers", change, remove)
        else:
            outcome = race(monkeypatch, removal, "_resolve", remove, change)
        assert outcome.errors == []
        assert outcome.blocked, "the second side never waited for the first: no race was run"

    return run


def _changed(alert: Alert, action: str) -> None:
    if action == "api-disable":
        assert not Alert.objects.get(pk=alert.pk).enabled
        assert not Firing.objects.filter(alert=alert, cleared_at__isnull=True).exists()
    else:
        assert not Alert.objects.filter(pk=alert.pk).exists()


def _resolved_once(dedup_key: str) -> None:
    """The incident was resolved by one side or the other, not twice."""
    resolves = Delivery.objects.filter(dedup_key=dedup_key, event_action=EventAction.RESOLVE)
    assert resolves.count() == 1


def _changed_while_removed(
    org: Organization,
    racing: Racing,
    action: str,
    removed: PagerDutyService,
    make_service: MakeService,
    disconnect: bool = False,
) -> None:
    """An alert firing on `removed` and on a service that stays (not on `removed`'s
    account) is changed by `action` while `removed` is removed or its account disconnected:
    both happen, and the incident on `removed` is resolved once."""
    alert = _per_host(org, removed)
    alert.targets.add(make_service("Postgres Primary"))
    _quiet(org, alert, "web-1")
    [trigger] = Delivery.objects.filter(alert=alert, service=removed)

    racing(_act(org, alert, action), _removing(removed, disconnect))
    _changed(alert, action)
    assert not PagerDutyService.objects.filter(pk=removed.pk).exists()
    _resolved_once(trigger.dedup_key)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_alert_changed_while_its_service_is_removed(
    org: Organization, make_service: MakeService, racing: Racing, action: str
) -> None:
    edge = make_service("Edge Gateway")
    _changed_while_removed(org, racing, action, edge, make_service)


@pytest.mark.parametrize("action", ["api-disable", "page-delete"])
def test_an_alert_changed_while_its_account_is_disconnected(
    org: Organization,
    connected_service: PagerDutyService,
    make_service: MakeService,
    racing: Racing,
    action: str,
) -> None:
    _changed_while_removed(org, racing, action, connected_service, make_service, disconnect=True)


@pytest.mark.parametrize("action", ["api-delete", "page-delete"])
def test_an_alert_deleted_while_its_fallback_service_is_removed(
    org: Organization, make_service: MakeService, racing: Racing, action: str
) -> None:
    """The alert does not page the fallback service, yet its firing's incident is open
    there: the removal resolves it, so it locks that alert's row first too."""
    refused, backup = make_service("Edge Gateway"), make_service("Checkout API 001")
    PagerDutyService.objects.filter(pk=refused.pk).update(refused_at=timezone.now())
    PagerDutyService.objects.filter(pk=backup.pk).update(is_fallback=True)
    alert = _per_host(org, refused)
    _quiet(org, alert, "web-1")
    [fallback] = Delivery.objects.filter(alert=alert, service=backup)
    assert not alert.targets.filter(pk=backup.pk).exists()

    racing(_act(org, alert, action), _removing(backup))
    _changed(alert, action)
    assert not PagerDutyService.objects.filter(pk=backup.pk).exists()
    _resolved_once(fallback.dedup_key)
