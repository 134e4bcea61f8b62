"""The alert form's test panels read the incidents their failed resolves left open once for
all panels, not a query a panel (r17 item 6): three test alerts whose automatic resolves
PagerDuty refused, shown again on a second tap, cost one left-open read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.pagerduty_fixtures import connect_service

pytestmark = pytest.mark.django_db


def test_failed_test_panels_read_what_they_left_open_once(
    admin_client, org, connected_service, form_data, pagerduty
):
    us = pagerduty.account("us")["services"]
    others = [s for s in us if s["name"] != connected_service.name][:2]
    services: list[PagerDutyService] = [
        connected_service,
        *(connect_service(connected_service.account, s, pagerduty) for s in others),
    ]
    targets = [s.pk for s in services]
    url = f"/o/{org.slug}/alerts/test/"
    assert admin_client.post(url, form_data(targets)).status_code == 200
    for trigger in Delivery.objects.filter(event_action=EventAction.TRIGGER):
        assert engine.attempt(trigger.pk) == Delivery.Status.DELIVERED
    # Their automatic resolves were refused: each test incident stays open in PagerDuty.
    resolves = Delivery.objects.filter(event_action=EventAction.RESOLVE)
    assert resolves.count() == 3
    resolves.update(status=Delivery.Status.FAILED, last_error="PagerDuty refused the key")

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.post(url, form_data(targets)).content.decode()
    assert "the test alert sent from this form is still open there" in page
    assert page.count("data-left-open") == 3  # each panel says its incident stays open
    reads = [q["sql"] for q in queries.captured_queries if '"incident_status"' in q["sql"]]
    assert len(reads) == 1, reads
