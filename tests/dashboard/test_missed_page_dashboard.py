"""The dashboard's failed deliveries say what became of the failed trigger's firing: that
it paged nobody (a missed page: "Checkout errors fired at 08:08 and paged nobody"), or
that it was paged later through another service (the alert moved to Checkout API 002);
not missed while another trigger of it is still retried. The failed deliveries page says
the same. One query reads it for every row: the page costs as many queries with five
such failures as with one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import time_html
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery, PagerDutyService, Reason
from tests.dashboard.conftest import alert, delivery, fire, refused, service
from tests.dashboard.test_dashboard import part, text

pytestmark = pytest.mark.django_db


def _refused(org: Organization, target: PagerDutyService, made: Alert, firing: Firing) -> Delivery:
    return refused(org, target, made, firing.opened_at, firing=firing)


def _missed(org: Organization, name: str, minutes_ago: float = 3) -> tuple[Firing, Delivery]:
    checkout = service(org, f"{name} API 001")
    made = alert(org, name, checkout)
    firing = fire(made, minutes_ago=minutes_ago)
    firing.cleared_at = firing.opened_at + timedelta(minutes=1)
    firing.save()
    return firing, _refused(org, checkout, made, firing)


def _hhmm(firing: Firing) -> str:
    return text(str(time_html(firing.opened_at, "H:i")))


def test_a_failed_trigger_whose_firing_paged_nobody_says_so(dashboard, org) -> None:
    firing, failed = _missed(org, "Checkout errors")
    row = part(dashboard(), f"failure-{failed.pk}")
    assert (
        f"Missed page Checkout errors fired at {_hhmm(firing)} and paged nobody: "
        "PagerDuty refused the trigger to Checkout errors API 001." in row
    ), row
    listed = part(dashboard("deliveries/failed/"), f"failure-{failed.pk}")
    assert f"Checkout errors fired at {_hhmm(firing)} and paged nobody" in listed


def test_a_firing_paged_later_through_another_service_says_so(dashboard, org) -> None:
    old = service(org, "Checkout API 001")
    new = service(org, "Checkout API 002")
    made = alert(org, "Checkout errors", old)
    firing = fire(made, minutes_ago=5)
    failed = _refused(org, old, made, firing)
    made.targets.set([new])
    delivery(org, new, made=made, firing=firing, at=firing.opened_at + timedelta(minutes=2))
    row = part(dashboard(), f"failure-{failed.pk}")
    assert "That firing was paged later through Checkout API 002" in row
    assert "paged nobody" not in row


def test_a_firing_paged_through_the_fallback_says_so(dashboard, org) -> None:
    checkout = service(org, "Checkout API 001")
    edge = service(org, "Edge Gateway", is_fallback=True)
    made = alert(org, "Checkout errors", checkout)
    firing = fire(made, minutes_ago=5)
    failed = _refused(org, checkout, made, firing)
    delivery(
        org,
        edge,
        made=made,
        firing=firing,
        at=firing.opened_at + timedelta(seconds=5),
        reason=Reason.FALLBACK,
    )
    row = part(dashboard(), f"failure-{failed.pk}")
    assert "That firing was paged later through the fallback, Edge Gateway" in row


def test_a_firing_still_retried_elsewhere_is_not_missed(dashboard, org) -> None:
    checkout = service(org, "Checkout API 001")
    mirror = service(org, "Checkout mirror")
    made = alert(org, "Checkout errors", checkout, mirror)
    firing = fire(made, minutes_ago=5)
    failed = _refused(org, checkout, made, firing)
    delivery(
        org,
        mirror,
        made=made,
        firing=firing,
        status=Delivery.Status.QUEUED,
        at=firing.opened_at,
        attempts=3,
        next_attempt_at=timezone.now() + timedelta(seconds=30),
        response_status=500,
        last_error="PagerDuty answered 500",
    )
    row = part(dashboard(), f"failure-{failed.pk}")
    assert "paged nobody" not in row and "Missed page" not in row


def test_the_query_count_does_not_grow_with_missed_pages(dashboard, org) -> None:
    _missed(org, "Checkout errors")
    dashboard()
    with CaptureQueriesContext(connection) as one:
        dashboard()
    for name in ("Billing", "Search", "Login", "Payments"):
        _missed(org, name, minutes_ago=10)
    with CaptureQueriesContext(connection) as five:
        page = dashboard()
    assert len(five) == len(one)
    assert text(part(page, "failed-deliveries")).count("and paged nobody") == 5
