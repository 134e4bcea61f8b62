"""The dashboard's failed deliveries: a failure whose event got through after all is marked
as since fixed, with when, and the headline says how many are not fixed so; in one query
however many failures it shows. A firing's trigger is fixed only by one of that firing
sent again, never by another event to its service (a test), which pages nobody for it."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.dashboard.conftest import alert, delivery, fire, refused, service

pytestmark = pytest.mark.django_db


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def _section(page: str) -> str:
    start = page.index('id="failed-deliveries"')
    return page[start : page.index("</section>", start)]


def test_a_failure_fixed_by_a_later_delivery_is_marked_and_not_counted(dashboard, org):
    now = timezone.localtime(timezone.now())
    fixed_svc, broken_svc = service(org, "Checkout API"), service(org, "Search API")
    made = alert(org, "Errors", fixed_svc, broken_svc)
    fixed = refused(org, fixed_svc, made, now - timedelta(hours=2))
    ok = delivery(org, fixed_svc, status="delivered", at=now - timedelta(hours=1))
    broken = refused(org, broken_svc, made, now - timedelta(hours=3))
    delivery(org, broken_svc, status="delivered", at=now - timedelta(hours=4))  # before it

    section = _section(dashboard())
    assert ">2 failed for good, 1 not fixed since</span>" in section  # the headline says which
    fixed_item = _text(section[section.index(f'id="failure-{fixed.pk}"') :].split("</li>")[0])
    at = timezone.localtime(ok.created_at).strftime("%H:%M")
    assert (
        f"Since fixed this service accepts events again: a later one got through at {at} "
        "(1 hour ago)." in fixed_item
    )
    broken_item = section[section.index(f'id="failure-{broken.pk}"') :]
    assert "Since fixed" not in _text(broken_item.split("</li>")[0])


def test_every_failure_fixed_says_so(dashboard, org):
    now = timezone.now()
    svc = service(org, "Checkout API")
    made = alert(org, "Errors", svc)
    refused(org, svc, made, now - timedelta(hours=2))
    delivery(org, svc, status="delivered", at=now - timedelta(hours=1))
    text = _text(_section(dashboard()))
    assert "Nothing that failed in the last 24 hours still fails" in text
    assert ">1 failed for good, all fixed since</span>" in _section(dashboard())


def test_the_same_queries_for_one_or_many_failures(dashboard, org):
    now = timezone.now()
    svc = service(org, "Checkout API")
    made = alert(org, "Errors", svc)
    refused(org, svc, made, now - timedelta(hours=5))
    dashboard()
    with CaptureQueriesContext(connection) as one:
        dashboard()
    for n in range(6):
        refused(org, service(org, f"S{n}"), made, now - timedelta(hours=4, minutes=n))
        delivery(org, svc, status="delivered", at=now - timedelta(hours=1, minutes=n))
    with CaptureQueriesContext(connection) as many:
        dashboard()
    assert len(many) == len(one)


def test_a_firings_trigger_is_fixed_only_when_that_firing_gets_through(dashboard, org):
    """A test event to the service getting through says nothing of the firing whose page
    failed: it stays counted until a trigger of that firing is delivered."""
    now = timezone.localtime(timezone.now())
    svc = service(org, "Checkout API")
    made = alert(org, "Errors", svc)
    firing = fire(made, minutes_ago=180)
    failed = delivery(
        org, svc, made=made, firing=firing, status="failed", at=now - timedelta(hours=2)
    )
    delivery(org, svc, status="delivered", at=now - timedelta(hours=1), is_test=True)
    section = _section(dashboard())
    assert ">1 failed for good</span>" in section
    item = _text(section[section.index(f'id="failure-{failed.pk}"') :].split("</li>")[0])
    assert "Since fixed" not in item

    again = delivery(org, svc, made=made, firing=firing, at=now - timedelta(minutes=30))
    section = _section(dashboard())
    assert ">1 failed for good, all fixed since</span>" in section
    item = _text(section[section.index(f'id="failure-{failed.pk}"') :].split("</li>")[0])
    at = timezone.localtime(again.created_at).strftime("%H:%M")
    assert f"Since fixed sent again and delivered at {at} (30 minutes ago)." in item
