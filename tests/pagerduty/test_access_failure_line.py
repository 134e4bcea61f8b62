"""Integrations after a check that could not reach PagerDuty: when it was tried, what it
met, that the access last confirmed still stands (nothing later is known) and when the
next check comes, in the member's time zone; said plainly once that check is overdue, and
gone once a check works again. Real HTTP to the sandbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import clock
from integrations.pagerduty import tasks as beat
from integrations.pagerduty.models import PagerDutyAccount
from tests.pagerduty.beat_reads import access_line
from tests.pagerduty_fixtures import US_USER

pytestmark = pytest.mark.django_db
ZONE = "Asia/Tokyo"


def _local(moment: Any) -> str:
    """A time as the page writes it for the member (today: '14:05'; else with the date)."""
    with timezone.override(ZoneInfo(ZONE)):
        return clock(moment)


def test_a_check_that_could_not_reach_pagerduty_says_what_still_stands(
    org: Organization, pagerduty: Any, admin_client: Any, settings: Any
) -> None:
    token = pagerduty.issue_token(US_USER)
    account = PagerDutyAccount.objects.create(
        organization=org,
        pd_account_id=pagerduty.account("us")["id"],
        subdomain="acme",
        name="Acme US",
        region="us",
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=timezone.now() + timedelta(seconds=int(token["expires_in"])),
        scope="write",
    )
    owner = org.memberships.get().user
    owner.time_zone = ZONE
    owner.save(update_fields=["time_zone"])
    confirmed = timezone.now() - timedelta(minutes=15)
    PagerDutyAccount.objects.filter(pk=account.pk).update(access_checked_at=confirmed)

    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = 60  # due in this run
    pagerduty.fault("rest-us", "500", count=5)
    assert beat.check_access() == {"failed": 1}
    pagerduty.clear_faults()
    account.refresh_from_db()
    failed = account.access_failed_at
    assert failed is not None

    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = 900
    next_by = failed.replace(second=0, microsecond=0) + timedelta(minutes=15)
    assert access_line(admin_client, org, account).startswith(
        f"Access confirmed Last check at {_local(failed)} could not reach PagerDuty "
        f"(answered 500); the access confirmed at {_local(confirmed)} still stands; "
        f"next check by {_local(next_by)}. Tripwire checks it every 15 minutes"
    )

    # No check since, long past its time: not promised again.
    failed, confirmed = timezone.now() - timedelta(minutes=40), timezone.now() - timedelta(hours=1)
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        access_failed_at=failed, access_checked_at=confirmed
    )
    next_by = failed.replace(second=0, microsecond=0) + timedelta(minutes=15)
    assert access_line(admin_client, org, account).startswith(
        f"Access confirmed Last check at {_local(failed)} could not reach PagerDuty "
        f"(answered 500); the access confirmed at {_local(confirmed)} still stands; the next "
        f"check, due by {_local(next_by)}, has not been made yet."
    )

    # PagerDuty answers again: the check that works is what the line says.
    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = 60
    assert beat.check_access() == {"works": 1}
    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = 900
    line = access_line(admin_client, org, account)
    assert line.startswith("Access confirmed Access checked just now (at ")
    assert "could not reach" not in line
