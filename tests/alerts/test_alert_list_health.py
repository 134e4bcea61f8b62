"""The alert list says when a broken path broke and why, in the row itself (not only on
hover: phones have none): "Needs reconnecting since 28 Nov 03:12", then whose it is and
what PagerDuty said; the same for a refused key and failing deliveries. It reads nothing
more for it: the page's queries stay as many whatever the broken services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import clock
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.tenant_objects import _pd_service

pytestmark = pytest.mark.django_db
REFRESH_REFUSED = "PagerDuty refused to refresh access (invalid_grant)."


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _row(client: Client, org: Organization, alert: Alert) -> str:
    page = client.get(f"/o/{org.slug}/alerts/").content.decode()
    row = page[page.index(f'id="alert-{alert.pk}"') :]
    return _text(row[: row.index("</tr>")])


def reconnecting(org: Organization, when: datetime, name: str = "Checkout errors") -> Alert:
    """An alert paging a service whose PagerDuty account needs reconnecting since `when`."""
    service = _pd_service(org, org.memberships.get().user)
    assert isinstance(service, PagerDutyService) and service.account is not None
    PagerDutyAccount.objects.filter(pk=service.account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT,
        status_detail=REFRESH_REFUSED,
        refused_at=when,
        name="Acme US",
    )
    alert = Alert.objects.create(organization=org, name=name, threshold=1)
    alert.targets.add(service)
    return alert


def test_needs_reconnecting_says_since_when_and_why_in_the_row(
    admin_client: Client, org: Organization
) -> None:
    when = timezone.now() - timedelta(days=2)
    alert = reconnecting(org, when)
    row = _row(admin_client, org, alert)
    with timezone.override(UTC):  # the page's zone: no profile, no browser zone yet
        since = clock(when)
    assert f"Needs reconnecting since {since}" in row
    assert "Account Acme US to reconnect: pages still go out" in row
    assert "invalid_grant" not in row  # PagerDuty's words are on Integrations, folded


@pytest.mark.parametrize(
    ("column", "label", "reason"),
    [
        ("refused_at", "Refused by PagerDuty", "Checkout: Invalid routing key"),
        ("failing_since", "Deliveries failing", "Checkout: PagerDuty answered 500"),
    ],
)
def test_a_refused_or_failing_service_says_since_when_and_why(
    admin_client: Client, org: Organization, column: str, label: str, reason: str
) -> None:
    service = _pd_service(org, org.memberships.get().user)
    when = timezone.now() - timedelta(minutes=5)
    detail = column.replace("_at", "_detail").replace("_since", "_detail")
    PagerDutyService.objects.filter(pk=service.pk).update(
        **{column: when, detail: reason.split(": ", 1)[1]}
    )
    alert = Alert.objects.create(organization=org, name="Search latency", threshold=1)
    alert.targets.add(service)
    row = _row(admin_client, org, alert)
    with timezone.override(UTC):  # the page's zone: no profile, no browser zone yet
        since = clock(when)
    assert f"{label} since {since}" in row
    assert reason in row


def test_saying_since_when_reads_nothing_more_per_row(
    admin_client: Client, org: Organization
) -> None:
    alert = reconnecting(org, timezone.now() - timedelta(hours=3))
    path = f"/o/{org.slug}/alerts/"
    admin_client.get(path)  # the first page of an organization remembers it in the session
    with CaptureQueriesContext(connection) as one:
        admin_client.get(path)
    service = alert.targets.get()
    for n in range(5):
        other = Alert.objects.create(organization=org, name=f"Queue depth {n}", threshold=1)
        other.targets.add(service)
    with CaptureQueriesContext(connection) as six:
        page = _text(admin_client.get(path).content.decode())
    assert page.count("Needs reconnecting since") == 6
    assert len(six) == len(one)
