"""The API's `paging` is `not_confirmed` for a firing whose trigger was given up on
without PagerDuty refusing it (timeouts, 5xx, 429): PagerDuty may have taken it. `missed`
stays for firings PagerDuty refused outright (a 4xx other than 429)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Firing
from integrations.pagerduty.models import Delivery
from tests.dashboard.conftest import alert, delivery, service

pytestmark = pytest.mark.django_db


def test_a_firing_pagerduty_never_answered_is_not_confirmed(org, reader) -> None:
    checkout = service(org, "Checkout API 001")
    made = alert(org, "Checkout errors", checkout)
    statuses = {None: "not_confirmed", 429: "not_confirmed", 502: "not_confirmed", 404: "missed"}
    firings = {}
    for n, status in enumerate(statuses):
        opened = timezone.now() - timedelta(minutes=10 - n)
        firing = Firing.objects.create(
            organization=org,
            alert=made,
            opened_at=opened,
            cleared_at=opened + timedelta(seconds=30),
            count_at_open=3,
        )
        delivery(
            org,
            checkout,
            made=made,
            firing=firing,
            status=Delivery.Status.FAILED,
            response_status=status,
        )
        firings[firing.pk] = statuses[status]
    items = reader.get(f"/firings?alert_id={made.pk}").json()["items"]
    assert {item["id"]: item["paging"] for item in items} == firings
    assert not any(item["paged"] for item in items)
