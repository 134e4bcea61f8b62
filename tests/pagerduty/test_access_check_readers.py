"""One reader per account: an account with connected services is read by the services'
check, whose listing stamps its access checked; the access check reads the others. No
account waits longer than the access check's interval, whichever reads it, and none is read
twice when the services' check comes at least as often. Real HTTP to the sandbox."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty import access_check, service_check
from integrations.pagerduty import tasks as beat
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.pagerduty.beat_reads import rest_calls
from tests.pagerduty_fixtures import EU_USER, US_USER, connect_service

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("services_every", "with_services", "without"),
    [(900, 4, 4), (600, 6, 4), (1800, 4 + 2, 4)],
    ids=["same-interval", "services-more-often", "services-less-often"],
)
def test_no_account_waits_longer_than_the_interval_and_none_is_read_twice(
    org: Organization,
    settings: Any,
    services_every: int,
    with_services: int,
    without: int,
) -> None:
    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = 900
    settings.PAGERDUTY_SERVICE_CHECK_INTERVAL = services_every
    served, bare = [], []
    for n in range(40):
        account = PagerDutyAccount.objects.create(
            organization=org,
            pd_account_id=f"PACC{n}",
            subdomain=f"acme-{n}",
            name=f"Acme {n}",
            access_token="at",
            refresh_token="rt",
            expires_at=timezone.now() + timedelta(days=1),
        )
        if n % 2:
            PagerDutyService.objects.create(
                organization=org, account=account, name=f"S{n}", integration_key=f"{n:032d}"
            )
            served.append(account.pk)
        else:
            bare.append(account.pk)
    PagerDutyAccount.objects.filter(pk__in=[served[0], bare[0]]).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT  # read by neither
    )

    reads: dict[int, list[int]] = defaultdict(list)  # account: the minutes it was read
    start = datetime(2026, 12, 1, 3, 0, 5, tzinfo=UTC)
    for minute in range(60):
        now = start + timedelta(minutes=minute)
        for reader in (service_check.due(now), access_check.due(now)):
            for (pk,) in reader.values_list("pk"):
                reads[pk].append(minute)

    assert served[0] not in reads and bare[0] not in reads
    for pk in served[1:] + bare[1:]:
        minutes = reads[pk]
        gaps = [b - a for a, b in zip([-1, *minutes], [*minutes, 60], strict=True)]
        assert max(gaps) <= 15, (pk, minutes)  # never longer than the interval
    assert {len(reads[pk]) for pk in served[1:]} == {with_services}
    assert {len(reads[pk]) for pk in bare[1:]} == {without}


def test_each_account_is_read_once_by_one_reader_and_stamped_checked(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    served = connected_service.account
    assert served is not None
    token = pagerduty.issue_token(EU_USER)
    bare = PagerDutyAccount.objects.create(  # the same organization's EU account, no services
        organization=org,
        pd_account_id=pagerduty.account("eu")["id"],
        subdomain=pagerduty.account("eu")["subdomain"],
        name="Acme EU",
        region="eu",
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=timezone.now() + timedelta(seconds=int(token["expires_in"])),
        scope="write",
    )
    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = settings.PAGERDUTY_SERVICE_CHECK_INTERVAL = 60
    us, eu = len(rest_calls(pagerduty, "rest-us")), len(rest_calls(pagerduty, "rest-eu"))
    start = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert beat.check_services() == 0
        assert beat.check_access() == {"works": 1}

    # The served account: the services' listing only (139 services, 100 a call).
    assert rest_calls(pagerduty, "rest-us")[us:] == ["GET /rest/us/services"] * 2
    # The other: the access check's one read.
    assert rest_calls(pagerduty, "rest-eu")[eu:] == ["GET /rest/eu/services"]
    for account in (served, bare):
        account.refresh_from_db()
        assert account.access_checked_at is not None and account.access_checked_at >= start


def test_the_services_check_stamps_its_accounts_in_one_update(
    make_org: Any, make_user: Any, pagerduty: Any, settings: Any
) -> None:
    pd = pagerduty.account("us")
    service = pd["services"][0]
    for n in range(3):  # three organizations connected the same PagerDuty account
        org = make_org(f"Org {n}", owner=make_user(f"owner{n}@org{n}.example"))
        token = pagerduty.issue_token(US_USER)
        account = PagerDutyAccount.objects.create(
            organization=org,
            pd_account_id=pd["id"],
            subdomain=pd["subdomain"],
            name=f"Org {n} US",
            region="us",
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            expires_at=timezone.now() + timedelta(seconds=int(token["expires_in"])),
            scope="write",
        )
        connect_service(account, service, pagerduty)
    settings.PAGERDUTY_SERVICE_CHECK_INTERVAL = 60

    with CaptureQueriesContext(connection) as queries:
        service_check.check_due()

    stamps = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("UPDATE ") and 'SET "access_checked_at"' in q["sql"]
    ]
    assert len(stamps) == 1  # one update for the run's batch, not one per account
    assert not PagerDutyAccount.objects.filter(access_checked_at__isnull=True).exists()
