"""Getting started lists its steps in the order a new organization can take them: an alert
needs a PagerDuty service to page (its form refuses one without), an event needs an ingest
key, and the test that a page reaches PagerDuty comes last, once the path is all there."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from tests.alerts.conftest import alert_form

pytestmark = pytest.mark.django_db
ORDER = ["pagerduty", "ingest-key", "first-event", "first-alert", "test-alert"]


def test_the_steps_come_in_the_order_they_can_be_done(
    dashboard: Callable[..., str], org: Organization, admin_client: Client
) -> None:
    page = dashboard()
    assert re.findall(r'data-step="([\w-]+)"', page) == ORDER
    steps = page[page.index('id="getting-started"') : page.index('id="team-line"')]
    todo = re.findall(r"<strong>([^<]+)</strong></a>", steps)
    assert todo == [
        "Connect PagerDuty",
        "Create an ingest key",
        "Send your first event",
        "Define your first alert",
        "Send a test event",
    ]
    # Why PagerDuty is first: an alert can't be made before a service exists to page.
    refused = admin_client.post(f"/o/{org.slug}/alerts/new/", alert_form([]))
    assert "Choose at least one PagerDuty service to page." in refused.content.decode()
    assert not Alert.objects.filter(organization=org).exists()
