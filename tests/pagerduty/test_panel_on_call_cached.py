"""The delivery panel a page polls every few seconds until a test incident is resolved
reads who the service pages at most every CACHED_SECONDS, not on every poll, and shows a
new reading at once: a refresh that writes one forgets the cached one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.incidents import oncall
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.tenant_objects import _delivery

pytestmark = pytest.mark.django_db


def test_the_panel_reads_on_call_once_for_many_polls_and_a_new_reading_at_once(
    admin_client: Client,
    org: Organization,
    connected_service: PagerDutyService,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    OnCallNow.objects.create(
        organization_id=org.pk,
        service=connected_service,
        escalation_policy="Default",
        names=["Erin Earlier"],
        checked_at=timezone.now(),
    )
    trigger = _delivery(org, org.memberships.get().user)  # a test trigger PagerDuty took
    assert isinstance(trigger, Delivery) and trigger.service_id == connected_service.pk
    url = f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/"

    def poll() -> str:
        response = admin_client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        return response.content.decode()

    with CaptureQueriesContext(connection) as captured:
        panels = [poll() for _ in range(5)]
    assert all("it pages Erin Earlier." in panel for panel in panels)
    readings = [q for q in captured.captured_queries if "oncallnow" in q["sql"]]
    assert len(readings) == 1, [q["sql"] for q in readings]

    with django_capture_on_commit_callbacks(execute=True):
        oncall.refresh([connected_service.pk])  # the sandbox's schedule: Olivia Oncall
    assert "it pages Olivia Oncall." in poll()
