"""A service the alert no longer pages is shown apart on its open firing (r15 #11): after
"Checkout errors" was moved from Checkout API 001 to 002 while firing, the firing still
showed 001 first with "Who is on call: unknown. PagerDuty did not say who is on call: Not
Found". It is now listed last, "No longer a target", without who is on call there (and
Tripwire does not ask PagerDuty who is); the service it pages now keeps its on-call line."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.dashboard.conftest import delivery
from tests.tenant_objects import _pd_account

pytestmark = pytest.mark.django_db


def _service(org: Organization, name: str, n: int) -> PagerDutyService:
    account = _pd_account(org, org.memberships.get().user) if n == 1 else None
    return PagerDutyService.objects.create(
        organization=org,
        account=account or PagerDutyService.objects.get(name="Checkout API 001").account,
        pd_service_id=f"PSVC00{n}",
        name=name,
        integration_key=str(n) * 32,
    )


def _items(page: str) -> list[str]:
    found = re.search(r'<ul class="target-paths" id="firing-targets".*?</ul>', page, re.S)
    assert found is not None
    return re.findall(r"<li data-service=.*?</li>", found.group(0), re.S)


def test_a_service_taken_off_a_firing_alert_is_shown_apart(
    org: Organization, admin_client: Client
) -> None:
    old, new = _service(org, "Checkout API 001", 1), _service(org, "Checkout API 002", 2)
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=1,
        counting_since=timezone.now() - timedelta(hours=1),
    )
    alert.targets.add(new)  # moved from 001 to 002 while firing
    firing = Firing.objects.create(organization=org, alert=alert, count_at_open=3)
    delivery(
        org,
        old,
        made=alert,
        firing=firing,
        status=Delivery.Status.FAILED,
        at=timezone.now() - timedelta(minutes=2),
        last_error="Event object is invalid; Invalid routing key",
    )
    delivery(org, new, made=alert, firing=firing)
    OnCallNow.objects.create(
        organization=org,
        service=old,
        checked_at=timezone.now(),
        problem="PagerDuty did not say who is on call: Not Found",
    )
    OnCallNow.objects.create(
        organization=org, service=new, checked_at=timezone.now(), names=["Olivia Oncall"]
    )

    for url in (f"/o/{org.slug}/alerts/{alert.pk}/", f"/o/{org.slug}/alerts/{alert.pk}/live/"):
        first, last = _items(admin_client.get(url).content.decode())
        assert 'data-service="Checkout API 002"' in first and "Olivia Oncall" in first
        assert "No longer a target" not in first
        assert 'data-service="Checkout API 001"' in last and "No longer a target" in last
        assert "“Checkout errors” no longer pages Checkout API 001" in last
        assert "Who is on call" not in last and "Not Found" not in last


def test_no_one_is_asked_who_is_on_call_on_a_service_taken_off(
    org: Organization, admin_client: Client
) -> None:
    old, new = _service(org, "Checkout API 001", 1), _service(org, "Checkout API 002", 2)
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.add(new)
    firing = Firing.objects.create(organization=org, alert=alert, count_at_open=3)
    delivery(org, old, made=alert, firing=firing, status=Delivery.Status.FAILED)
    delivery(org, new, made=alert, firing=firing)

    admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/")
    assert list(OnCallNow.objects.values_list("service__name", flat=True)) == ["Checkout API 002"]
