"""The badges beside "Failed deliveries" count what the section lists, in words: the day's
failures for good (shown, and "N more"), how many of them are not fixed since, and the
firing alerts whose trigger is being retried, whose line is shown with failures too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.dashboard.conftest import alert, delivery, refused, service
from tests.dashboard.test_dashboard import part
from tests.dashboard.test_not_paged_yet import _failing

pytestmark = pytest.mark.django_db


def test_the_badges_count_the_failures_listed_and_the_alerts_retried(dashboard, org):
    now = timezone.now()
    fixed_svc, broken_svc = service(org, "Checkout API"), service(org, "Search API")
    made = alert(org, "Errors", fixed_svc, broken_svc)
    fixed = refused(org, fixed_svc, made, now - timedelta(hours=2))
    delivery(org, fixed_svc, status="delivered", at=now - timedelta(hours=1))
    broken = refused(org, broken_svc, made, now - timedelta(hours=3))
    _failing(org, "Billing")

    page = dashboard()
    section = part(page, "failed-deliveries")
    assert section.startswith(
        "Failed deliveries last 24 hours 2 failed for good, 1 not fixed since 1 retrying "
    ), section
    assert part(page, f"failure-{fixed.pk}") and part(page, f"failure-{broken.pk}")
    assert "Retrying 1 firing alert is not paged yet" in part(page, "failures-retrying")


def test_every_failure_fixed_is_still_counted_and_said_fixed(dashboard, org):
    now = timezone.now()
    svc = service(org, "Checkout API")
    refused(org, svc, alert(org, "Errors", svc), now - timedelta(hours=2))
    delivery(org, svc, status="delivered", at=now - timedelta(hours=1))
    section = part(dashboard(), "failed-deliveries")
    assert section.startswith("Failed deliveries last 24 hours 1 failed for good, all fixed since")
    assert "retrying" not in section.lower()
