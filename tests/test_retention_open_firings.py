"""Retention never prunes what an open firing still needs: a firing open longer than
`DELIVERY_RETENTION_DAYS` (an alert resolved by hand, a host gone quiet) keeps its
deliveries, so resolving it still resolves its incidents and a save of its alert pages
nobody again. Old history of cleared firings, tests and fallbacks is pruned as before."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.retention import prune_firings
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.incidents.retention import prune_incidents
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason
from integrations.pagerduty.retention import prune_deliveries
from tests.alerts.conftest import resolves_of
from tests.alerts.test_alert_page import _alert, _events
from tests.api_client import Api
from tests.test_retention import _firing

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _service(org: Organization, name: str, key: str) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, name=name, region="us", integration_key=key * 32
    )


def _open_for_40_days(org: Organization) -> tuple[Alert, Firing]:
    """An alert resolved by hand, firing to two services since 40 days (its triggers sent
    then), with retention at 30 days."""
    alert = _alert(org, _service(org, "Checkout", "a"), auto_resolve=False)
    alert.targets.add(_service(org, "Payments", "b"))
    [firing] = _events(org, 3)
    long_ago = timezone.now() - 40 * DAY
    Firing.objects.filter(pk=firing.pk).update(opened_at=long_ago)
    assert firing.deliveries.count() == 2
    firing.deliveries.update(
        status=Delivery.Status.DELIVERED, created_at=long_ago, delivered_at=long_ago
    )
    return alert, firing


def _prune_all() -> None:
    """What beat runs, in its order."""
    prune_deliveries()
    prune_firings()
    prune_incidents()


def _api(org: Organization) -> Api:
    _token, secret = ApiToken.issue(org, "tool", scope=Scope.WRITE)
    return Api(secret)


def test_resolving_an_old_open_firing_still_resolves_its_incidents(org, settings) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    _, firing = _open_for_40_days(org)
    keys = set(firing.deliveries.values_list("dedup_key", flat=True))
    _prune_all()

    _api(org).post(f"/firings/{firing.pk}/resolve", status=200)
    resolves = firing.deliveries.filter(event_action=EventAction.RESOLVE)
    assert {(r.dedup_key, r.reason) for r in resolves} == {(k, Reason.BY_HAND) for k in keys}


def test_saving_the_alert_of_an_old_open_firing_pages_nobody_again(org, settings) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    alert, firing = _open_for_40_days(org)
    triggers = set(firing.deliveries.values_list("pk", flat=True))
    _prune_all()

    api = _api(org)
    api.patch(f"/alerts/{alert.pk}", {"name": "Checkout errors (EU)"}, status=200)
    assert set(Delivery.objects.values_list("pk", flat=True)) == triggers  # nothing queued
    api.post(f"/alerts/{alert.pk}/disable", status=200)  # clears it: its resolves go out
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.DISABLED
    assert len(resolves_of(firing)) == 2
    assert set(firing.deliveries.filter(event_action=EventAction.TRIGGER)) == set(
        Delivery.objects.filter(pk__in=triggers)
    )


def test_old_history_goes_but_never_what_an_open_firing_needs(org, make_org, settings) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    now = timezone.now()
    old = now - 31 * DAY
    service, fallback = _service(org, "Checkout", "a"), _service(org, "Fallback", "f")
    alert = Alert.objects.create(organization=org, name="Host quiet", threshold=1)
    kept_deliveries, gone_deliveries = set(), set()

    def sent(firing: Firing | None, created: datetime = old, **fields: object) -> Delivery:
        fields = {
            "event_action": EventAction.TRIGGER,
            "service": service,
            "status": Delivery.Status.DELIVERED,
            **fields,
        }
        return Delivery.objects.create(
            organization=org,
            service_name="Checkout",
            region="us",
            routing_key="R" * 32,
            dedup_key=f"tripwire-{uuid.uuid4()}",
            body={},
            created_at=created,
            firing=firing,
            alert=alert if firing else None,
            **fields,
        )

    # Open for a year: its trigger, the fallback's copy and a resolve of a removed target.
    open_firing = _firing(alert, now - 365 * DAY, None)
    open_trigger = sent(open_firing, now - 365 * DAY)
    kept_deliveries |= {
        open_trigger.pk,
        sent(open_firing, service=fallback, reason=Reason.FALLBACK).pk,
        sent(open_firing, event_action=EventAction.RESOLVE, reason=Reason.TARGET_REMOVED).pk,
    }
    # Cleared since the cutoff: its old trigger stays as long as the firing does.
    recently_cleared = _firing(alert, old - DAY, now - 10 * DAY)
    kept_deliveries.add(sent(recently_cleared, old - DAY).pk)
    # Cleared before the cutoff: it goes, with its trigger, fallback and resolve.
    cleared_long_ago = _firing(alert, old - 5 * DAY, old)
    old_trigger = sent(cleared_long_ago, old - 5 * DAY)
    gone_deliveries |= {
        old_trigger.pk,
        sent(cleared_long_ago, old - 5 * DAY, service=fallback, reason=Reason.FALLBACK).pk,
        sent(cleared_long_ago, event_action=EventAction.RESOLVE).pk,
    }
    # Tests (no firing): by age alone, as before; a queued one never.
    test = sent(None, is_test=True)
    gone_deliveries.add(test.pk)
    kept_deliveries.add(sent(None, now - DAY, is_test=True).pk)
    kept_deliveries.add(sent(None, now - 400 * DAY, status=Delivery.Status.QUEUED).pk)

    def incident(trigger: Delivery, pd_id: str, on: PagerDutyService = service) -> int:
        made = Incident.objects.create(
            organization=org, service=on, pd_incident_id=pd_id, dedup_key=trigger.dedup_key,
            status="resolved", status_changed_at=old,
        )  # fmt: skip
        Incident.objects.filter(pk=made.pk).update(updated_at=old - DAY)
        return made.pk

    # The open firing's incident, resolved in PagerDuty long ago (its last word), stays:
    # the firing clears only when every incident it opened is resolved.
    kept_incidents = {incident(open_trigger, "POPEN")}
    gone_incidents = {
        incident(old_trigger, "PCLEARED"),
        incident(test, "PTEST"),
        # The same key on another service, or in another organization, is not its incident.
        incident(open_trigger, "POTHER", on=fallback),
    }
    other = make_org("Other Co")
    theirs = Incident.objects.create(
        organization=other, service=_service(other, "Theirs", "c"), pd_incident_id="POPEN",
        dedup_key=open_trigger.dedup_key, status="resolved", status_changed_at=old,
    )  # fmt: skip
    Incident.objects.filter(pk=theirs.pk).update(updated_at=old - DAY)
    gone_incidents.add(theirs.pk)

    _prune_all()

    assert set(Delivery.objects.values_list("pk", flat=True)) == kept_deliveries
    assert set(Firing.objects.values_list("pk", flat=True)) == {
        open_firing.pk,
        recently_cleared.pk,
    }
    assert set(Incident.objects.values_list("pk", flat=True)) == kept_incidents
    assert not Delivery.objects.filter(pk__in=gone_deliveries).exists()
    assert not Incident.objects.filter(pk__in=gone_incidents).exists()
