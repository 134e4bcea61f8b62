""" "Mute 1 h" promises only what muting does, whatever state the firing is in: a mute holds
only pages not queued yet, so a first page PagerDuty answered 500 to is still retried and
goes out when PagerDuty answers (the page and the confirmation say so, and no longer speak
of an incident already open); an alert whose services are all muted is said muted through
them, with no button; and a second click makes no second mute."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, MuteWindow
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.alerts.mute_hour_setup import checkout_alert
from tests.alerts.mute_hour_setup import firing_actions as _firing_actions
from tests.alerts.mute_hour_setup import text as _text
from tests.dashboard.conftest import delivery

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
RETRIED = (
    "Its first page is still being retried: it will go out when PagerDuty answers; the "
    "mute holds only pages not yet queued."
)
STAYS_OPEN = "The incident already open in PagerDuty stays open"


@pytest.fixture
def alert(org: Organization) -> Alert:
    return checkout_alert(org)


def _actions(html: bytes) -> str:
    return _text(_firing_actions(html).encode())


def _retried_trigger(org: Organization, alert: Alert) -> Delivery:
    """PagerDuty answered 500 to the firing's trigger: queued again, no incident yet."""
    service = alert.targets.get()
    assert isinstance(service, PagerDutyService)
    return delivery(
        org,
        service,
        made=alert,
        firing=alert.firings.get(),
        status=Delivery.Status.QUEUED,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(seconds=20),
        response_status=500,
        last_error="PagerDuty answered 500: The PagerDuty server experienced an error.",
    )


def test_a_first_page_still_retried_is_said_to_go_out(
    org: Organization, alert: Alert, admin_client: Client
) -> None:
    trigger = _retried_trigger(org, alert)
    page = f"/o/{org.slug}/alerts/{alert.pk}/"
    offered = _actions(admin_client.get(page).content)
    assert "Mute 1 h: no new pages are queued for this alert for an hour." in offered
    assert RETRIED in offered and "stays open" not in offered

    response = admin_client.post(f"{page}mute/hour/", follow=True)
    ends = MuteWindow.objects.get().ends_at
    assert ends is not None
    until = ends.astimezone(PARIS)
    text = _text(response.content)
    assert (
        f"Muted until {until:%H:%M} CET: no new pages are queued for “Checkout errors” until "
        f"then. {RETRIED}"
    ) in text
    assert STAYS_OPEN not in text and "no new pages for “Checkout errors”" not in text
    # What it says is what happens: the queued trigger is left to go out.
    trigger.refresh_from_db()
    assert trigger.status == Delivery.Status.QUEUED


def test_a_paged_firing_keeps_its_incident_words(
    org: Organization, alert: Alert, admin_client: Client
) -> None:
    service = alert.targets.get()
    assert isinstance(service, PagerDutyService)
    delivery(org, service, made=alert, firing=alert.firings.get())
    page = f"/o/{org.slug}/alerts/{alert.pk}/"
    offered = _actions(admin_client.get(page).content)
    assert "Mute 1 h: no new pages for this alert for an hour. " + STAYS_OPEN in offered
    text = _text(admin_client.post(f"{page}mute/hour/", follow=True).content)
    assert f"“Checkout errors” until then. {STAYS_OPEN}: acknowledge or resolve it there." in text
    assert "retried" not in text


def test_no_mute_1_h_while_service_mutes_cover_every_target(
    org: Organization, alert: Alert, admin_client: Client
) -> None:
    now = timezone.now()
    ends = now + timedelta(hours=2)
    MuteWindow.objects.create(
        organization=org, service=alert.targets.get(), starts_at=now, ends_at=ends
    )
    actions = _actions(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content)
    assert "Mute 1 h" not in actions
    local = ends.astimezone(PARIS)
    assert f"Muted through its service until {local:%a} {local.day} {local:%b %H:%M} CET" in (
        actions
    )


def test_a_double_click_makes_one_mute(
    org: Organization, alert: Alert, admin_client: Client
) -> None:
    url = f"/o/{org.slug}/alerts/{alert.pk}/mute/hour/"
    admin_client.post(url)
    second = admin_client.post(url, follow=True)
    ends = MuteWindow.objects.get().ends_at
    assert ends is not None
    until = ends.astimezone(PARIS)
    assert f"“Checkout errors” is already muted until {until:%H:%M} CET" in _text(second.content)
