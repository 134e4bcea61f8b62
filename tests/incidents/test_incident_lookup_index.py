"""The incidents of a page's deliveries are found by (organization, dedup key), from their
own index, not by scanning every incident of the organization's services; and a key two
services share still finds each service's own incident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.history_rows import copies, scans

pytestmark = pytest.mark.django_db


def _service(org: Organization, name: str, key: str) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, name=name, region="us", integration_key=key * 32
    )


def _trigger(service: PagerDutyService, dedup_key: str) -> Delivery:
    """A delivery as a page holds it (only what the lookup reads)."""
    return Delivery(
        organization_id=service.organization_id,
        service=service,
        dedup_key=dedup_key,
        event_action=EventAction.TRIGGER,
    )


def test_a_pages_incidents_are_found_by_their_keys_index(org):
    checkout, payments = _service(org, "Checkout", "a"), _service(org, "Payments", "b")
    for service in (checkout, payments):
        seed = Incident.objects.create(
            organization=org,
            service=service,
            pd_incident_id=f"P{service.pk}",
            dedup_key="k",
            status="resolved",
            status_changed_at=timezone.now(),
        )
        # 25,000 incidents each, with keys k-1 ... k-25000 in both services.
        copies(seed, 25_000, every=timedelta(minutes=1), numbered=["pd_incident_id", "dedup_key"])
    page = [_trigger(checkout, f"k-{n}") for n in range(1, 290)] + [_trigger(payments, "k-7")]

    with CaptureQueriesContext(connection) as read:
        found = incidents_of(org.pk, page)

    assert len(found) == 290
    assert found[(checkout.pk, "k-7")].pd_incident_id == f"P{checkout.pk}-7"
    assert found[(payments.pk, "k-7")].pd_incident_id == f"P{payments.pk}-7"
    assert (payments.pk, "k-8") not in found  # not on the page
    [sql] = [q["sql"] for q in read.captured_queries]
    used = scans(sql, "pagerduty_incidents_incident")
    assert used and all(index == "incident_by_org_key" for _, index in used), used
