"""The dashboard's failed triggers use the one rule of `alerts.paged`: a firing whose
trigger was given up on unanswered (a timeout, 5xx, 429) is "not confirmed", not a missed
page. A failed trigger whose service was removed (service_id null) still says that its
firing was paged through the service that took it."""

from __future__ import annotations

import pytest

from integrations.pagerduty.models import Delivery
from tests.dashboard.conftest import alert, delivery, fire, service
from tests.dashboard.test_dashboard import part

pytestmark = pytest.mark.django_db


def test_a_trigger_given_up_on_unanswered_is_not_a_missed_page(dashboard, org) -> None:
    checkout = service(org, "Checkout API 001")
    made = alert(org, "Checkout errors", checkout)
    firing = fire(made, minutes_ago=3)
    failed = delivery(
        org,
        checkout,
        made=made,
        firing=firing,
        status=Delivery.Status.FAILED,
        at=firing.opened_at,
        attempts=8,
        response_status=429,
        last_error="Gave up after 8 attempts over 24 hours: PagerDuty answered 429",
    )
    row = part(dashboard(), f"failure-{failed.pk}")
    assert "Not confirmed" in row, row
    assert (
        "PagerDuty never confirmed it took the trigger to Checkout API 001; "
        "it may not have paged anyone." in row
    ), row
    assert "Missed page" not in row and "paged nobody" not in row


def test_a_failed_trigger_of_a_removed_service_says_who_was_paged(dashboard, org) -> None:
    old = service(org, "Checkout API 001")
    new = service(org, "Checkout API 002")
    made = alert(org, "Checkout errors", old)
    firing = fire(made, minutes_ago=3)
    failed = delivery(
        org,
        old,
        made=made,
        firing=firing,
        status=Delivery.Status.FAILED,
        at=firing.opened_at,
        response_status=400,
        last_error="Invalid routing key",
    )
    delivery(org, new, made=made, firing=firing)
    old.delete()
    failed.refresh_from_db()
    assert failed.service_id is None
    row = part(dashboard(), f"failure-{failed.pk}")
    assert "That firing was paged later through Checkout API 002" in row, row
    assert "Missed page" not in row
