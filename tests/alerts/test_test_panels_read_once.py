"""The alert form's test panels (one a target service) read their test incidents and
PagerDuty's incidents once for all panels (`pagerduty.panels`), not a query a panel: the
edit page's second tap costs the same queries with five target services as with one, each
with a test alert PagerDuty took and an incident it told of; each panel still says where
its incident stands and when it resolves itself."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.pagerduty import delivery as engine
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.alerts.test_alert_page import _alert
from tests.pagerduty_fixtures import connect_service

pytestmark = pytest.mark.django_db


def _services(connected: PagerDutyService, pagerduty, n: int) -> list[PagerDutyService]:
    us = pagerduty.account("us")["services"]
    others = [s for s in us if s["name"] != connected.name][: n - 1]
    return [connected, *(connect_service(connected.account, s, pagerduty) for s in others)]


def _tested(client, url: str, data: dict[str, object]) -> None:
    """A test alert to each target, taken by PagerDuty, whose incident PagerDuty told of."""
    before = set(Delivery.objects.values_list("pk", flat=True))
    assert client.post(url, data).status_code == 200
    sent = Delivery.objects.filter(event_action=EventAction.TRIGGER).exclude(pk__in=before)
    for trigger in sent:
        assert engine.attempt(trigger.pk) == Delivery.Status.DELIVERED
        trigger.refresh_from_db()
        Incident.objects.create(
            organization_id=trigger.organization_id,
            service_id=trigger.service_id,
            dedup_key=trigger.dedup_key,
            pd_incident_id=f"PT{trigger.pk}",
            number=trigger.pk,
            html_url=f"https://acme.pagerduty.com/incidents/PT{trigger.pk}",
            status="acknowledged",
            status_changed_at=timezone.now(),
            acknowledged_by="Olivia Oncall",
            acknowledged_at=timezone.now(),
        )


def _panels_page(client, url: str, data: dict[str, object]) -> tuple[str, int]:
    """The second tap: nothing sent again, each target's open test shown in its panel."""
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, data)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_test_panels_cost_the_same_queries_for_one_service_or_five(
    admin_client, org, connected_service, form_data, pagerduty
):
    services = _services(connected_service, pagerduty, 5)
    url = f"/o/{org.slug}/alerts/test/"
    one = _alert(org, services[0], name="Checkout errors")
    one_data = form_data([services[0].pk], alert_id=str(one.pk))
    _tested(admin_client, url, one_data)
    _panels_page(admin_client, url, one_data)  # the session and the caches warm
    page, with_one = _panels_page(admin_client, url, one_data)
    assert page.count('class="pd-incident"') == 1

    five = _alert(org, services[0], name="Payments errors")
    five.targets.set(services)
    five_data = form_data([s.pk for s in services], alert_id=str(five.pk), name="Payments errors")
    _tested(admin_client, url, five_data)
    page, with_five = _panels_page(admin_client, url, five_data)
    assert page.count('class="pd-incident"') == 5
    assert with_five == with_one

    trigger = Delivery.objects.get(alert=five, service=services[4], event_action="trigger")
    start = page.index(f'id="delivery-{trigger.pk}"')
    panel = page[start : page.index("</article>", start)]
    assert f"Test trigger to {services[4].name}" in panel
    assert 'data-incident-status="acknowledged"' in panel
    assert "Acknowledged</span> by Olivia Oncall just now." in panel
    assert f"Incident #{trigger.pk} in PagerDuty" in panel
    assert 'data-auto-resolve="scheduled"' in panel
    assert "The test incident resolves itself at" in panel
    assert "Resolve test incident" in panel
