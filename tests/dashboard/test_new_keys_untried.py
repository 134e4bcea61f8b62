"""Right after a service gets a new integration key (chosen again, reconnected, connected),
before PagerDuty took any event on it, the dashboard does not say "PagerDuty takes every
key" or "Every paging path works" (r18 should-fix 4): it says nothing is refused and which
services have taken no page yet; once PagerDuty takes one, it is OK again. The organization's
own deliveries only count, and the query count does not grow with services."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.dashboard.conftest import alert, delivery, service
from tests.dashboard.test_dashboard import part

pytestmark = pytest.mark.django_db
NEW_KEY = "1" * 32


def test_a_new_key_is_not_said_to_work_until_pagerduty_takes_an_event(
    dashboard, org, make_org
) -> None:
    checkout = service(org, "Checkout API")
    alert(org, "Checkout errors", checkout)
    delivery(org, checkout, is_test=True)  # taken on the old key
    assert "PagerDuty takes every key" in part(dashboard(), "no-broken-paths")

    # Chosen again under "Add services": a new integration, not sent to yet.
    checkout.integration_key = NEW_KEY
    checkout.save()
    # Another organization's delivery on the same key says nothing about this one's.
    other = make_org("Other Org")
    theirs = service(other, "Theirs")
    PagerDutyService.objects.filter(pk=theirs.pk).update(integration_key=NEW_KEY)
    theirs.refresh_from_db()
    delivery(other, theirs)
    page = dashboard()
    problems = part(page, "no-broken-paths")
    assert "takes every key" not in page and "Every paging path works" not in page
    assert "Nothing is refused" in problems
    assert "No page has gone through the current integration key of Checkout API yet" in (problems)
    assert part(page, "dashboard-summary").endswith(
        "No paging path is refused; 1 has not taken a page yet (Checkout API)."
    )

    delivery(org, checkout, status=Delivery.Status.FAILED)  # not taken: still unknown
    assert "takes every key" not in dashboard()
    delivery(org, checkout)  # PagerDuty took one on the new key
    page = dashboard()
    assert "Nothing is broken: PagerDuty takes every key" in part(page, "no-broken-paths")
    assert part(page, "dashboard-summary") == "Nothing is firing. Every paging path works."


def test_the_query_count_does_not_grow_with_new_keys(dashboard, org) -> None:
    def add(name: str) -> PagerDutyService:
        made = service(org, name)
        alert(org, f"{name} errors", made)
        return made

    add("First")
    dashboard()
    with CaptureQueriesContext(connection) as one:
        assert "(First)" in dashboard()
    for n in range(4):
        add(f"More {n}")
    with CaptureQueriesContext(connection) as five:
        assert "5 have not taken a page yet" in dashboard()
    assert len(five) == len(one)


def test_a_resolve_taken_on_the_old_key_does_not_undo_a_trigger_on_the_new_one(
    dashboard, org
) -> None:
    """An incident opened before the key changed is resolved with its trigger's (old) key;
    PagerDuty taking that resolve says nothing against the trigger it took on the new key."""
    checkout = service(org, "Checkout API")
    alert(org, "Checkout errors", checkout)
    old = delivery(org, checkout)  # the incident's trigger, on the old key
    checkout.integration_key = NEW_KEY
    checkout.save()
    delivery(org, checkout)  # PagerDuty took a trigger on the new key
    assert part(dashboard(), "dashboard-summary") == "Nothing is firing. Every paging path works."

    resolve = delivery(org, checkout, action=EventAction.RESOLVE)
    Delivery.objects.filter(pk=resolve.pk).update(routing_key=old.routing_key)
    page = dashboard()
    assert "not taken a page yet" not in page and "Not tried yet" not in page
    assert part(page, "dashboard-summary") == "Nothing is firing. Every paging path works."


def test_a_resolve_taken_on_the_current_key_shows_it_works(dashboard, org) -> None:
    checkout = service(org, "Checkout API")
    alert(org, "Checkout errors", checkout)
    delivery(org, checkout, status=Delivery.Status.FAILED)
    assert "(Checkout API)" in dashboard()
    delivery(org, checkout, action=EventAction.RESOLVE)
    assert part(dashboard(), "dashboard-summary") == "Nothing is firing. Every paging path works."
