"""A trigger being sent again after a failed attempt (status sending, its second attempt in
flight) is still "not paged yet": the dashboard ranks and words its firing as the alert page
does (`failed_attempts`), rather than flickering to "paged" for the second the retry is on
the wire, and says Tripwire is trying again now, not at a time already past."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import Delivery, retrying
from tests.dashboard.conftest import alert, delivery, fire, service
from tests.dashboard.test_dashboard import part

pytestmark = pytest.mark.django_db


def test_a_retry_being_sent_is_still_not_paged_yet(
    dashboard: Callable[..., str], org: Organization, admin_client: Client
) -> None:
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout", checkout)
    firing = fire(made, minutes_ago=3)
    sending = delivery(
        org,
        checkout,
        made=made,
        firing=firing,
        status=Delivery.Status.SENDING,
        at=firing.opened_at,
        attempts=2,  # the first failed; the second is in flight
        next_attempt_at=timezone.now() - timedelta(seconds=5),
        response_status=500,
        last_error="PagerDuty answered 500: The PagerDuty server experienced an error.",
    )
    assert sending.is_retrying and Delivery.objects.filter(retrying()).get() == sending

    page = dashboard()
    summary = part(page, "dashboard-summary")
    assert summary.startswith("1 firing alert not paged yet: 1 attempt since")
    assert "Tripwire is trying again now (attempt 2)." in summary
    card = part(page, f"firing-{made.pk}")
    assert card.startswith("Not paged yet: PagerDuty is failing; Tripwire is trying again now.")
    # The alert page says the same of it.
    alert_page = admin_client.get(f"/o/{org.slug}/alerts/{made.pk}/").content.decode()
    assert "Trigger: 1 attempt failed (PagerDuty answered 500) · trying again now" in alert_page


def test_a_first_attempt_being_sent_is_not_a_retry(
    dashboard: Callable[..., str], org: Organization
) -> None:
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout", checkout)
    firing = fire(made, minutes_ago=1)
    first = delivery(
        org, checkout, made=made, firing=firing, status=Delivery.Status.SENDING, attempts=1
    )
    assert not first.is_retrying and not Delivery.objects.filter(retrying()).exists()
    assert "not paged yet" not in dashboard().lower()
