"""What the alert page says of a trigger PagerDuty keeps failing: how many attempts failed,
its last answer and when it is tried next (a time to come, said as one), and, beside who
is on call for that service, that they were not paged (yet): a name under a failed
trigger is not the person paged."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.alerts.test_alert_page import _alert
from tests.dashboard.conftest import delivery, fire
from tests.incidents.conftest import make_tenant
from tests.incidents.test_reconnect_acts_and_on_call import _known, _text

pytestmark = pytest.mark.django_db


def _failing(org) -> tuple[Alert, Firing, Delivery, PagerDutyService]:
    """An open firing whose trigger to an OAuth-connected service failed three times with
    500, and who that service pages now."""
    service, _sub, _trigger = make_tenant(org)
    made = _alert(org, service)
    firing = fire(made)
    trigger = delivery(
        org,
        service,
        made=made,
        firing=firing,
        status=Delivery.Status.QUEUED,
        attempts=3,
        response_status=500,
        last_error="PagerDuty answered 500: The PagerDuty server experienced an error.",
        next_attempt_at=timezone.now() + timedelta(seconds=40),
    )
    _known(service, timedelta(0))
    return made, firing, trigger, service


def _page(client, made: Alert) -> str:
    return _text(client.get(f"/o/{made.organization.slug}/alerts/{made.pk}/").content.decode())


def test_a_retrying_trigger_says_its_failed_attempts_and_next_try(admin_client, org):
    made, _firing, _trigger, _service = _failing(org)
    page = _page(admin_client, made)
    assert re.search(
        r"Trigger: 3 attempts failed \(PagerDuty answered 500\) · next try at \d\d:\d\d:\d\d",
        page,
    ), page
    assert "retrying (attempt" not in page
    assert "On call now: Olivia Oncall (Default) — not paged yet." in page


def test_who_is_on_call_under_a_failed_trigger_was_not_paged(admin_client, org):
    made, _firing, trigger, _service = _failing(org)
    Delivery.objects.filter(pk=trigger.pk).update(
        status=Delivery.Status.FAILED, response_status=400, last_error="Invalid routing key"
    )
    page = _page(admin_client, made)
    assert "On call now: Olivia Oncall (Default) — not paged: the trigger failed." in page


def test_who_is_on_call_under_an_accepted_trigger_is_said_plainly(admin_client, org):
    made, _firing, trigger, _service = _failing(org)
    Delivery.objects.filter(pk=trigger.pk).update(
        status=Delivery.Status.DELIVERED, delivered_at=timezone.now(), last_error=""
    )
    page = _page(admin_client, made)
    assert "On call now: Olivia Oncall (Default)." in page
    assert "not paged" not in page
