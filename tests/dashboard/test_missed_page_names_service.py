"""A missed page and a page not confirmed name the service that refused the trigger, or
never confirmed it, on the dashboard and in the paging-problem email, as the alert page
does: each line its own service. One read names them all: the dashboard and the email's
missed pages cost the same queries with four such firings as with one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Firing
from alerts_saas.notices.emails import Digest
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery
from tests.dashboard.conftest import alert, delivery, fire, service
from tests.dashboard.test_dashboard import part, text
from tests.dashboard.test_missed_page_dashboard import _hhmm, _missed

pytestmark = pytest.mark.django_db


def _unconfirmed(org: Organization, name: str, minutes_ago: float = 4) -> tuple[Firing, Delivery]:
    """A firing, cleared since, whose only trigger was given up on after 429s: not
    confirmed."""
    search = service(org, f"{name} API")
    made = alert(org, name, search)
    firing = fire(made, minutes_ago=minutes_ago)
    firing.cleared_at = firing.opened_at + timedelta(minutes=1)
    firing.save()
    failed = delivery(
        org,
        search,
        made=made,
        firing=firing,
        status=Delivery.Status.FAILED,
        at=firing.opened_at,
        attempts=8,
        response_status=429,
        last_error="Gave up after 8 attempts over 24 hours: PagerDuty answered 429",
    )
    return firing, failed


def test_each_line_names_its_own_service(dashboard, org) -> None:
    missed, refused = _missed(org, "Checkout errors", minutes_ago=5)
    unsure, unanswered = _unconfirmed(org, "Search errors")
    page = dashboard()
    row = part(page, f"failure-{refused.pk}")
    assert (
        f"Missed page Checkout errors fired at {_hhmm(missed)} and paged nobody: "
        "PagerDuty refused the trigger to Checkout errors API 001." in row
    ), row
    assert "Search errors API" not in row
    row = part(page, f"failure-{unanswered.pk}")
    assert (
        f"Not confirmed Search errors fired at {_hhmm(unsure)}: PagerDuty never confirmed it "
        "took the trigger to Search errors API; it may not have paged anyone." in row
    ), row
    assert "Checkout errors API 001" not in row
    listed = part(dashboard("deliveries/failed/"), f"failure-{refused.pk}")
    assert "paged nobody: PagerDuty refused the trigger to Checkout errors API 001." in listed

    paths.record([paths.Outcome(refused.service_id, refused=True, detail="Invalid routing key")])
    reconcile(org)
    [email] = mail.outbox
    assert (
        "and paged nobody: PagerDuty refused the trigger to Checkout errors API 001.\n"
        in email.body
    ), email.body
    assert (
        ": PagerDuty never confirmed it took the trigger to Search errors API; it may not "
        "have paged anyone.\n" in email.body
    ), email.body


def _counted(dashboard, org: Organization) -> tuple[int, int, str, str]:
    with CaptureQueriesContext(connection) as on_page:
        page = dashboard()
    with CaptureQueriesContext(connection) as in_email:
        body = Digest(org, timezone.now()).body()
    return len(on_page), len(in_email), page, body


def test_naming_the_services_costs_no_query_per_line(dashboard, org) -> None:
    _missed(org, "Checkout errors")
    dashboard()  # the session and the caches warm
    page_one, email_one, _, body = _counted(dashboard, org)
    assert "refused the trigger to Checkout errors API 001." in body
    _unconfirmed(org, "Search errors")
    _missed(org, "Billing errors", minutes_ago=6)
    _unconfirmed(org, "Login errors", minutes_ago=7)
    page_four, email_four, page, body = _counted(dashboard, org)
    assert (page_four, email_four) == (page_one, email_one)
    failures = text(part(page, "failed-deliveries"))
    for name in ("Checkout errors API 001", "Billing errors API 001"):
        assert f"refused the trigger to {name}." in failures
        assert f"refused the trigger to {name}." in body
    for name in ("Search errors API", "Login errors API"):
        assert f"never confirmed it took the trigger to {name};" in failures
        assert f"never confirmed it took the trigger to {name};" in body
