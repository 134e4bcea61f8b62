"""What the dashboard says, counted and worded as the person means it: alerts counted as
alerts (an alert that counts each host on its own fires once per host, and is still one
alert, as the alert list counts it), and a new organization not shown as all green when
nothing is set up, nothing can fire and nothing was ever sent."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Firing, GroupBy
from tests.dashboard.conftest import alert, delivery, fire, service
from tests.dashboard.test_dashboard import part

pytestmark = pytest.mark.django_db


def _fire_for(made, group: str) -> Firing:
    return Firing.objects.create(
        organization=made.organization,
        alert=made,
        group=group,
        opened_at=timezone.now(),
        count_at_open=made.threshold,
    )


def test_an_alert_firing_for_two_hosts_is_one_alert_everywhere(dashboard, org, admin_client):
    checkout = service(org, "Checkout API")
    hosts = alert(org, "Checkout payment errors", checkout, group_by=GroupBy.SOURCE)
    _fire_for(hosts, "web-5")
    _fire_for(hosts, "web-6")
    fire(alert(org, "Search latency", checkout))
    lonely = alert(org, "Edge heartbeat missing", group_by=GroupBy.SOURCE)
    _fire_for(lonely, "edge-1")
    _fire_for(lonely, "edge-2")

    page = dashboard()
    summary = part(page, "dashboard-summary")
    assert summary.startswith("1 firing alert pages nobody. 3 alerts are firing, for 5 values.")
    assert part(page, "firing").startswith("Firing 3 ")
    assert 'data-firing="3"' in page
    # Each host's firing is still listed on its own.
    assert page.count(f'id="firing-{hosts.pk}"') == 2
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "3 alerts are firing." in part(listing, "firing-count")


def test_a_single_alert_firing_for_one_value_says_no_values(dashboard, org):
    fire(alert(org, "Search latency", service(org, "Checkout API")))
    summary = part(dashboard(), "dashboard-summary")
    assert summary.startswith("1 alert is firing.")
    assert "values" not in summary


def test_an_empty_organization_is_not_shown_as_all_green(dashboard, org, admin_client):
    page = dashboard()
    summary = part(page, "dashboard-summary")
    assert summary == (
        "No alert yet, so nothing can fire. PagerDuty is not connected yet, so nobody can be paged."
    )
    assert "is-unset" in page and "Every paging path works" not in page
    assert (
        part(page, "nothing-firing") == "No alert yet, so nothing can fire. Define your first alert"
    )
    broken = part(page, "no-broken-paths")
    assert broken.startswith("No paging path yet: PagerDuty is not connected")
    assert "Nothing is broken" not in page
    assert f'href="/o/{org.slug}/settings/integrations/"' in page
    failed = part(page, "no-failures")
    assert failed.startswith("Nothing was sent to PagerDuty yet.")
    assert "OK" not in failed
    whole = admin_client.get(f"/o/{org.slug}/deliveries/failed/").content.decode()
    assert "Nothing was sent to PagerDuty yet, so nothing could fail." in part(whole, "no-failures")
    assert "Every event sent to PagerDuty was taken" not in whole


def test_pagerduty_connected_without_an_alert_says_so(dashboard, org):
    service(org, "Checkout API")
    page = dashboard()
    assert part(page, "dashboard-summary") == (
        "No alert yet, so nothing can fire. PagerDuty is connected; no alert pages through it yet."
    )
    assert "No alert pages through it yet" in part(page, "no-broken-paths")


def test_once_something_was_sent_and_nothing_failed_it_is_ok(dashboard, org, admin_client):
    checkout = service(org, "Checkout API")
    alert(org, "Checkout errors", checkout)
    delivery(org, checkout, is_test=True)
    page = dashboard()
    assert part(page, "dashboard-summary") == "Nothing is firing. Every paging path works."
    assert part(page, "no-failures").startswith("OK No delivery failed in the last 24 hours.")
    assert "Nothing is broken" in part(page, "no-broken-paths")
    whole = admin_client.get(f"/o/{org.slug}/deliveries/failed/").content.decode()
    assert "Every event sent to PagerDuty was taken." in part(whole, "no-failures")
