"""PagerDuty's side of a firing on Tripwire's pages: the alert page (and its fast-refreshing
targets), the alert list and the dashboard say who acknowledged or resolved the incident;
a pasted-key service says what it takes to see that."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import firings
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert, _events

pytestmark = pytest.mark.django_db


@pytest.fixture
def firing(org, connected_service):
    alert = _alert(org, connected_service)
    [firing] = _events(org, 3)
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    return alert, trigger


def _incident(trigger: Delivery, **fields) -> Incident:
    now = timezone.now()
    defaults = {
        "pd_incident_id": "PINC42",
        "number": 42,
        "html_url": "https://acme.pagerduty.com/incidents/PINC42",
        "status": "triggered",
        "status_changed_at": now,
    }
    return Incident.objects.create(
        organization_id=trigger.organization_id,
        service_id=trigger.service_id,
        dedup_key=trigger.dedup_key,
        **{**defaults, **fields},
    )


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_an_acknowledged_incident_shows_who_and_when_everywhere(admin_client, org, firing) -> None:
    alert, trigger = firing
    four_min_ago = timezone.now() - timedelta(minutes=4, seconds=5)
    _incident(
        trigger,
        status="acknowledged",
        status_changed_at=four_min_ago,
        acknowledged_by="Alice Oncall",
        acknowledged_at=four_min_ago,
    )
    words = "Acknowledged by Alice Oncall 4\xa0minutes ago"
    page = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/")
    assert words in page
    assert 'href="https://acme.pagerduty.com/incidents/PINC42"' in page
    assert "Resolve in PagerDuty" in page and ">Acknowledge<" not in page
    targets = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/live/targets/")
    assert 'id="firing-targets"' in targets  # its badge says Acknowledged; then the rest
    assert '<span class="incident-words">by Alice Oncall 4\xa0minutes ago.</span>' in targets
    assert words in _get(admin_client, f"/o/{org.slug}/alerts/")
    assert words in _get(admin_client, f"/o/{org.slug}/")


def test_a_triggered_incident_offers_acknowledge_and_names_the_assignee(
    admin_client, org, firing
) -> None:
    alert, trigger = firing
    _incident(trigger, assignees=["Alice Oncall"])
    page = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/")
    assert "Triggered: assigned to Alice Oncall" in page
    assert ">Acknowledge<" in page and "Add a note" in page


def test_resolved_in_pagerduty_while_the_condition_holds_says_what_happens_next(
    admin_client, org, firing
) -> None:
    alert, trigger = firing
    now = timezone.now()
    _incident(
        trigger, status="resolved", status_changed_at=now, resolved_by="Bob Lead", resolved_at=now
    )
    page = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/")
    assert "Resolved in PagerDuty by Bob Lead just now" in page
    assert "Tripwire will not page about this firing again" in page
    assert "Resolve in PagerDuty" not in page


def test_before_pagerduty_reports_the_page_says_so(admin_client, org, firing) -> None:
    alert, trigger = firing
    trigger.status = Delivery.Status.DELIVERED
    trigger.save(update_fields=["status"])
    page = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/")
    assert "PagerDuty has not reported on the incident yet." in page


def test_a_pasted_key_service_says_incident_updates_need_oauth(admin_client, org, firing) -> None:
    alert, trigger = firing
    trigger.service.account = None
    trigger.service.save(update_fields=["account"])
    trigger.status = Delivery.Status.DELIVERED
    trigger.save(update_fields=["status"])
    page = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/")
    assert "can't see this incident (the service was added with a pasted key)" in page
    connect = f'action="/o/{org.slug}/settings/integrations/pagerduty/connect/"'
    assert connect in page and ">Connect PagerDuty</button>" in page


def test_the_targets_refresh_is_empty_when_nothing_fires(admin_client, org, connected_service):
    alert = _alert(org, connected_service)
    response = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/live/targets/")
    assert response.status_code == 204


def _firing_with_incident(org, service, i: int) -> None:
    _alert(org, service, name=f"Alert {i}", match_app=f"app{i}")
    [firing] = _events(org, 3, app=f"app{i}")
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    _incident(trigger, pd_incident_id=f"P{i}")


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_incidents_of_a_page_cost_no_query_per_alert(admin_client, org, connected_service):
    """One firing alert or ten: the list and the dashboard read their incidents in the same
    number of queries."""
    _firing_with_incident(org, connected_service, 0)
    urls = (f"/o/{org.slug}/alerts/", f"/o/{org.slug}/")
    admin_client.get(urls[0])  # the session and the caches warm
    one = [_queries(admin_client, url) for url in urls]
    for i in range(1, 10):
        _firing_with_incident(org, connected_service, i)
    assert [_queries(admin_client, url) for url in urls] == one
    page = admin_client.get(urls[0]).content.decode()
    assert page.count("Triggered: nobody assigned") == 10


def test_a_test_alerts_panel_shows_its_incident(admin_client, org, connected_service) -> None:
    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{connected_service.pk}/test/"
    assert admin_client.post(url, {"confirm": "1"}, HTTP_HX_REQUEST="true").status_code == 200
    trigger = Delivery.objects.get(event_action="trigger", is_test=True)
    trigger.status = Delivery.Status.DELIVERED
    trigger.save(update_fields=["status"])
    now = timezone.now()
    _incident(trigger, status="acknowledged", acknowledged_by="Olivia Oncall", acknowledged_at=now)
    panel = _get(admin_client, f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/")
    assert "Acknowledged</span> by Olivia Oncall just now." in panel
    assert "Incident #42 in PagerDuty" in panel


def test_resolved_in_pagerduty_pages_again_only_when_it_fires_anew(org, firing) -> None:
    """More events while the condition holds send nothing; after it clears, the next
    firing pages with a new dedup key (a new incident)."""
    alert, trigger = firing
    now = timezone.now()
    _incident(trigger, status="resolved", status_changed_at=now, resolved_at=now)
    _events(org, 5)
    triggers = Delivery.objects.filter(event_action=EventAction.TRIGGER)
    assert list(triggers) == [trigger]
    firings.clear_firing(trigger.firing, "cleared", timezone.now())
    [again] = _events(org, 3)
    assert again.alert_id == alert.pk and again.pk != trigger.firing_id
    new = triggers.exclude(pk=trigger.pk).get()
    assert new.dedup_key != trigger.dedup_key
