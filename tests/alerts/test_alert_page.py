"""An alert's page and the alert list: the state a person sees, the chart's data, the latest
matching events, the firings with their deliveries; and disable, enable and delete, which
resolve what an open firing paged."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, Level
from alerts_saas.alerts.views import history
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.conftest import resolves_of

pytestmark = pytest.mark.django_db


def _alert(org, service, name="Checkout errors", **fields) -> Alert:
    """An alert counting for the last half hour (the chart starts where counting did)."""
    fields = {
        "threshold": 3,
        "window_minutes": 5,
        "match_app": "checkout",
        "counting_since": timezone.now() - timedelta(minutes=30),
        **fields,
    }
    alert = Alert.objects.create(organization=org, name=name, **fields)
    if service is not None:
        alert.targets.add(service)
    return alert


def _events(org, n: int, app: str = "checkout", **fields) -> list[Firing]:
    now = time.time()
    return evaluation.record(
        org.pk,
        [
            Event(
                timestamp=now,
                message=f"card declined #{i}",
                app=app,
                source="web-1",
                level=Level.ERROR,
                attributes={"order": 4400 + i},
                **fields,
            )
            for i in range(n)
        ],
    )


@pytest.fixture
def firing_alert(org, connected_service) -> Alert:
    alert = _alert(org, connected_service)
    [firing] = _events(org, 3)
    assert firing.alert_id == alert.pk
    return alert


def _page(client, alert, suffix: str = "") -> str:
    response = client.get(f"/o/{alert.organization.slug}/alerts/{alert.pk}/{suffix}")
    assert response.status_code == 200
    return response.content.decode()


def _chart(page: str) -> dict:
    found = re.search(
        r'<script id="alert-chart-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


# -- The page ------------------------------------------------------------------------------


def test_a_firing_alert_shows_its_state_chart_events_and_firing(
    admin_client, firing_alert, connected_service
):
    page = _page(admin_client, firing_alert)
    firing = Firing.objects.get()
    assert "FIRING since" in page and firing.opened_at.strftime("%H:%M:%S") in page
    assert "3 matching events in 5 minutes when it opened; 3 now" in page
    assert re.search(r"<strong>Checkout API 001</strong>: Trigger (queued|delivered)", page)
    assert "<title>FIRING · Checkout errors" in page
    assert "At least 3 matching events in 5 minutes" in page
    assert "App is “checkout”" in page
    chart = _chart(page)
    assert chart["threshold"] == 3 and chart["absence"] is False
    assert chart["window"] == "5 minutes"
    assert len(chart["times"]) == len(chart["values"]) > 10
    assert chart["values"][-1] == 3 and chart["times"] == sorted(chart["times"])
    assert abs(chart["times"][-1] - time.time()) < 60
    assert "vendor/uplot/uPlot.iife.min.js" in page and "js/alert-chart.js" in page
    # The latest matching events, newest first.
    recent = page[page.index('id="recent-events"') :]
    assert recent.index("card declined #2") < recent.index("card declined #0")
    assert "order=4402" in recent and "web-1" in recent and "error" in recent
    # The firing, with its trigger.
    row = page[page.index(f'id="firing-{firing.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Still firing" in row and "3 when opened" in row
    assert "<strong>Checkout API 001</strong>" in row and ">Trigger queued</a>" in row
    # And the deliveries history stays below.
    assert page.count('id="delivery-row-') == 1


def test_the_live_section_is_served_alone_for_the_refresh(admin_client, firing_alert):
    section = _page(admin_client, firing_alert, "live/")
    assert section.lstrip().startswith("<section")
    assert "<html" not in section
    assert 'id="alert-live"' in section and 'data-state="firing"' in section
    assert 'hx-trigger="every 15s' in section and "data-poll" in section
    assert f'hx-get="/o/{firing_alert.organization.slug}/alerts/{firing_alert.pk}/live/"' in section
    assert _chart(section)["values"][-1] == 3


def test_a_new_alert_without_events_says_how_to_send_some(admin_client, org, connected_service):
    alert = _alert(org, connected_service)
    _events(org, 2, app="search")  # not matching
    page = _page(admin_client, alert)
    assert 'data-state="ok"' in page
    assert "Not firing. 0 matching events in the last 5 minutes; it fires at 3." in page
    assert "No matching events yet." in page
    assert f'href="/o/{org.slug}/settings/ingest-keys/">Settings / Ingest keys</a>' in page
    assert "alert-chart-data" not in page
    assert "It has not fired yet." in page
    assert "Nothing has been sent yet." in page


def test_matching_events_below_the_threshold_are_charted(admin_client, org, connected_service):
    alert = _alert(org, connected_service)
    _events(org, 2)
    page = _page(admin_client, alert)
    assert "Not firing. 2 matching events in the last 5 minutes; it fires at 3." in page
    chart = _chart(page)
    assert chart["values"][-1] == 2 and set(chart["values"]) <= {0, 2}
    assert "No matching events yet." not in page


def test_an_absence_alert_is_watching_through_its_first_window(
    admin_client, org, connected_service
):
    alert = _alert(
        org,
        connected_service,
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=10,
        counting_since=timezone.now(),
    )
    page = _page(admin_client, alert)
    can_fire = alert.counting_since + timedelta(minutes=10)
    assert 'data-state="waiting"' in page and "<h2>Waiting</h2>" in page
    assert (
        "Its first full window (10 minutes) ends at "
        f'<strong><time datetime="{can_fire:%Y-%m-%dT%H:%M:%SZ}"'
    ) in page
    assert "it can fire from then. An absence alert counts for one full window first." in page
    assert f">{can_fire:%-d %b %H:%M:%S}</time></strong>" in page
    assert "Fewer than 1 matching event in 10 minutes" in page
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert ">Waiting</span>" in listing
    assert f'can fire from <time datetime="{can_fire:%Y-%m-%dT%H:%M:%SZ}"' in listing
    assert f">{can_fire:%H:%M}</time>" in listing
    # Once a whole window has been counted, it is OK (no event missing yet in this test).
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now() - timedelta(minutes=11))
    page = _page(admin_client, alert)
    assert 'data-state="ok"' in page and "it fires below 1" in page


def test_a_restarted_count_says_since_when(admin_client, org, connected_service, form_data):
    alert = _alert(org, connected_service)
    alert.restart_counting()
    alert.save()
    page = _page(admin_client, alert)
    assert 'data-state="counting"' in page
    since = alert.counting_since
    assert f'Counting since <time datetime="{since:%Y-%m-%dT%H:%M:%SZ}"' in page
    assert f">{since:%-d %b %H:%M:%S}</time>" in page
    assert "events before it don't count" in page


def test_a_disabled_alert_says_so(admin_client, org, connected_service):
    alert = _alert(org, connected_service, enabled=False)
    page = _page(admin_client, alert)
    assert 'data-state="disabled"' in page
    assert "It is not counting events and will not page." in page
    assert ">Enable</button>" in page


def test_cleared_firings_show_when_why_and_what_was_sent(admin_client, firing_alert):
    firing = Firing.objects.get()
    Firing.objects.filter(pk=firing.pk).update(opened_at=firing.opened_at - timedelta(minutes=8))
    admin_client.post(
        f"/o/{firing_alert.organization.slug}/alerts/{firing_alert.pk}/toggle/", {"enabled": "0"}
    )
    page = _page(admin_client, firing_alert)
    row = page[page.index(f'id="firing-{firing.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Alert disabled" in row and "Still firing" not in row
    assert "8 min" in row
    assert "1 trigger, " in row and " · 1 resolve" in row  # each shows when the row opens
    opened = _page(admin_client, firing_alert, f"?sent={firing.pk}")
    row = opened[opened.index(f'id="firing-{firing.pk}"') :]
    row = row[: row.index("</tr>")]
    # One entry for the service: its trigger, and the resolve with the reason it was sent.
    assert row.count("<strong>Checkout API 001</strong>") == 1
    assert row.count(">Trigger queued</a>") == 1
    assert row.count(">Resolve queued (alert disabled)</a>") == 1


def test_at_most_twenty_firings_are_listed(admin_client, org, connected_service):
    alert = _alert(org, connected_service)
    now = timezone.now()
    Firing.objects.bulk_create(
        [
            Firing(
                organization=org,
                alert=alert,
                opened_at=now - timedelta(hours=n + 1),
                cleared_at=now - timedelta(hours=n + 1) + timedelta(minutes=5),
                clear_reason=Firing.ClearReason.CLEARED,
                count_at_open=3,
                count_at_clear=0,
            )
            for n in range(23)
        ]
    )
    page = _page(admin_client, alert)
    assert page.count('id="firing-') == 20
    assert "The latest 20 of 23 firings." in page
    assert "Nothing sent: no PagerDuty service to page." in page


def test_the_page_stands_when_the_counts_cannot_be_read(admin_client, firing_alert, monkeypatch):
    def down(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(history, "window_series", down)
    page = _page(admin_client, firing_alert)
    assert "FIRING since" in page
    assert "The event counts can't be read right now" in page
    assert "alert-chart-data" not in page and "No matching events yet." not in page


# -- Disable, enable, delete ---------------------------------------------------------------


def test_disabling_clears_the_firing_and_resolves_with_the_trigger_key(
    admin_client, org, firing_alert
):
    before = firing_alert.updated_at
    response = admin_client.post(
        f"/o/{org.slug}/alerts/{firing_alert.pk}/toggle/", {"enabled": "0"}, follow=True
    )
    assert (
        "disabled. Its open incident is being resolved in PagerDuty." in response.content.decode()
    )
    firing_alert.refresh_from_db()
    assert not firing_alert.enabled
    assert firing_alert.updated_at > before  # the ingest path recompiles on this
    firing = Firing.objects.get()
    assert firing.clear_reason == Firing.ClearReason.DISABLED and not firing.is_open
    [resolve] = resolves_of(firing)
    assert resolve.status == Delivery.Status.QUEUED
    assert resolve.alert_id == firing_alert.pk
    # A second "disable" (a double click) changes nothing.
    admin_client.post(f"/o/{org.slug}/alerts/{firing_alert.pk}/toggle/", {"enabled": "0"})
    firing_alert.refresh_from_db()
    assert not firing_alert.enabled
    assert Delivery.objects.filter(event_action=EventAction.RESOLVE).count() == 1


def test_a_disabled_alert_counts_nothing_and_enabling_starts_afresh(
    admin_client, org, connected_service
):
    alert = _alert(org, connected_service)
    admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/toggle/", {"enabled": "0"})
    assert _events(org, 5) == []
    alert.refresh_from_db()
    generation, since = alert.generation, alert.counting_since
    response = admin_client.post(
        f"/o/{org.slug}/alerts/{alert.pk}/toggle/", {"enabled": "1", "from": "detail"}
    )
    assert response["Location"] == f"/o/{org.slug}/alerts/{alert.pk}/"
    alert.refresh_from_db()
    assert alert.enabled and alert.generation == generation + 1
    assert alert.counting_since > since
    assert not Firing.objects.exists()
    [firing] = _events(org, 3)  # the ingest path sees it enabled again at once
    assert firing.alert_id == alert.pk


def test_the_toggle_without_a_wanted_state_flips(admin_client, org, connected_service):
    alert = _alert(org, connected_service)
    admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/toggle/")
    alert.refresh_from_db()
    assert not alert.enabled
    admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/toggle/")
    alert.refresh_from_db()
    assert alert.enabled


def test_the_delete_page_warns_that_the_open_incident_is_resolved(admin_client, org, firing_alert):
    page = admin_client.get(f"/o/{org.slug}/alerts/{firing_alert.pk}/delete/").content.decode()
    assert "It is firing now" in page
    assert "Deleting it resolves its open incident in PagerDuty." in page
    assert "Yes, delete" in page


def test_deleting_a_firing_alert_resolves_its_incident(admin_client, org, firing_alert):
    firing = Firing.objects.get()
    trigger = Delivery.objects.get(event_action=EventAction.TRIGGER)
    response = admin_client.post(f"/o/{org.slug}/alerts/{firing_alert.pk}/delete/", follow=True)
    assert "Its open incident is being resolved in PagerDuty." in response.content.decode()
    assert not Alert.objects.exists() and not Firing.objects.filter(pk=firing.pk).exists()
    resolve = Delivery.objects.get(event_action=EventAction.RESOLVE)
    assert resolve.dedup_key == trigger.dedup_key
    assert resolve.routing_key == trigger.routing_key
    assert resolve.status == Delivery.Status.QUEUED  # it still goes out
    assert resolve.alert_id is None  # the history outlives the alert


def test_deleting_a_quiet_alert_sends_nothing(admin_client, org, connected_service):
    alert = _alert(org, connected_service)
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/delete/").content.decode()
    assert "It is firing now" not in page
    admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/delete/")
    assert not Alert.objects.exists() and not Delivery.objects.exists()


# -- The list ------------------------------------------------------------------------------


def test_the_list_puts_firing_alerts_first_and_counts_them(admin_client, org, connected_service):
    calm = _alert(org, connected_service, name="A calm alert", match_app="search")
    burning = _alert(org, connected_service, name="Z burning alert")
    off = _alert(org, connected_service, name="B disabled", enabled=False)
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "No alert is firing." in listing
    assert listing.index(f'id="alert-{calm.pk}"') < listing.index(f'id="alert-{burning.pk}"')

    _events(org, 3)
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "1 alert is firing." in listing
    rows = [int(pk) for pk in re.findall(r'<tr id="alert-(\d+)">', listing)]
    assert rows == [burning.pk, calm.pk, off.pk]
    states = dict(re.findall(r'<tr id="alert-(\d+)">.*?data-state="(\w+)"', listing, re.S))
    assert states == {str(burning.pk): "firing", str(calm.pk): "ok", str(off.pk): "disabled"}
    row = listing[listing.index(f'id="alert-{burning.pk}"') :]
    assert ">Firing</span>" in row[: row.index("</tr>")] and "since" in row[: row.index("</tr>")]
    # The disable button of a firing alert asks first: it resolves the incident.
    assert "is firing. Disabling it resolves its incident in PagerDuty." in row


def test_the_list_counts_several_firing_alerts(admin_client, org, connected_service):
    _alert(org, connected_service, name="One")
    _alert(org, connected_service, name="Two", threshold=2)
    _events(org, 3)
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "2 alerts are firing." in listing
