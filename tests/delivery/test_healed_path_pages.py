"""A path that heals by itself pages the firings it could not, against the sandbox (deliveries
sent here, no worker): PagerDuty refused a service's key once (a refusal that passes) or the
engine gave up on a delivery, so the service was marked and a firing's trigger failed for
good; a later trigger to the same service gets through and the service pages again. The
older firing's trigger is sent there again then, once, under its own dedup key: never a
cleared firing's, nor one a window mutes (held for the mute's end), nor twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Firing, MuteWindow
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason
from tests.delivery.sending import open_firing, send_queued

pytestmark = pytest.mark.django_db


def _accepted(pagerduty, firing: Firing, service: PagerDutyService) -> list[str]:
    """The actions PagerDuty accepted under the firing's key to the service, in order."""
    events = pagerduty.events(dedup_key=firing.dedup_key(service.pk))
    return [e["body"]["event_action"] for e in events if e["status_code"] == 202]


def _state(service: PagerDutyService) -> paths.PathState:
    found = PagerDutyService.objects.select_related("account").get(pk=service.pk)
    return paths.service_health(found).state


def _refused(org, service: PagerDutyService, pagerduty, name: str) -> Firing:
    """A firing whose trigger PagerDuty refused for its key (once: the key is good)."""
    pagerduty.fault("events-us", "refuse")
    _, firing = open_firing(org, service, name)
    send_queued()
    assert firing.deliveries.get(service=service).status == Delivery.Status.FAILED
    return firing


def test_a_refusal_that_passes_pages_the_refused_firing_once(org, make_service, pagerduty):
    service = make_service()
    first = _refused(org, service, pagerduty, "DB errors")
    assert _state(service) == paths.PathState.REFUSED
    assert _accepted(pagerduty, first, service) == []

    # A later firing's trigger gets through: the service pages again, and so does the first.
    _, later = open_firing(org, service, "Checkout errors")
    send_queued()
    assert _state(service) == paths.PathState.OK
    assert _accepted(pagerduty, later, service) == ["trigger"]
    assert _accepted(pagerduty, first, service) == ["trigger"]

    # Another delivery that gets through changes nothing: the first was sent again already.
    _, third = open_firing(org, service, "Queue depth")
    send_queued()
    assert _accepted(pagerduty, third, service) == ["trigger"]
    assert _accepted(pagerduty, first, service) == ["trigger"]
    assert first.deliveries.filter(event_action=EventAction.TRIGGER).count() == 2

    # Its resolve follows the trigger sent again, to the same incident.
    assert firings.clear_firing(first, Firing.ClearReason.RESOLVED, timezone.now())
    send_queued()
    assert _accepted(pagerduty, first, service) == ["trigger", "resolve"]


def test_a_service_the_engine_gave_up_on_pages_the_firing_once_a_delivery_gets_through(
    org, make_service, pagerduty, settings
):
    settings.DELIVERY_GIVE_UP_AFTER = timedelta(0)  # the first 500 is the last try
    service = make_service()
    pagerduty.fault("events-us", "500")
    _, first = open_firing(org, service, "DB errors")
    send_queued()
    assert first.deliveries.get().status == Delivery.Status.FAILED
    assert _state(service) == paths.PathState.FAILING

    _, later = open_firing(org, service, "Checkout errors")
    send_queued()
    assert _state(service) == paths.PathState.OK
    assert _accepted(pagerduty, later, service) == ["trigger"]
    assert _accepted(pagerduty, first, service) == ["trigger"]


def test_a_cleared_firing_is_not_paged_and_a_muted_one_waits_for_the_mute(
    org, make_service, pagerduty
):
    service = make_service()
    cleared = _refused(org, service, pagerduty, "Cleared")
    assert firings.clear_firing(cleared, Firing.ClearReason.RESOLVED, timezone.now())
    muted = _refused(org, service, pagerduty, "Muted")
    MuteWindow.objects.create(
        organization=org,
        alert_id=muted.alert_id,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(minutes=30),
    )
    waiting = _refused(org, service, pagerduty, "DB errors")

    _, later = open_firing(org, service, "Checkout errors")
    send_queued()
    assert _accepted(pagerduty, later, service) == ["trigger"]
    assert _accepted(pagerduty, waiting, service) == ["trigger"]
    assert _accepted(pagerduty, cleared, service) == []
    assert cleared.deliveries.count() == 1
    assert _accepted(pagerduty, muted, service) == []
    muted.refresh_from_db()
    assert muted.held  # the mute's end pages it


def test_a_fallback_that_paged_keeps_its_incident_and_is_not_paged_again(
    org, make_service, pagerduty
):
    service = make_service("Checkout API 001")
    fallback = make_service("Checkout API 002")
    PagerDutyService.objects.filter(pk=fallback.pk).update(is_fallback=True)
    first = _refused(org, service, pagerduty, "DB errors")
    [copy] = first.deliveries.filter(reason=Reason.FALLBACK)
    assert copy.status == Delivery.Status.DELIVERED

    open_firing(org, service, "Checkout errors")
    send_queued()
    assert _accepted(pagerduty, first, service) == ["trigger"]
    assert first.deliveries.filter(reason=Reason.FALLBACK).count() == 1
    assert len(pagerduty.events(dedup_key=copy.dedup_key)) == 1
