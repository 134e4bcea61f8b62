"""A firing's page to a service Tripwire no longer has (its PagerDuty account disconnected, or
the service removed) is not said to be a pasted key's (r18 review): the reviewer saw "the
service was added with a pasted key… connect PagerDuty through OAuth" under an OAuth service
right after disconnecting, Tripwire having resolved the incident itself; and, once
reconnected, the same PagerDuty service listed twice, once as "No longer a target"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
    Reason,
)
from tests.dashboard.conftest import delivery
from tests.tenant_objects import _pd_account

pytestmark = pytest.mark.django_db

PASTED = "the service was added with a pasted key"


def _android_sync(org: Organization, n: int = 1) -> PagerDutyService:
    account = _pd_account(org, org.memberships.get().user)
    return PagerDutyService.objects.create(
        organization=org,
        account=account,
        pd_service_id="PANDROID",
        name="Android Sync",
        integration_key=str(n) * 32,
    )


def _firing(org: Organization, service: PagerDutyService) -> tuple[Alert, Firing, Delivery]:
    alert = Alert.objects.create(
        organization=org,
        name="Cron heartbeat",
        threshold=1,
        counting_since=timezone.now() - timedelta(hours=1),
    )
    alert.targets.add(service)
    firing = Firing.objects.create(organization=org, alert=alert, count_at_open=3)
    at = timezone.now() - timedelta(minutes=5)
    trigger = delivery(org, service, made=alert, firing=firing, at=at)
    return alert, firing, trigger


def _resolve(trigger: Delivery, reason: str, status: str = Delivery.Status.DELIVERED) -> None:
    Delivery.objects.create(
        organization_id=trigger.organization_id,
        service_id=trigger.service_id,
        service_name=trigger.service_name,
        alert_id=trigger.alert_id,
        firing_id=trigger.firing_id,
        region="us",
        routing_key=trigger.routing_key,
        event_action=EventAction.RESOLVE,
        dedup_key=trigger.dedup_key,
        body={"event_action": "resolve"},
        reason=reason,
        status=status,
        created_at=trigger.created_at + timedelta(minutes=1),
    )


def _items(client: Client, org: Organization, alert: Alert) -> list[str]:
    page = client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    found = re.search(r'<ul class="target-paths" id="firing-targets".*?</ul>', page, re.S)
    assert found is not None
    return re.findall(r"<li data-service=.*?</li>", found.group(0), re.S)


def test_after_a_disconnect_the_page_says_the_account_went_and_the_resolve_was_taken(
    org: Organization, admin_client: Client
) -> None:
    service = _android_sync(org)
    alert, _firing_row, trigger = _firing(org, service)
    _resolve(trigger, Reason.DISCONNECTED)
    PagerDutyAccount.objects.filter(pk=service.account_id).delete()  # its services go too

    [item] = _items(admin_client, org, alert)
    assert PASTED not in item and "Connect PagerDuty" not in item
    assert (
        "Tripwire no longer follows this incident: Android Sync's PagerDuty account was "
        "disconnected." in item.replace("&#x27;", "'")
    )
    assert "PagerDuty accepted it: the incident is resolved." in item


def test_a_removed_service_whose_resolve_was_refused_says_so(
    org: Organization, admin_client: Client
) -> None:
    service = _android_sync(org)
    alert, _firing_row, trigger = _firing(org, service)
    _resolve(trigger, Reason.SERVICE_DELETED, Delivery.Status.FAILED)
    service.delete()

    [item] = _items(admin_client, org, alert)
    assert PASTED not in item
    assert "Tripwire no longer follows this incident: Android Sync was removed from Tripwire." in (
        item
    )
    assert "PagerDuty refused the resolve Tripwire sent for it" in item
    assert "the incident is resolved" not in item


def test_after_reconnecting_the_same_service_is_listed_once(
    org: Organization, admin_client: Client
) -> None:
    old = _android_sync(org)
    alert, firing, trigger = _firing(org, old)
    _resolve(trigger, Reason.DISCONNECTED)
    PagerDutyAccount.objects.filter(pk=old.account_id).delete()
    new = _android_sync(org, 2)  # connected again: a new row for the same PagerDuty service
    alert.targets.add(new)
    delivery(org, new, made=alert, firing=firing)

    [item] = _items(admin_client, org, alert)
    assert 'data-service="Android Sync"' in item
    assert "No longer a target" not in item and PASTED not in item
