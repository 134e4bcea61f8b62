"""The alert list for alerts that group: how many values fire ("Firing: 2 sources"), since
the first of them, and that counting them costs no query per row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing, GroupBy

pytestmark = pytest.mark.django_db


def grouped(org, name: str, **fields) -> Alert:
    since = timezone.now() - timedelta(minutes=30)
    return Alert.objects.create(organization=org, name=name, counting_since=since, **fields)


def fire(alert: Alert, group: str, minutes_ago: int) -> Firing:
    return Firing.objects.create(
        organization=alert.organization,
        alert=alert,
        group=group,
        opened_at=timezone.now() - timedelta(minutes=minutes_ago),
        count_at_open=1,
    )


def row(client, org, alert: Alert) -> str:
    page = client.get(f"/o/{org.slug}/alerts/").content.decode()
    start = page.index(f'<tr id="alert-{alert.pk}">')
    return page[start : page.index("</tr>", start)]


def test_a_grouped_firing_alert_says_how_many_values_fire_since_the_first(admin_client, org):
    hosts = grouped(org, "Heartbeat per host", group_by=GroupBy.SOURCE, kind="absence")
    fire(hosts, "web-2", minutes_ago=40)
    fire(hosts, "web-3", minutes_ago=5)
    regions = grouped(
        org, "Errors per region", group_by=GroupBy.ATTRIBUTE, group_attribute="region"
    )
    fire(regions, "eu-west-1", minutes_ago=3)
    statuses = grouped(
        org, "Errors per status", group_by=GroupBy.ATTRIBUTE, group_attribute="status"
    )
    for n, status in enumerate(("500", "502", "503")):
        fire(statuses, status, minutes_ago=n + 1)
    quiet = grouped(org, "Quiet per app", group_by=GroupBy.APP, severity_from_events=True)

    shown = row(admin_client, org, hosts)
    assert "Firing: 2 sources</span>" in shown
    assert "for 40 min" in shown  # since the first value fired, not the latest
    assert "Fewer than 1 matching event in 5 minutes, for each source" in shown
    assert "Firing: 1 region</span>" in row(admin_client, org, regions)
    assert "Firing: 3 status values</span>" in row(admin_client, org, statuses)
    calm = row(admin_client, org, quiet)
    assert ">OK</span>" in calm and "Firing" not in calm
    assert "Severity from the events" in calm and "for each app" in calm


def test_counting_the_values_firing_costs_no_query_per_row(admin_client, org):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(f"/o/{org.slug}/alerts/").status_code == 200
        return len(captured)

    one = grouped(org, "one", group_by=GroupBy.SOURCE)
    fire(one, "web-1", minutes_ago=1)
    queries()  # the first page of an organization remembers it in the session
    few = queries()
    for n in range(20):
        alert = grouped(org, f"per host {n:02d}", group_by=GroupBy.SOURCE)
        for host in range(n % 4 + 1):
            fire(alert, f"web-{host}", minutes_ago=host + 1)
    assert queries() == few
