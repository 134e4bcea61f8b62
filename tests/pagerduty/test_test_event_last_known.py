""" "Send test event" and "Send test alert" while who is on call can't be read now (r18
must-fix 2): the account needs reconnecting (its token revoked), or the last reading is old.
The question says who was on call as the last known, with when, never as now, and does not
state the urgency the old reading gave."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from alerts_saas.accounts.times import clock
from alerts_saas.alerts.guarded_tests import confirmation, paged
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.incidents.oncall import on_call
from integrations.pagerduty.models import PagerDutyAccount

pytestmark = pytest.mark.django_db


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _olivia(service, ago: timedelta) -> OnCallNow:
    return OnCallNow.objects.create(
        organization_id=service.organization_id,
        service=service,
        names=["Olivia Oncall"],
        checked_at=timezone.now() - ago,
        urgency_rule={"type": "constant", "urgency": "high"},
    )


def _ask(client, org, service) -> str:
    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/test/"
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return _words(response.content.decode())


def test_an_account_to_reconnect_says_the_last_known_on_call_with_when(
    admin_client, org, connected_service, pagerduty
) -> None:
    reading = _olivia(connected_service, timedelta(seconds=30))  # read just before
    PagerDutyAccount.objects.filter(pk=connected_service.account_id).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    words = _ask(admin_client, org, connected_service)

    assert "This pages Olivia Oncall" not in words
    assert (
        "This pages whoever is on call for Checkout API 001 (on call at "
        f"{clock(reading.checked_at)}, the last Tripwire could read: Olivia Oncall) now."
    ) in words
    assert "makes this test high urgency" not in words
    assert (
        "Tripwire can't read the urgency setting of Checkout API 001 while its PagerDuty "
        "account needs reconnecting, so this test may be high urgency"
    ) in words


def test_an_old_reading_is_said_as_the_last_known(
    admin_client, org, connected_service, pagerduty
) -> None:
    reading = _olivia(connected_service, timedelta(minutes=30))
    words = _ask(admin_client, org, connected_service)

    assert "This pages Olivia Oncall" not in words
    assert f"(on call at {clock(reading.checked_at)}, the last Tripwire could read" in words
    assert "makes this test high urgency" not in words
    assert "couldn't read the urgency setting of Checkout API 001 just now" in words


def test_the_test_alert_question_and_panel_say_the_same(connected_service, pagerduty) -> None:
    """The alert form's "Send test alert" asks through the same `confirmation`; the sent
    test's panel names nobody from a reading that is not current."""
    _olivia(connected_service, timedelta(seconds=30))
    PagerDutyAccount.objects.filter(pk=connected_service.account_id).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    connected_service.refresh_from_db()
    reading = on_call([connected_service])[connected_service.pk]
    asked = confirmation([(connected_service, reading)], "critical")
    assert "This pages Olivia Oncall" not in asked.pages
    assert "the last Tripwire could read: Olivia Oncall" in asked.pages
    assert "makes this test" not in asked.urgency
    assert paged(reading) == ""
