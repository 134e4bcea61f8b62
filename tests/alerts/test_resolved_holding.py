"""Resolved by hand while its condition still holds, an alert is not "OK": its page says
who resolved it and when, that the count still meets the threshold, and that it fires again
at the next check with a new incident, which is what the next check then does. Resolved
once the condition no longer holds, it is plainly OK."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.models import Firing, MuteWindow
from alerts_saas.alerts.mutes import time_words
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
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


def _muted_for(org, minutes: int, **target) -> MuteWindow:
    now = timezone.now()
    return MuteWindow.objects.create(
        organization=org,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(minutes=minutes),
        **target,
    )


def _triggers() -> int:
    return Delivery.objects.filter(event_action=EventAction.TRIGGER).count()


def test_resolved_while_muted_says_the_next_firing_is_held(org, make_service, admin_client):
    alert = _alert(org, make_service())
    [firing] = _events(org, 3)
    window = _muted_for(org, 30, alert_id=alert.pk)

    state = _state(_resolve(admin_client, org, alert, firing)).replace(" :", ":")
    end = time_words(window.ends_at)
    assert (
        "So it opens again at the next check, held by the mute until "
        f"{html.unescape(re.sub(r'<[^>]+>', '', end))}: nothing is sent to PagerDuty until then."
    ) in state, state
    assert "pages anew" not in state

    # What the page said is what happens: a held firing, no trigger sent.
    sent = _triggers()
    evaluation.evaluate()
    [again] = Firing.objects.filter(alert=alert, cleared_at__isnull=True).exclude(pk=firing.pk)
    assert again.held and _triggers() == sent


def test_one_service_muted_the_other_pages(org, make_service, admin_client):
    checkout, billing = make_service(), make_service("Billing", key="b" * 32)
    alert = _alert(org, checkout)
    alert.targets.add(billing)
    [firing] = _events(org, 3)
    _muted_for(org, 30, service_id=billing.pk)

    state = _state(_resolve(admin_client, org, alert, firing)).replace(" )", ")")
    assert "So it fires again at the next check and pages anew" in state, state
    assert "Billing, muted, is paged only when the mute ends (" in state


def test_resolved_with_no_service_says_it_pages_nobody(org, admin_client):
    alert = _alert(org, None)
    [firing] = _events(org, 3)

    state = _state(_resolve(admin_client, org, alert, firing))
    assert (
        "So it fires again at the next check, but pages nobody: it has no PagerDuty service."
    ) in state, state
    assert "pages anew" not in state


def test_resolved_with_every_service_refused(org, make_service, admin_client):
    service = make_service()
    alert = _alert(org, service)
    [firing] = _events(org, 3)
    PagerDutyService.objects.filter(pk=service.pk).update(
        refused_at=timezone.now(), refused_detail="Invalid routing key"
    )

    state = _state(_resolve(admin_client, org, alert, firing))
    assert "So it fires again at the next check, but pages nobody: PagerDuty refuses its" in state
    assert "Checkout API 001" in state and "no fallback service is set." in state, state

    backup = make_service("Backup", key="f" * 32)
    PagerDutyService.objects.filter(pk=backup.pk).update(is_fallback=True)
    state = _state(admin_client.get(alert.get_absolute_url()).content.decode())
    assert (
        "So it fires again at the next check and pages the fallback, Backup, with a new"
        " incident in PagerDuty, as PagerDuty refuses its own services."
    ) in state, state
