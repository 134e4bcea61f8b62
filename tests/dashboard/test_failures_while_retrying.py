"""While a firing's trigger is being retried after failed attempts (PagerDuty answering
500), "Failed deliveries" does not say OK: none failed for good, but that alert is not paged
yet. Once nothing is retried, it says OK again. Its query count stays flat."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.dashboard.conftest import alert, delivery, fire, service
from tests.dashboard.test_dashboard import part
from tests.dashboard.test_not_paged_yet import _failing

pytestmark = pytest.mark.django_db


def test_failed_deliveries_is_not_ok_while_a_trigger_is_retried(dashboard, org):
    _failing(org, "Checkout")
    section = part(dashboard(), "failed-deliveries")
    assert "OK" not in section.split(), section
    assert "No delivery failed" not in section
    assert (
        "Retrying 1 firing alert is not paged yet: its trigger is being retried after failed "
        "attempts (see above)."
    ) in section
    assert "None failed for good in the last 24 hours." in section

    _failing(org, "Billing")
    section = part(dashboard(), "failed-deliveries")
    assert "2 firing alerts are not paged yet: their triggers are being retried" in section


def test_failed_deliveries_is_ok_when_every_trigger_got_through(dashboard, org):
    paged = service(org, "Search API")
    fine = alert(org, "Search errors", paged)
    delivery(org, paged, made=fine, firing=fire(fine, minutes_ago=1))
    section = part(dashboard(), "failed-deliveries")
    assert section.endswith("OK No delivery failed in the last 24 hours. Earlier failures")
    assert "Retrying" not in section


def test_the_retry_line_costs_no_query(dashboard, org):
    paged = service(org, "Search API")
    fine = alert(org, "Search errors", paged)
    delivery(org, paged, made=fine, firing=fire(fine, minutes_ago=1))
    dashboard()
    with CaptureQueriesContext(connection) as calm:
        dashboard()
    _failing(org, "Checkout")
    with CaptureQueriesContext(connection) as retrying:
        page = dashboard()
    assert "Retrying" in part(page, "failed-deliveries")
    assert len(retrying) == len(calm)
