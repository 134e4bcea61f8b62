"""A change made on the PagerDuty settings pages brings the paging problems up to date
once per request: the page does it at once (the banner of the page shown next reads the
rows) in the name of the person who made the change, and the end of the request, which
would do it again for the same change, does not; a change made after that still is."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts_saas.accounts.models import Organization, User
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.models import PagingProblem
from integrations.pagerduty import removal
from integrations.pagerduty.models import PagerDutyService

pytestmark = pytest.mark.django_db


def _rows_read(queries: list[dict[str, str]]) -> int:
    """How many times the request read the organization's open problem rows to update
    them (`reconcile.update_rows`; the banner reads only the worst)."""
    return sum(
        1
        for q in queries
        if q["sql"].startswith('SELECT "notices_pagingproblem"."id"')
        and '"notices_pagingproblem"."resolved_at" IS NULL' in q["sql"]
    )


def test_deleting_a_service_brings_the_problems_up_to_date_once_in_her_name(
    admin_client: Client, org: Organization
) -> None:
    service = PagerDutyService.objects.create(
        organization=org, name="Checkout", region="us", integration_key="a" * 32
    )
    edge = Alert.objects.create(organization=org, name="Edge heartbeat", threshold=1)
    edge.targets.add(service)
    seen = ",".join(map(str, removal.plan_service_removal(service).orphan_ids))
    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/delete/"

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.post(url, {"seen": seen, "alerts": "nobody"})
    assert response.status_code == 302

    assert _rows_read(captured.captured_queries) == 1
    # Both still done: the rows are up to date for the next page, and the problem is hers.
    problem = PagingProblem.objects.open().get(organization=org, key=f"nobody:alert:{edge.pk}")
    owner = User.objects.get(memberships__organization=org)
    assert problem.opened_by_id == owner.pk
    page = admin_client.get(response["Location"]).content.decode()
    assert "Edge heartbeat pages nobody" in page
