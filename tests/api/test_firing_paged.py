"""The API says whether a firing paged anyone (`paged`, `paging`), by the rule the pages
use: a firing PagerDuty refused is `missed`, one paged through the fallback
`paged_via_fallback`, one whose trigger is retried `not_paged_yet`. A page of firings costs
the same queries however many of each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts.models import Firing
from integrations.pagerduty.models import Delivery, Reason
from tests.dashboard.conftest import alert, delivery, service

pytestmark = pytest.mark.django_db


def _firing(made, minutes_ago: float, cleared: bool = True) -> Firing:
    opened = timezone.now() - timedelta(minutes=minutes_ago)
    return Firing.objects.create(
        organization=made.organization,
        alert=made,
        opened_at=opened,
        cleared_at=opened + timedelta(seconds=30) if cleared else None,
        count_at_open=3,
    )


def test_each_firing_says_whether_it_paged_anyone(org, reader) -> None:
    checkout = service(org, "Checkout API 001")
    edge = service(org, "Edge Gateway", is_fallback=True)
    made = alert(org, "Checkout errors", checkout)
    refused = _firing(made, 10)
    delivery(
        org,
        checkout,
        made=made,
        firing=refused,
        status=Delivery.Status.FAILED,
        response_status=400,
        last_error="Invalid routing key",
    )
    fallback = _firing(made, 8)
    delivery(
        org,
        checkout,
        made=made,
        firing=fallback,
        status=Delivery.Status.FAILED,
        response_status=400,
    )
    delivery(org, edge, made=made, firing=fallback, reason=Reason.FALLBACK)
    paged = _firing(made, 6)
    delivery(org, checkout, made=made, firing=paged)
    retried = _firing(made, 2, cleared=False)
    delivery(
        org,
        checkout,
        made=made,
        firing=retried,
        status=Delivery.Status.QUEUED,
        attempts=2,
        last_error="PagerDuty answered 500",
    )

    items = reader.get(f"/firings?alert_id={made.pk}").json()["items"]
    by_id = {item["id"]: (item["paged"], item["paging"]) for item in items}
    assert by_id == {
        refused.pk: (False, "missed"),
        fallback.pk: (True, "paged_via_fallback"),
        paged.pk: (True, "paged"),
        retried.pk: (False, "not_paged_yet"),
    }
    one = reader.get(f"/firings/{refused.pk}").json()
    assert (one["paged"], one["paging"]) == (False, "missed")


def test_the_list_costs_the_same_queries_with_more_missed_firings(org, reader) -> None:
    checkout = service(org, "Checkout API 001")
    made = alert(org, "Checkout errors", checkout)

    def missed(minutes_ago: float) -> None:
        firing = _firing(made, minutes_ago)
        delivery(
            org,
            checkout,
            made=made,
            firing=firing,
            status=Delivery.Status.FAILED,
            response_status=400,
        )

    missed(100)
    reader.get("/firings")
    with CaptureQueriesContext(connection) as one:
        reader.get("/firings")
    for n in range(6):
        missed(90 - n)
    with CaptureQueriesContext(connection) as seven:
        items = reader.get("/firings").json()["items"]
    assert [item["paging"] for item in items] == ["missed"] * 7
    assert len(seven) == len(one)
