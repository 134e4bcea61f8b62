"""Wherever Tripwire says a PagerDuty account "needs reconnecting", it says since when
(`PagerDutyAccount.refused_at`), in the reader's zone: "since 03:12" today, "since 28 Nov
03:12" before. An account refused before Tripwire recorded when says no time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import clock
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.tenant_objects import _pd_service

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _refused(org: Organization, when: datetime | None) -> tuple[PagerDutyAccount, Alert]:
    """An alert paging a service whose account PagerDuty refused to refresh at `when`."""
    owner = org.memberships.get().user
    owner.time_zone = "Asia/Tokyo"
    owner.save()
    service = _pd_service(org, owner)
    assert isinstance(service, PagerDutyService) and service.account is not None
    PagerDutyAccount.objects.filter(pk=service.account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT, refused_at=when
    )
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.add(service)
    reconcile(org)  # the banner's open problems
    return PagerDutyAccount.objects.get(pk=service.account.pk), alert


def _pages(client, org: Organization, alert: Alert) -> dict[str, str]:
    paths = {
        "dashboard": f"/o/{org.slug}/",
        "alert": f"/o/{org.slug}/alerts/{alert.pk}/",
        "integrations": f"/o/{org.slug}/settings/integrations/",
    }
    return {name: _text(client.get(path).content.decode()) for name, path in paths.items()}


def test_clock_is_the_time_today_and_the_date_before() -> None:
    now = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    with timezone.override(TOKYO):  # 1 Dec 04:00 there
        assert clock(datetime(2026, 11, 30, 18, 12, tzinfo=UTC), now) == "03:12"
        assert clock(datetime(2026, 11, 27, 18, 12, tzinfo=UTC), now) == "28 Nov 03:12"
        assert clock(datetime(2025, 11, 27, 18, 12, tzinfo=UTC), now) == "28 Nov 2025 03:12"


def test_every_needs_reconnecting_says_since_when_in_the_readers_zone(org, admin_client):
    refused = timezone.now() - timedelta(days=3)
    account, alert = _refused(org, refused)
    local = refused.astimezone(TOKYO)
    year = "" if local.year == timezone.now().astimezone(TOKYO).year else f" {local.year}"
    since = f"since {local.day} {local:%b}{year} {local:%H:%M}"  # "since 28 Nov 03:12"
    pages = _pages(admin_client, org, alert)
    named = f"PagerDuty account {account.name} needs reconnecting {since}"
    assert f"Reconnect PagerDuty: {named} ." in pages["dashboard"]  # the banner
    assert named in pages["dashboard"].replace(f"Reconnect PagerDuty: {named}", "")  # the list
    assert f"Its PagerDuty account {account.name} needs reconnecting {since}" in pages["alert"]
    assert f"Needs reconnecting {since}" in pages["integrations"]  # the service's row
    assert (
        f"Its PagerDuty account {account.name} needs reconnecting {since}"
        in (pages["integrations"])
    )


def test_today_it_says_the_time_alone(org, admin_client):
    refused = timezone.now() - timedelta(seconds=1)
    account, alert = _refused(org, refused)
    since = f"since {refused.astimezone(TOKYO):%H:%M}"
    pages = _pages(admin_client, org, alert)
    assert f"PagerDuty account {account.name} needs reconnecting {since} ." in pages["dashboard"]
    assert f"Its PagerDuty account {account.name} needs reconnecting {since}" in pages["alert"]
    assert f"Needs reconnecting {since}" in pages["integrations"]


def test_an_account_refused_before_tripwire_recorded_when_says_no_time(org, admin_client):
    account, alert = _refused(org, None)
    for name, page in _pages(admin_client, org, alert).items():
        assert f"{account.name} needs reconnecting" in page, name
        assert "needs reconnecting since" not in page, name
        assert "Needs reconnecting since" not in page, name


def test_saying_since_when_costs_no_query_per_service(org, admin_client):
    account, alert = _refused(org, timezone.now() - timedelta(hours=2))
    path = f"/o/{org.slug}/settings/integrations/"
    admin_client.get(path)  # the first page of an organization remembers it in the session
    with CaptureQueriesContext(connection) as one:
        admin_client.get(path)
    for n in range(3):
        service = PagerDutyService.objects.create(
            organization=org,
            account=account,
            pd_service_id=f"PSVCX{n}",
            name=f"Search {n}",
            integration_id=f"PINTX{n}",
            integration_key=f"{n}" * 32,
            created_integration=True,
        )
        alert.targets.add(service)
    with CaptureQueriesContext(connection) as four:
        page = _text(admin_client.get(path).content.decode())
    assert page.count("Needs reconnecting since") == 4
    assert len(four) == len(one)
