"""A resolve that failed for good leaves its incident open in PagerDuty while Tripwire says
"Resolved": the firing's row, the dashboard's failed deliveries and the organization's
deletion page say so, as far as Tripwire knows. The sandbox refuses the resolve because the
integration was removed there, as a person would."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.incidents.models import Incident, IncidentStatus
from integrations.pagerduty.left_open import left_open
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService

pytestmark = pytest.mark.django_db(transaction=True)
OPEN_WORDS = "the incident in Checkout API 001 is still open in PagerDuty"
LISTED = "The incident in Checkout API 001 is still open in PagerDuty"  # as a list says it


def _fired_and_cleared(org, service: PagerDutyService, pagerduty) -> tuple[Alert, Firing]:
    """A firing whose trigger paged, then whose resolve PagerDuty refused (the integration
    was removed in PagerDuty meanwhile)."""
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.set([service])
    with transaction.atomic():
        firing = firings.open_firing(alert, 5, timezone.now())
    assert firing is not None
    trigger = firing.deliveries.get(event_action=EventAction.TRIGGER)
    assert engine.attempt(trigger.pk) == Delivery.Status.DELIVERED
    pagerduty.remove_integration(service.integration_id)
    with transaction.atomic():
        assert firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now())
    resolve = firing.deliveries.get(event_action=EventAction.RESOLVE)
    assert engine.attempt(resolve.pk) == Delivery.Status.FAILED
    return alert, firing


def _incident(org, service, firing: Firing, status: str) -> Incident:
    """What PagerDuty's incidents webhook said of the firing's incident."""
    trigger = firing.deliveries.get(event_action=EventAction.TRIGGER)
    return Incident.objects.create(
        organization=org,
        service=service,
        pd_incident_id="PINC001",
        dedup_key=trigger.dedup_key,
        html_url="https://acme.pagerduty.com/incidents/PINC001",
        status=status,
        status_changed_at=timezone.now(),
    )


def test_a_failed_resolve_says_the_incident_stays_open_in_pagerduty(
    org, connected_service, pagerduty, admin_client
):
    alert, firing = _fired_and_cleared(org, connected_service, pagerduty)

    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    row = page[page.index(f'id="firing-{firing.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Resolved in Tripwire; " + OPEN_WORDS in row
    assert "unless someone resolved it there" in row  # no webhook: Tripwire can't know more

    dashboard = admin_client.get(f"/o/{org.slug}/").content.decode()
    item = dashboard[dashboard.index('id="failed-deliveries"') :]
    assert "Resolve to Checkout API 001" in item and LISTED in item
    listing = admin_client.get(f"/o/{org.slug}/deliveries/failed/").content.decode()
    assert LISTED in listing

    deletion = admin_client.get(f"/o/{org.slug}/settings/delete/").content.decode()
    assert 'id="left-open"' in deletion and LISTED in deletion

    # The incidents webhook says it is open: said plainly, with its link.
    _incident(org, connected_service, firing, IncidentStatus.TRIGGERED)
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "Resolved in Tripwire; " + OPEN_WORDS + ": resolve it there." in page
    assert 'href="https://acme.pagerduty.com/incidents/PINC001"' in page


def test_an_incident_resolved_since_is_not_said_to_be_open(
    org, connected_service, pagerduty, admin_client
):
    alert, firing = _fired_and_cleared(org, connected_service, pagerduty)
    _incident(org, connected_service, firing, IncidentStatus.RESOLVED)  # resolved in PagerDuty
    assert left_open(org.pk) == []
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "data-left-open" not in page
    deletion = admin_client.get(f"/o/{org.slug}/settings/delete/").content.decode()
    assert 'id="left-open"' not in deletion


def test_a_later_resolve_that_got_through_closes_it_and_other_organizations_see_nothing(
    org, connected_service, pagerduty, make_org, make_user
):
    _alert, firing = _fired_and_cleared(org, connected_service, pagerduty)
    [left] = left_open(org.pk)
    assert left.firing_id == firing.pk and not left.known_open
    other = make_org("Other Co", owner=make_user("boss@other.example"))
    assert left_open(other.pk) == []

    failed = firing.deliveries.get(event_action=EventAction.RESOLVE)
    Delivery.objects.create(
        organization=org,
        service=connected_service,
        service_name=failed.service_name,
        firing=firing,
        region=failed.region,
        routing_key="r" * 32,
        event_action=EventAction.RESOLVE,
        dedup_key=failed.dedup_key,
        body=failed.body,
        status=Delivery.Status.DELIVERED,
        delivered_at=timezone.now(),
    )
    assert left_open(org.pk) == []
