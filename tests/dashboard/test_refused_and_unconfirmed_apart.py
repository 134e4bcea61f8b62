"""A firing whose trigger one service refused and another never answered says each as
PagerDuty answered it, on the dashboard, in the paging-problem email and on the alert
page (`Sent.of`, `sent_of`): not "never confirmed it took the triggers to
A and B" (review should-fix 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.paged import Sent, sent_of
from alerts_saas.notices.emails import Digest
from integrations.pagerduty.models import Delivery
from tests.dashboard.conftest import alert, delivery, fire, service
from tests.dashboard.test_dashboard import part

pytestmark = pytest.mark.django_db
WORDS = (
    "PagerDuty refused the trigger to Checkout API; it never confirmed it took the one to "
    "Search API; it may not have paged anyone"
)


def _refused_and_unanswered(org: Organization) -> tuple[Firing, Delivery]:
    checkout, search = service(org, "Checkout API"), service(org, "Search API")
    made = alert(org, "Checkout errors", checkout, search)
    firing = fire(made, minutes_ago=4)
    firing.cleared_at = firing.opened_at + timedelta(minutes=1)
    firing.save()
    failed = {"made": made, "firing": firing, "status": Delivery.Status.FAILED, "attempts": 1}
    at = firing.opened_at
    delivery(org, checkout, at=at, response_status=400, last_error="Invalid routing key", **failed)
    unanswered = delivery(org, search, at=at, last_error="Timed out after 10 s", **failed)
    return firing, unanswered


def test_each_service_is_said_as_pagerduty_answered(org) -> None:
    firing, _ = _refused_and_unanswered(org)
    assert Sent.of(Delivery.objects.filter(firing=firing)).unconfirmed_reason == WORDS
    assert sent_of(org.pk, [firing.pk])[firing.pk].unconfirmed_reason == WORDS


def test_the_dashboard_and_the_email_say_each(dashboard, org) -> None:
    _, unanswered = _refused_and_unanswered(org)
    assert f"{WORDS}." in part(dashboard(), f"failure-{unanswered.pk}")
    assert f"{WORDS}.\n" in Digest(org, timezone.now()).body()


def test_only_unanswered_reads_as_before(org) -> None:
    sent = Sent(triggers=2, failed=2, unconfirmed_to=("A", "B"))
    assert sent.unconfirmed_reason == (
        "PagerDuty never confirmed it took the triggers to A and B; it may not have paged anyone"
    )
