"""The paging-problem email's missed pages are in the reader's time zone (their profile's),
and a trigger given up on unanswered (timeouts, 5xx, 429) is not said to have paged nobody:
"PagerDuty never confirmed it took the trigger to …; it may not have paged anyone"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.dateformat import format as date_format

from alerts_saas.accounts.models import User
from alerts_saas.accounts.times import zone_of
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.notices.reconcile import recipients, reconcile
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.dashboard.conftest import delivery

pytestmark = pytest.mark.django_db


def _fired(org, name: str, status: int | None, minutes_ago: float) -> Firing:
    target = PagerDutyService.objects.create(
        organization=org, name=f"{name} API", integration_key="0" * 32
    )
    made = Alert.objects.create(organization=org, name=name, threshold=3)
    made.targets.set([target])
    firing = Firing.objects.create(
        organization=org,
        alert=made,
        opened_at=timezone.now() - timedelta(minutes=minutes_ago),
        cleared_at=timezone.now(),
        count_at_open=3,
    )
    delivery(
        org,
        target,
        made=made,
        firing=firing,
        status=Delivery.Status.FAILED,
        response_status=status,
        last_error="Invalid routing key" if status == 400 else "Gave up after 8 attempts",
    )
    if status == 400:
        paths.record([paths.Outcome(target.pk, refused=True, detail="Invalid routing key")])
    return firing


def test_missed_pages_are_in_the_readers_zone_and_say_what_pagerduty_told(org) -> None:
    readers = [r.user_id for r in recipients(org)]
    User.objects.filter(pk__in=readers).update(time_zone="Asia/Tokyo")
    refused = _fired(org, "Checkout errors", 400, minutes_ago=5)
    unanswered = _fired(org, "Search errors", None, minutes_ago=4)

    reconcile(org)
    [email] = mail.outbox
    tokyo = zone_of("Asia/Tokyo")

    def at(firing: Firing) -> str:
        return date_format(timezone.localtime(firing.opened_at, tokyo), "H:i e")

    assert at(refused).endswith("JST")
    body = email.body
    assert body.startswith(
        "Missed pages: PagerDuty accepted none of these firings' triggers.\n"
        f"Checkout errors fired at {at(refused)} and paged nobody: PagerDuty refused the "
        "trigger to Checkout errors API.\n"
        f"Search errors fired at {at(unanswered)}: PagerDuty never confirmed it took the "
        "trigger to Search errors API; it may not have paged anyone.\n"
    ), body
    assert "UTC" not in body.split("\n\n")[0]
