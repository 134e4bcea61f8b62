"""Resolved by hand while its condition still holds, an alert is not "OK": its page says
who resolved it and when, that the count still meets the threshold, and that it fires again
at the next check with a new incident, which is what the next check then does. Resolved
once the condition no longer holds, it is plainly OK."""

from __future__ import annotations

import html
import re

import pytest

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.models import Firing
from tests.alerts.test_alert_page import _alert, _events

pytestmark = pytest.mark.django_db


def _state(page: str) -> str:
    """The alert's state banner, as words."""
    found = re.search(r'<article class="state-banner.*?</article>', page, re.S)
    assert found is not None
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def _resolve(admin_client, org, alert, firing) -> str:
    url = f"/o/{org.slug}/alerts/{alert.pk}/resolve/"
    return admin_client.post(url, {"firing": firing.pk}, follow=True).content.decode()


def test_resolved_while_the_count_still_meets_the_threshold(org, make_service, admin_client):
    alert = _alert(org, make_service())
    [firing] = _events(org, 3)

    state = _state(_resolve(admin_client, org, alert, firing))
    assert re.match(r"Resolved in Tripwire by owner@acme\.example at [\w :]+ Its", state), state
    assert (
        "Its condition still holds: 3 matching events in the last 5 minutes, and it fires at 3."
        " So it fires again at the next check and pages anew, with a new incident in PagerDuty."
    ) in state
    assert not state.startswith("OK") and "Not firing" not in state

    # What the page said is what happens: the next check opens a new firing.
    evaluation.evaluate()
    assert Firing.objects.filter(alert=alert, cleared_at__isnull=True).exclude(pk=firing.pk)
    assert _state(admin_client.get(alert.get_absolute_url()).content.decode()).startswith(
        "FIRING since"
    )


def test_resolved_once_the_condition_no_longer_holds_reads_ok(org, make_service, admin_client):
    alert = _alert(org, make_service())
    firing = Firing.objects.create(organization=org, alert=alert, count_at_open=3)

    state = _state(_resolve(admin_client, org, alert, firing))
    assert state.startswith("OK Not firing. 0 matching events in the last 5 minutes"), state
    evaluation.evaluate()
    assert not Firing.objects.filter(alert=alert, cleared_at__isnull=True).exists()
