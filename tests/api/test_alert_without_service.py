"""Through the API as through the alert form (r18 #3): an alert left with no PagerDuty
service saves without one (PUT, PATCH), with `warnings` saying it pages nobody; a new alert,
and one that has a service, still need one. Answers are checked against the served document
(tests/api_client.py)."""

from __future__ import annotations

import pytest

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyService
from tests.api.conftest import alert_body
from tests.api_client import Api

pytestmark = pytest.mark.django_db

NEEDS_ONE = "Choose at least one PagerDuty service to page."
NOBODY = "It pages nobody: it has no PagerDuty service. Choose one to page."


def test_the_api_saves_it_without_one_as_the_form_does(
    org: Organization, api: Api, service: PagerDutyService
) -> None:
    alert = Alert.objects.create(organization=org, name="Cron heartbeat", threshold=5)
    patched = api.patch(f"/alerts/{alert.pk}", {"name": "Nightly cron"}, status=200).json()
    assert patched["name"] == "Nightly cron" and patched["targets"] == []
    assert patched["warnings"] == [NOBODY]
    put = api.put(f"/alerts/{alert.pk}", alert_body(service, targets=[]), status=200).json()
    assert put["name"] == "Checkout errors" and put["warnings"] == [NOBODY]

    # A new one, and one that has a service, still need one.
    refused = api.post("/alerts", alert_body(service, name="B", targets=[]), status=400)
    assert refused.json()["errors"] == [{"field": "targets", "message": NEEDS_ONE}]
    served = api.patch(f"/alerts/{alert.pk}", {"targets": [service.pk]}, status=200).json()
    assert served["warnings"] == []
    emptied = api.patch(f"/alerts/{alert.pk}", {"targets": []}, status=400).json()
    assert emptied["errors"] == [{"field": "targets", "message": NEEDS_ONE}]
