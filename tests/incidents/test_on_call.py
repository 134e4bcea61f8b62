"""Who a service pages now, from the sandbox's seeded schedules: a name, nobody, or
unknown with PagerDuty's reason; a page asks for a refresh once, in the background."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.pagerduty.incidents import oncall
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import PagerDutyService

pytestmark = pytest.mark.django_db


def _refreshed(service: PagerDutyService) -> OnCallNow:
    OnCallNow.objects.get_or_create(organization_id=service.organization_id, service=service)
    oncall.refresh([service.pk])
    return OnCallNow.objects.get(service=service)


def test_the_first_level_of_the_services_policy_is_on_call(connected_service) -> None:
    now = _refreshed(connected_service)
    assert now.names == ["Olivia Oncall"]  # level 2 (Sam Second) is not paged first
    assert now.escalation_policy == "Default" and now.problem == ""


def test_a_policy_with_nobody_on_call_says_nobody(connected_service, pagerduty) -> None:
    ledger = next(s for s in pagerduty.account("us")["services"] if s["name"] == "General Ledger")
    connected_service.pd_service_id = ledger["id"]
    connected_service.save(update_fields=["pd_service_id"])
    now = _refreshed(connected_service)
    assert now.names == [] and now.problem == "" and now.escalation_policy == "Finance"


def test_when_pagerduty_will_not_say_it_is_unknown_in_words(connected_service, pagerduty):
    pagerduty.fault("rest-us", "500", count=10)
    now = _refreshed(connected_service)
    pagerduty.clear_faults()
    assert now.names == [] and now.problem.startswith("PagerDuty did not say who is on call:")


def test_a_page_asks_once_and_then_reads(connected_service) -> None:
    first = oncall.on_call([connected_service])
    # Nothing known yet: the page says it is checking.
    assert first[connected_service.pk].checked_at is None
    row = OnCallNow.objects.get(service=connected_service)
    asked = row.requested_at
    assert asked is not None and row.checked_at is None
    oncall.on_call([connected_service])  # asked moments ago: not asked again
    row.refresh_from_db()
    assert row.requested_at == asked


def test_the_alert_form_says_who_the_chosen_services_page_now(
    admin_client, org, connected_service
) -> None:
    from tests.alerts.test_alert_page import _alert

    alert = _alert(org, connected_service)
    edit = f"/o/{org.slug}/alerts/{alert.pk}/edit/"
    page = admin_client.get(edit).content.decode()
    assert "Who the chosen services page now" in page and "Checking who is on call" in page
    oncall.refresh([connected_service.pk])
    page = admin_client.get(edit).content.decode()
    assert "On call now: Olivia Oncall" in page
    new = admin_client.get(f"/o/{org.slug}/alerts/new/").content.decode()
    assert "Who the chosen services page now" not in new  # nothing chosen yet


def test_asking_for_many_services_costs_the_queries_of_one(connected_service) -> None:
    """The refreshes a page asks for are stamped together, not one update per service."""
    services = [connected_service]
    for n in range(5):
        services.append(
            PagerDutyService.objects.create(
                organization_id=connected_service.organization_id,
                account=connected_service.account,
                name=f"Service {n}",
                region="us",
                pd_service_id=f"PEXTRA{n}",
                integration_key=f"{n}" * 32,
            )
        )
    for service in services:
        OnCallNow.objects.create(organization_id=service.organization_id, service=service)
    with CaptureQueriesContext(connection) as one:
        oncall.on_call(services[:1])
    with CaptureQueriesContext(connection) as six:
        oncall.on_call(services[1:])
    assert len(six) == len(one)
    asked = OnCallNow.objects.filter(service__in=services, requested_at__isnull=False)
    assert asked.count() == 6
    with CaptureQueriesContext(connection) as again:
        oncall.on_call(services)  # asked moments ago: nothing to stamp
    assert not [q for q in again.captured_queries if q["sql"].startswith("UPDATE")]
