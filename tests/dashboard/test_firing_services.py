"""A firing that pages several services names them all on the dashboard: "Trigger to
Checkout API, Payments +2" with every one of them (each linked to its delivery) under "All
4 services"; a service whose delivery is in another state gets its own line, so a badge is
true of every service it names. The deliveries are read in one query however many."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.pagerduty.models import Delivery
from tests.dashboard.conftest import alert, delivery, fire, service
from tests.dashboard.test_dashboard import text

pytestmark = pytest.mark.django_db

NAMES = ("Checkout API", "Payments", "Billing", "Search")


def _row(page: str, alert_pk: int) -> str:
    """The firing's item (it holds no nested list item)."""
    found = re.search(rf'<li\b[^>]*\bid="firing-{alert_pk}".*?</li>', page, re.S)
    assert found is not None
    return found.group(0)


def _paged(org, names, minutes_ago=10):
    targets = [service(org, name) for name in names]
    made = alert(org, f"Checkout errors {minutes_ago}", *targets)
    firing = fire(made, minutes_ago=minutes_ago)
    at = timezone.now() - timedelta(minutes=minutes_ago)
    sent = [
        delivery(org, target, made=made, firing=firing, at=at + timedelta(seconds=n))
        for n, target in enumerate(reversed(targets))  # the first named is the newest
    ]
    return made, sent


def test_a_firing_names_every_service_it_pages(dashboard, org):
    made, sent = _paged(org, NAMES)

    row = _row(dashboard(), made.pk)
    words = text(row)
    assert "Delivered Trigger to Checkout API, Payments +2, " in words
    assert "All 4 services Checkout API, Payments, Billing, Search" in words
    for each in sent:
        assert f'href="/o/{org.slug}/pagerduty/deliveries/{each.pk}/"' in row


def test_a_service_in_another_state_gets_its_own_line(dashboard, org):
    made, sent = _paged(org, NAMES[:3])
    Delivery.objects.filter(pk=sent[0].pk).update(  # Billing's trigger
        status=Delivery.Status.FAILED, attempts=1, last_error="Invalid routing key"
    )

    words = text(_row(dashboard(), made.pk))
    failed = words.index("Failed Trigger to Billing, ")
    delivered = words.index("Delivered Trigger to Checkout API, Payments, ")
    assert failed < delivered  # what failed first
    assert "Invalid routing key" in words[failed:delivered]
    assert "+" not in words[delivered:] and "All " not in words


def test_one_service_reads_as_before(dashboard, org):
    made, _ = _paged(org, NAMES[:1])
    words = text(_row(dashboard(), made.pk))
    assert "Delivered Trigger to Checkout API, " in words and "All " not in words


def test_the_deliveries_are_read_in_the_same_queries_however_many(dashboard, org):
    _paged(org, NAMES[:1], minutes_ago=10)
    dashboard()
    with CaptureQueriesContext(connection) as few:
        dashboard()
    for minutes in (20, 30, 40):
        _paged(org, NAMES, minutes_ago=minutes)
    with CaptureQueriesContext(connection) as many:
        page = dashboard()
    assert page.count("All 4 services") == 3
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
