"""Ending a mute of an alert with no PagerDuty service said "Tripwire pages again" (r18 #2):
it pages nobody. "End now", "Unmute", removing a weekly mute, "Mute 1 h" and what the page
says while not muted now say that it pages nobody, as it has no PagerDuty service; an alert
with a service still reads "Tripwire pages again"."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from tests.alerts.mute_hour_setup import checkout_alert

pytestmark = pytest.mark.django_db

NOBODY = "it pages nobody, as it has no PagerDuty service"


def _no_service(org: Organization, firing: bool = True) -> Alert:
    """ "Checkout errors", its service gone (the account was disconnected, "Leave them
    paging nobody"), firing or not."""
    alert = checkout_alert(org)
    alert.targets.clear()
    if not firing:
        Firing.objects.filter(alert=alert).delete()
    return alert


def _muted(alert: Alert, weekly: bool = False) -> MuteWindow:
    now = timezone.now()
    if weekly:
        started = now - timedelta(minutes=30)
        return MuteWindow.objects.create(
            organization_id=alert.organization_id,
            alert=alert,
            weekdays=str(started.weekday()),
            start_time=started.time().replace(microsecond=0),
            duration_minutes=60,
            time_zone="UTC",
        )
    return MuteWindow.objects.create(
        organization_id=alert.organization_id,
        alert=alert,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )


def _page(client: Client, alert: Alert) -> str:
    return html.unescape(client.get(alert.get_absolute_url()).content.decode())


def _end(client: Client, org: Organization, window: MuteWindow) -> str:
    response = client.post(f"/o/{org.slug}/alerts/mutes/{window.pk}/end/", {"from": "detail"})
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_ending_a_mute_of_an_alert_without_a_service_says_it_pages_nobody(
    org: Organization, admin_client: Client
) -> None:
    alert = _no_service(org)
    window = _muted(alert)
    page = _page(admin_client, alert)
    # "End now" under Mutes and "Unmute" beside the firing ask the same.
    assert page.count(f"End this mute now? Even then {NOBODY}.") == 2
    assert "Tripwire pages again" not in page

    said = _end(admin_client, org, window)
    assert f"Mute of alert “Checkout errors” ended: {NOBODY}." in said
    assert "pages again" not in said
    assert "Not muted, but it pages nobody: it has no PagerDuty service." in _page(
        admin_client, alert
    )


def test_removing_a_weekly_mute_and_mute_1_h_say_it_pages_nobody(
    org: Organization, admin_client: Client
) -> None:
    alert = _no_service(org, firing=False)
    window = _muted(alert, weekly=True)
    page = _page(admin_client, alert)
    assert f"Remove this weekly mute? Even then {NOBODY}." in page
    assert "pages again" not in page
    assert "pages again" not in _end(admin_client, org, window)

    Firing.objects.create(organization=org, alert=alert, count_at_open=3)
    response = admin_client.post(f"{alert.get_absolute_url()}mute/hour/")
    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Even after it, it pages nobody, as it has no PagerDuty service." in said
    assert "pages at the end" not in said


def test_an_alert_with_a_service_still_pages_again(org: Organization, admin_client: Client) -> None:
    alert = checkout_alert(org)
    window = _muted(alert)
    page = _page(admin_client, alert)
    assert NOBODY not in page and "End this mute now? Tripwire pages again" in page
    assert "Mute of alert “Checkout errors” ended: Tripwire pages again." in _end(
        admin_client, org, window
    )
    assert "Not muted: every firing pages at once." in _page(admin_client, alert)
