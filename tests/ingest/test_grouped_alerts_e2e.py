"""Alerts that count each host (or app, or attribute value) on its own, and alerts whose
severity follows the events: events in through the API, pages out to the sandbox through a
real Celery worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, GroupBy
from tests.ingest.test_firing_e2e import ago, delivered, evaluate_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owner_client(org: Organization) -> Client:
    client = Client()
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    return client


def heartbeats(*hosts: str, seconds_ago: float = 0) -> list[dict]:
    return [
        {"app": "agent", "message": "heartbeat", "host": host, "timestamp": ago(seconds_ago)}
        for host in hosts
    ]


def test_the_host_that_goes_quiet_fires_alone_and_resolves_when_it_returns(
    celery_worker, post_events, org, make_service, pagerduty, owner_client: Client
):
    service = make_service()
    alert = Alert.objects.create(
        organization=org,
        name="Heartbeat missing",
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=1,
        match_app="agent",
        group_by=GroupBy.SOURCE,
        summary_template="No heartbeat from {group} in {window}",
    )
    alert.targets.add(service)
    # As if it had been watching for a while: counting began before the hosts were seen.
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now() - timedelta(minutes=5))

    # Three hosts beat; web-3 beat once, 52 s ago, and then went quiet.
    assert post_events(heartbeats("web-3", seconds_ago=52)).status_code == 202
    assert post_events(heartbeats("web-1", "web-2")).status_code == 202
    assert evaluation.evaluate()["opened"] == 0  # every host beat within the last minute

    # The beat keeps coming from web-1 and web-2 only: web-3 alone fires, once its beat
    # leaves the window (a host first seen less than a window ago can't be told quiet).
    def quiet_host_fired() -> Firing | None:
        post_events(heartbeats("web-1", "web-2"))
        return Firing.objects.filter(alert=alert).first()

    firing = evaluate_until(quiet_host_fired, timeout=45)
    assert firing.group == "web-3"
    assert list(Firing.objects.filter(alert=alert).values_list("group", flat=True)) == ["web-3"]
    trigger = delivered(pagerduty, firing.dedup_key(service.pk), "trigger")["body"]
    assert trigger["payload"]["summary"] == "No heartbeat from web-3 in 1 minute"
    details = trigger["payload"]["custom_details"]
    assert details["group"] == {"field": "source", "value": "web-3"}
    assert details["matching_events_in_window"] == 0
    assert [e["source"] for e in details["recent_matching_events"]] == ["web-3"]

    # The alert page lists each host with its state, the quiet one first.
    page = owner_client.get(alert.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 source firing" in html
    assert html.index('data-group="web-3" data-state="firing"') < html.index(
        'data-group="web-1" data-state="ok"'
    )

    # web-3 beats again: its firing clears and PagerDuty gets the resolve under its key.
    assert post_events(heartbeats("web-3")).status_code == 202
    evaluate_until(lambda: Firing.objects.get(pk=firing.pk).cleared_at is not None)
    delivered(pagerduty, firing.dedup_key(service.pk), "resolve")
    assert Firing.objects.filter(alert=alert).count() == 1  # web-1 and web-2 never fired
    assert [e["event_action"] for e in _sent(pagerduty, alert, service)] == [
        "trigger",
        "resolve",
    ]


def _sent(pagerduty, alert: Alert, service) -> list[dict]:
    keys = [f.dedup_key(service.pk) for f in Firing.objects.filter(alert=alert)]
    return [e["body"] for key in keys for e in pagerduty.events(dedup_key=key)]


def test_each_host_over_its_threshold_fires_with_its_own_incident(
    celery_worker, post_events, org, make_service, pagerduty
):
    service = make_service()
    alert = Alert.objects.create(
        organization=org,
        name="Disk errors",
        threshold=2,
        window_minutes=1,
        match_message="disk",
        group_by=GroupBy.SOURCE,
    )
    alert.targets.add(service)
    disk = {"message": "disk full", "level": "error"}
    # Two errors from db-1, one each from db-2 and db-3: only db-1 reaches 2.
    response = post_events(
        [
            {**disk, "source": "db-1"},
            {**disk, "source": "db-2"},
            {**disk, "source": "db-1"},
            {**disk, "source": "db-3"},
        ]
    )
    assert response.status_code == 202
    [firing] = Firing.objects.filter(alert=alert)
    assert (firing.group, firing.count_at_open) == ("db-1", 2)
    trigger = delivered(pagerduty, firing.dedup_key(service.pk), "trigger")["body"]
    # No {group} in the summary: the value is added after it.
    assert trigger["payload"]["summary"].startswith("[source db-1] ")
    # PagerDuty's source is the host the incident is about, not the alert's default.
    assert trigger["payload"]["source"] == "db-1"

    # db-2 reaches 2 as well: a second firing, with its own dedup key and incident.
    assert post_events([{**disk, "source": "db-2"}]).status_code == 202
    second = Firing.objects.get(alert=alert, group="db-2")
    assert second.dedup_key(service.pk) != firing.dedup_key(service.pk)
    assert (
        delivered(pagerduty, second.dedup_key(service.pk), "trigger")["body"]["payload"]["source"]
        == "db-2"
    )
    assert len(pagerduty.alerts(status="triggered")) == 2


def test_values_past_the_limit_are_not_counted_and_the_page_says_so(
    post_events, org, settings, owner_client: Client
):
    settings.ALERT_GROUP_LIMIT = 3
    alert = Alert.objects.create(
        organization=org,
        name="Errors per region",
        threshold=1,
        window_minutes=1,
        match_level=40,
        group_by=GroupBy.ATTRIBUTE,
        group_attribute="region",
    )
    regions = ["eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2"]
    events = [{"message": "boom", "level": "error", "region": r} for r in regions]
    assert post_events(events).status_code == 202
    # The first three regions are counted and fire; the fourth is past the limit.
    assert sorted(Firing.objects.filter(alert=alert).values_list("group", flat=True)) == sorted(
        regions[:3]
    )
    counter = CounterSet.of(alert)
    assert {g.value for g in counts().groups([counter])[counter]} == set(regions[:3])
    page = owner_client.get(alert.get_absolute_url()).content.decode()
    assert 'id="group-limit"' in page
    assert "The limit of 3 values is reached" in page


def test_severity_follows_the_highest_level_in_the_window(
    celery_worker, post_events, org, make_service, pagerduty
):
    service = make_service()
    alert = Alert.objects.create(
        organization=org,
        name="Payment failures",
        threshold=3,
        window_minutes=1,
        match_app="payments",
        severity="warning",
        severity_from_events=True,
    )
    alert.targets.add(service)
    events = [
        {"app": "payments", "level": level, "message": "failed"}
        for level in ("warning", "critical", "error")
    ]
    assert post_events(events).status_code == 202
    firing = Firing.objects.get(alert=alert)
    assert firing.severity == "critical"
    trigger = delivered(pagerduty, firing.dedup_key(service.pk), "trigger")["body"]
    assert trigger["payload"]["severity"] == "critical"


def test_severity_stays_the_alerts_own_unless_it_follows_the_events(
    celery_worker, post_events, org, make_service, pagerduty
):
    service = make_service()
    alert = Alert.objects.create(
        organization=org,
        name="Payment failures",
        threshold=1,
        window_minutes=1,
        match_app="payments",
        severity="warning",
    )
    alert.targets.add(service)
    assert post_events([{"app": "payments", "level": "emergency"}]).status_code == 202
    firing = Firing.objects.get(alert=alert)
    trigger = delivered(pagerduty, firing.dedup_key(service.pk), "trigger")["body"]
    assert trigger["payload"]["severity"] == "warning"
