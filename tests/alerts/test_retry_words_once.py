"""A trigger PagerDuty gave no answer to (a timeout, a refused connection) is said the same
way on the alert page and on the dashboard: the first words of its error, the whole error
being on the delivery's page (`Delivery.last_answer`, one function for both)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import Delivery
from tests.alerts.test_retry_words import _failing, _page
from tests.dashboard.test_dashboard import part

pytestmark = pytest.mark.django_db

ERROR = "Timed out: no answer from events.pagerduty.com within 10 seconds (read timeout)"


def test_no_answer_is_said_alike_on_the_alert_page_and_the_dashboard(
    admin_client: Client, org: Organization
) -> None:
    made, _firing, trigger, _service = _failing(org)
    Delivery.objects.filter(pk=trigger.pk).update(response_status=None, last_error=ERROR)

    page = _page(admin_client, made)
    assert re.search(r"Trigger: 3 attempts failed \(Timed out\) · next try at \d\d:", page), page
    assert "failed (Timed out: no answer" not in page  # the whole error is in its row below
    dashboard = admin_client.get(f"/o/{org.slug}/").content.decode()
    summary = part(dashboard, "dashboard-summary")
    assert "failed (the last: Timed out); Tripwire tries again at" in summary
