"""A firing whose trigger was given up on without PagerDuty refusing it (read timeouts,
5xx, 429 until the retries ran out) is not said to have paged nobody: PagerDuty may have
taken it. The alert page says "PagerDuty never confirmed it took the trigger to Checkout
API 001; it may not have paged anyone", in its row and on the state card; a 429 counts as
failed, not refused. "Nobody was paged" stays for triggers PagerDuty refused outright."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery
from tests.dashboard.conftest import alert, delivery, fire, service

pytestmark = pytest.mark.django_db

UNCONFIRMED = (
    "PagerDuty never confirmed it took the trigger to Checkout API 001; "
    "it may not have paged anyone."
)


def _cleared(made: Alert, minutes_ago: float) -> Firing:
    firing = fire(made, minutes_ago=minutes_ago)
    firing.cleared_at = firing.opened_at + timedelta(minutes=1)
    firing.save()
    return firing


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def _row(page: str, firing: Firing) -> str:
    row = page[page.index(f'id="firing-{firing.pk}"') :]
    return _text(row[: row.index("</tr>")])


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (None, "Gave up after 8 attempts over 24 hours: PagerDuty did not answer in time"),
        (503, "Gave up after 8 attempts over 24 hours: PagerDuty answered 503"),
        (429, "Gave up after 8 attempts over 24 hours: PagerDuty answered 429"),
    ],
)
def test_a_trigger_given_up_on_unanswered_is_not_a_missed_page(
    admin_client: Client, org, status: int | None, error: str
) -> None:
    checkout = service(org, "Checkout API 001")
    made = alert(org, "Checkout errors", checkout)
    firing = _cleared(made, minutes_ago=3)
    delivery(
        org,
        checkout,
        made=made,
        firing=firing,
        status=Delivery.Status.FAILED,
        attempts=8,
        response_status=status,
        last_error=error,
    )
    page = admin_client.get(f"/o/{org.slug}/alerts/{made.pk}/").content.decode()
    state = _text(page[page.index('id="alert-state"') : page.index('id="alert-updated"')])
    assert f"· {UNCONFIRMED}" in state, state
    row = _row(page, firing)
    assert "Not confirmed" in row and UNCONFIRMED in row, row
    assert "1 trigger, failed" in row and "refused" not in row, row
    assert "nobody was paged" not in page.lower() and "Missed page" not in page


def test_a_refusal_and_an_unanswered_trigger_are_not_confirmed(admin_client: Client, org) -> None:
    checkout = service(org, "Checkout API 001")
    made = alert(org, "Checkout errors", checkout)
    firing = _cleared(made, minutes_ago=3)
    for status in (400, 500):
        delivery(
            org,
            checkout,
            made=made,
            firing=firing,
            status=Delivery.Status.FAILED,
            response_status=status,
        )
    page = admin_client.get(f"/o/{org.slug}/alerts/{made.pk}/").content.decode()
    row = _row(page, firing)
    assert (
        "PagerDuty refused the trigger to Checkout API 001; it never confirmed it took the one "
        "to Checkout API 001; it may not have paged anyone." in row
    ), row
    assert "2 triggers: 1 refused, 1 failed" in row, row
    assert "nobody was paged" not in page.lower()
