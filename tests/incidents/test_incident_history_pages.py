"""An alert's whole life on its page and in the list: a cleared firing keeps what happened in
PagerDuty (who acknowledged, notes, who resolved), each delivery of an alert that groups
names its value, the list tells each value's incident apart, and the Resolve button says
what it does while the condition holds. Each read for the whole page at once."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import evaluation, firings
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, GroupBy, Level
from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert, _events

pytestmark = pytest.mark.django_db

Kind = IncidentActivity.Kind


def _trigger(firing: Firing) -> Delivery:
    return Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)


def _incident(trigger: Delivery, pd_id: str, **fields) -> Incident:
    now = timezone.now()
    return Incident.objects.create(
        organization_id=trigger.organization_id,
        service_id=trigger.service_id,
        dedup_key=trigger.dedup_key,
        pd_incident_id=pd_id,
        number=7,
        html_url=f"https://acme.pagerduty.com/incidents/{pd_id}",
        **{"status": "triggered", "status_changed_at": now, **fields},
    )


def _activity(incident: Incident, kind: str, at, agent: str = "", text: str = "") -> None:
    IncidentActivity.objects.create(
        organization_id=incident.organization_id,
        incident=incident,
        kind=kind,
        pd_incident_id=incident.pd_incident_id,
        occurred_at=at,
        agent=agent,
        text=text,
        applied_at=at,
    )


def _fire_and_clear(org, n: int) -> Firing:
    """A firing acknowledged by Olivia in PagerDuty, noted, then cleared by its condition."""
    [firing] = _events(org, 3)
    start = timezone.now() - timedelta(minutes=3)
    cleared = start + timedelta(minutes=2)
    incident = _incident(
        _trigger(firing),
        f"PHIST{n}",
        status="resolved",
        status_changed_at=cleared,
        acknowledged_by="Olivia Oncall",
        acknowledged_at=start + timedelta(seconds=40),
        resolved_by="Checkout API 001",
        resolved_at=cleared,
        resolved_for="cleared",
    )
    _activity(incident, Kind.TRIGGERED, start, "Checkout API 001")
    _activity(incident, Kind.ACKNOWLEDGED, start + timedelta(seconds=40), "Olivia Oncall")
    _activity(incident, Kind.ANNOTATED, start + timedelta(seconds=50), "Olivia Oncall", "On it")
    _activity(incident, Kind.RESOLVED, cleared, "Checkout API 001")
    firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now())
    return firing


def _between(page: str, start: str, end: str) -> str:
    found = re.search(start + ".*?" + end, page, re.S)
    assert found, start
    return found.group(0)


def _table(page: str, start: str) -> str:
    return _between(page, start, "</table>")


def _queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_a_cleared_firing_keeps_what_happened_in_pagerduty(
    admin_client, org, connected_service
) -> None:
    alert = _alert(org, connected_service)
    _fire_and_clear(org, 0)
    url = f"/o/{org.slug}/alerts/{alert.pk}/"
    admin_client.get(url)  # the session and the caches warm
    one, _ = _queries(admin_client, url)
    [cleared] = Firing.objects.filter(alert=alert)
    # A past firing's timeline is shown when it is opened (`?sent=`, as without script).
    page = admin_client.get(f"{url}?sent={cleared.pk}").content.decode()
    firings_table = _table(page, '<table class="compact firings" id="firings">')
    assert "What happened in PagerDuty (4)</summary>" in firings_table
    assert "Acknowledged by Olivia Oncall</li>" in firings_table
    assert "Note added by Olivia Oncall: On it</li>" in firings_table
    assert "Resolved by Tripwire: the condition cleared</li>" in firings_table
    assert "Kept 90 days:" in page  # DELIVERY_RETENTION_DAYS: no longer than that

    for n in (1, 2):
        _fire_and_clear(org, n)
    three, _ = _queries(admin_client, url)
    assert three == one
    for past in Firing.objects.filter(alert=alert):
        page = admin_client.get(f"{url}?sent={past.pk}").content.decode()
        firings_table = _table(page, '<table class="compact firings" id="firings">')
        assert firings_table.count("What happened in PagerDuty (4)") == 1


def test_a_firing_older_than_retention_does_not_claim_nothing_was_sent(
    admin_client, org, connected_service
) -> None:
    alert = _alert(org, connected_service)
    [firing] = _events(org, 3)
    firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now())
    Delivery.objects.filter(firing=firing).delete()  # pruned: sent over 90 days ago
    Firing.objects.filter(pk=firing.pk).update(opened_at=timezone.now() - timedelta(days=91))
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    firings_table = _table(page, '<table class="compact firings" id="firings">')
    assert "Nothing sent" not in firings_table
    assert "What was sent, if anything, is no longer kept (90 days)." in firings_table


def _host_events(org, *hosts: str) -> list[Firing]:
    events = [
        Event(timestamp=time.time(), app="checkout", source=host, level=Level.ERROR)
        for host in hosts
        for _ in range(3)
    ]
    return evaluation.record(org.pk, events)


def test_each_delivery_of_an_alert_that_groups_names_its_value(
    admin_client, org, connected_service
) -> None:
    alert = _alert(org, connected_service, group_by=GroupBy.SOURCE)
    _host_events(org, "web-1", "web-2")
    url = f"/o/{org.slug}/alerts/{alert.pk}/"
    admin_client.get(url)
    two, page = _queries(admin_client, url)
    deliveries = _table(page, '<table class="deliveries">')
    for host in ("web-1", "web-2"):
        assert f'<small class="delivery-group">Source <code>{host}</code></small>' in deliveries
    _host_events(org, "web-3", "web-4")
    four, page = _queries(admin_client, url)
    assert _table(page, '<table class="deliveries">').count('class="delivery-group"') == 4
    assert four == two


def test_the_list_tells_each_values_incident(admin_client, org, connected_service) -> None:
    _alert(org, connected_service, group_by=GroupBy.SOURCE)
    web1, web2 = sorted(_host_events(org, "web-1", "web-2"), key=lambda f: f.group)
    Firing.objects.filter(pk=web1.pk).update(opened_at=timezone.now() - timedelta(seconds=5))
    four_min_ago = timezone.now() - timedelta(minutes=4, seconds=5)
    now = timezone.now()
    _incident(
        _trigger(web1),
        "PWEB1",
        status="acknowledged",
        status_changed_at=four_min_ago,
        acknowledged_by="Olivia Oncall",
        acknowledged_at=four_min_ago,
    )
    _incident(
        _trigger(web2),
        "PWEB2",
        status="resolved",
        status_changed_at=now,
        resolved_by="Olivia Oncall",
        resolved_at=now,
    )
    url = f"/o/{org.slug}/alerts/"
    admin_client.get(url)
    two, page = _queries(admin_client, url)
    assert (
        "web-1 acknowledged by Olivia Oncall 4\xa0minutes ago · "
        "web-2 resolved in PagerDuty by Olivia Oncall just now"
    ) in page

    for firing in _host_events(org, "web-3", "web-4", "web-5"):
        _incident(_trigger(firing), f"P{firing.group}")
    five, page = _queries(admin_client, url)
    assert five == two
    [line] = re.findall(r'<small class="incident-note-line">(.*?)</small>', page)
    assert line.endswith(" · and 2 more")
    assert line.count(" · ") == 3  # three values told, then how many more
    assert Alert.objects.count() == 1


def test_resolve_here_says_it_fires_again_while_the_condition_holds(
    admin_client, org, connected_service
) -> None:
    alert = _alert(org, connected_service)
    _events(org, 3)
    url = f"/o/{org.slug}/alerts/{alert.pk}/"
    page = admin_client.get(url).content.decode()
    form = _between(page, '<form [^>]*id="resolve-firing"', "</form>")
    assert '<button type="submit" class="secondary outline">Resolve and page again</button>' in form
    assert (
        "Resolve here: it fires again at the next check, as its condition "
        "still holds, and pages again with a new incident."
    ) in form


def test_resolve_here_is_the_main_button_once_the_condition_cleared(
    admin_client, org, connected_service
) -> None:
    alert = _alert(org, connected_service, auto_resolve=False)
    [firing] = _events(org, 3)
    Firing.objects.filter(pk=firing.pk).update(condition_cleared_at=timezone.now())
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    form = _between(page, '<form [^>]*id="resolve-firing"', "</form>")
    assert '<button type="submit" class="secondary">Resolve</button>' in form
    assert "Resolve here:" not in form
