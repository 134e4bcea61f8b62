"""An acknowledgement is the alert's only when every service its firing paged acknowledged:
the alert list and the dashboard otherwise say each service's own state, so "Acknowledged by
Sam" never hides a service still triggered, or one Tripwire can't know of (a pasted key)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.alerts.test_alert_page import _alert, _events
from tests.incidents.test_incident_pages import _get, _incident
from tests.incidents.test_incident_state_once import NOTE
from tests.pagerduty_fixtures import connect_service

pytestmark = pytest.mark.django_db

AGO = "4\xa0minutes ago"
PASTED = "Edge Gateway (pasted): not known (a pasted key tells Tripwire nothing back)"


@pytest.fixture
def pasted(make_service) -> PagerDutyService:
    service = make_service()  # a key pasted for a sandbox service: no account
    service.name = "Edge Gateway (pasted)"
    service.save(update_fields=["name"])
    return service


@pytest.fixture
def edge(connected_service, pagerduty) -> PagerDutyService:
    """Another service of the connected account."""
    assert connected_service.account is not None
    pd_service = next(s for s in pagerduty.account("us")["services"] if s["name"] == "Edge Gateway")
    return connect_service(connected_service.account, pd_service, pagerduty)


def _fire(org, services, app: str = "checkout", name: str = "Checkout errors") -> dict:
    """An alert paging `services`, firing: its trigger per service, by service."""
    alert = _alert(org, None, name=name, match_app=app)
    alert.targets.add(*services)
    [firing] = _events(org, 3, app=app)
    triggers = Delivery.objects.filter(firing=firing, event_action=EventAction.TRIGGER)
    return {t.service_id: t for t in triggers}


def _acknowledged(trigger: Delivery, number: int = 42, by: str = "Sam Second") -> None:
    when = timezone.now() - timedelta(minutes=4, seconds=5)
    _incident(
        trigger,
        pd_incident_id=f"PINC{number}",
        number=number,
        status="acknowledged",
        status_changed_at=when,
        acknowledged_by=by,
        acknowledged_at=when,
    )


def _notes(client, org) -> tuple[list[str], list[str]]:
    """The incident line of the alert list, and of the dashboard."""
    base = f"/o/{org.slug}"
    return NOTE.findall(_get(client, f"{base}/alerts/")), NOTE.findall(_get(client, f"{base}/"))


def test_one_acknowledged_beside_a_pasted_key_says_the_other_is_not_known(
    admin_client, org, connected_service, pasted
) -> None:
    triggers = _fire(org, [connected_service, pasted])
    _acknowledged(triggers[connected_service.pk])
    line = f"Acknowledged in Checkout API 001 by Sam Second {AGO}; {PASTED}"
    assert _notes(admin_client, org) == ([line], [line])


def test_one_acknowledged_beside_one_still_triggered_says_so(
    admin_client, org, connected_service, edge
) -> None:
    triggers = _fire(org, [connected_service, edge])
    _acknowledged(triggers[connected_service.pk])
    _incident(
        triggers[edge.pk],
        pd_incident_id="PINC43",
        number=43,
        status="triggered",
        assignees=["Alice Oncall"],
        status_changed_at=timezone.now() - timedelta(minutes=9),
    )
    line = (
        f"Acknowledged in Checkout API 001 by Sam Second {AGO}; "
        "Edge Gateway: still triggered, assigned to Alice Oncall"
    )
    assert _notes(admin_client, org) == ([line], [line])


def test_every_service_acknowledged_keeps_the_one_line(
    admin_client, org, connected_service, edge
) -> None:
    triggers = _fire(org, [connected_service, edge])
    _acknowledged(triggers[connected_service.pk])
    _acknowledged(triggers[edge.pk], number=43)
    line = f"Acknowledged by Sam Second {AGO}"
    assert _notes(admin_client, org) == ([line], [line])


def test_more_alerts_firing_on_several_services_cost_no_more_queries(
    admin_client, org, connected_service, pasted
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            _notes(admin_client, org)
        return len(captured)

    _acknowledged(_fire(org, [connected_service, pasted])[connected_service.pk])
    one = queries()
    for n, app in enumerate(("payments", "search"), start=1):
        _acknowledged(
            _fire(org, [connected_service, pasted], app=app, name=f"{app} errors")[
                connected_service.pk
            ],
            number=42 + n,
        )
    assert queries() == one
    lines = _notes(admin_client, org)
    assert all(len(shown) == 3 and all(PASTED in line for line in shown) for shown in lines)
