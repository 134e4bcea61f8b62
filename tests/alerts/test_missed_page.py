"""A firing that paged nobody (PagerDuty accepted none of its triggers) is said to be a
missed page on the alert page: in its firing row, and on the state card while the alert is
OK again; its counts say "1 trigger, refused", not "1 sent · 1 failed". A trigger still
retried is not missed; a firing paged through the fallback says so. The page reads the
same number of queries with many missed firings as with one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason
from tests.dashboard.conftest import alert, delivery, fire, refused, service

pytestmark = pytest.mark.django_db


def _cleared(made: Alert, minutes_ago: float, lasted: float = 1) -> Firing:
    firing = fire(made, minutes_ago=minutes_ago)
    firing.cleared_at = firing.opened_at + timedelta(minutes=lasted)
    firing.save()
    return firing


def _refused(org: Organization, target: PagerDutyService, made: Alert, firing: Firing) -> None:
    refused(org, target, made, firing.opened_at, firing=firing)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def _row(page: str, firing: Firing) -> str:
    row = page[page.index(f'id="firing-{firing.pk}"') :]
    return _text(row[: row.index("</tr>")])


def _page(client: Client, made: Alert) -> str:
    return client.get(f"/o/{made.organization.slug}/alerts/{made.pk}/").content.decode()


def test_a_cleared_firing_pagerduty_refused_is_a_missed_page(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API 001")
    made = alert(org, "Checkout errors", checkout)
    firing = _cleared(made, minutes_ago=3)
    _refused(org, checkout, made, firing)
    page = _page(admin_client, made)
    state = _text(page[page.index('id="alert-state"') : page.index('id="alert-updated"')])
    assert "OK" in state and "Not firing" in state
    assert "· nobody was paged: PagerDuty refused the trigger to Checkout API 001." in state, state
    assert re.search(r"Fired \d\d:\d\d:\d\d\u2013\d\d:\d\d:\d\d · nobody was paged", state)
    row = _row(page, firing)
    assert "Nobody was paged: PagerDuty refused the trigger to Checkout API 001." in row
    assert "1 trigger, refused" in row
    assert "sent to PagerDuty" not in row and "1 failed" not in row


def test_a_firing_paged_then_is_not_missed_and_counts_what_it_sent(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    firing = _cleared(made, minutes_ago=3)
    delivery(org, checkout, made=made, firing=firing, at=firing.opened_at)
    delivery(
        org,
        checkout,
        made=made,
        firing=firing,
        at=firing.cleared_at,
        action=EventAction.RESOLVE,
        status=Delivery.Status.FAILED,
        last_error="PagerDuty answered 400",
    )
    page = _page(admin_client, made)
    assert "nobody was paged" not in page.lower()
    assert "1 trigger, accepted · 1 resolve, failed" in _row(page, firing)


def test_a_trigger_still_retried_is_not_paged_yet_not_missed(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    cleared = _cleared(made, minutes_ago=6)
    still = fire(made, minutes_ago=2)
    for firing in (still, cleared):
        delivery(
            org,
            checkout,
            made=made,
            firing=firing,
            status=Delivery.Status.QUEUED,
            at=firing.opened_at,
            attempts=3,
            response_status=500,
            last_error="PagerDuty answered 500",
        )
    page = _page(admin_client, made)
    assert "nobody was paged" not in page.lower()
    row = _row(page, cleared)
    assert "Not paged yet: PagerDuty has not accepted its trigger yet" in row
    assert "1 trigger, on its way" in row


def test_an_open_firing_pagerduty_refused_says_nobody_was_paged(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API 001")
    made = alert(org, "Checkout errors", checkout)
    firing = fire(made, minutes_ago=2)
    _refused(org, checkout, made, firing)
    page = _page(admin_client, made)
    card = page[page.index('id="firing-missed"') :]
    card = _text(card[card.index(">") + 1 : card.index("</p>")])
    assert (
        card == "Missed page Nobody was paged: PagerDuty refused the trigger to Checkout API 001."
    )


def test_a_firing_paged_through_the_fallback_says_so(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API 001")
    edge = service(org, "Edge Gateway", is_fallback=True)
    made = alert(org, "Checkout errors", checkout)
    firing = _cleared(made, minutes_ago=3)
    _refused(org, checkout, made, firing)
    delivery(org, edge, made=made, firing=firing, at=firing.opened_at, reason=Reason.FALLBACK)
    page = _page(admin_client, made)
    row = _row(page, firing)
    assert "nobody was paged" not in page.lower()
    assert "Paged through the fallback, Edge Gateway." in row
    assert "2 triggers: 1 accepted, 1 refused" in row


def test_missed_firings_cost_no_query_each(admin_client: Client, org: Organization) -> None:
    checkout = service(org, "Checkout API 001")
    made = alert(org, "Checkout errors", checkout)
    _refused(org, checkout, made, _cleared(made, minutes_ago=100))
    _page(admin_client, made)
    with CaptureQueriesContext(connection) as one:
        _page(admin_client, made)
    now = timezone.now()
    for n in range(10):
        _refused(org, checkout, made, _cleared(made, minutes_ago=90 - n * 5))
    assert Firing.objects.filter(opened_at__lt=now).count() == 11
    with CaptureQueriesContext(connection) as eleven:
        page = _page(admin_client, made)
    assert _text(page).count("Nobody was paged: PagerDuty refused the trigger") == 11
    assert len(eleven) == len(one)
