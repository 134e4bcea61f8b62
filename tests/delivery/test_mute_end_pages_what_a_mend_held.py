"""A firing muted when its path was mended pages when the mute ends, against the sandbox
(deliveries sent here, no worker): its trigger failed for good on a service that was mended
("Add services") or healed by itself while a window muted the alert, so nothing was sent
then and the firing was held; "End now" (or the beat) sends its trigger to that service,
once, unless it went there meanwhile, and never for a firing cleared during the mute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts import firings, mute_release
from alerts_saas.alerts.mended import page_mended
from alerts_saas.alerts.models import Firing, MuteWindow
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.delivery.sending import open_firing, send_queued

pytestmark = pytest.mark.django_db


def _accepted(pagerduty, firing: Firing, service: PagerDutyService) -> list[str]:
    """The actions PagerDuty accepted under the firing's key to the service, in order."""
    events = pagerduty.events(dedup_key=firing.dedup_key(service.pk))
    return [e["body"]["event_action"] for e in events if e["status_code"] == 202]


def _refused(org, service: PagerDutyService, name: str = "DB errors") -> Firing:
    _, firing = open_firing(org, service, name)
    send_queued()
    assert firing.deliveries.get(service=service).status == Delivery.Status.FAILED
    return firing


def _mute(org, firing: Firing) -> MuteWindow:
    return MuteWindow.objects.create(
        organization=org,
        alert_id=firing.alert_id,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(minutes=30),
    )


def _end_now(admin_client, org, window: MuteWindow) -> None:
    response = admin_client.post(f"/o/{org.slug}/alerts/mutes/{window.pk}/end/")
    assert response.status_code == 302


def _add_again(admin_client, org, service: PagerDutyService) -> None:
    """Choose the service again under "Add services": a new integration."""
    picker = (
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{service.account_id}/services/"
    )
    response = admin_client.post(picker, {"service": [service.pd_service_id]})
    assert response.status_code == 302


def test_a_firing_muted_when_its_service_was_mended_pages_when_the_mute_ends(
    org, connected_service, pagerduty, admin_client
):
    pagerduty.remove_integration(connected_service.integration_id)
    firing = _refused(org, connected_service)
    window = _mute(org, firing)
    _add_again(admin_client, org, connected_service)
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == []

    _end_now(admin_client, org, window)
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]
    firing.refresh_from_db()
    assert not firing.held
    # The next beat's release finds nothing more to send.
    assert mute_release.release_due(org.pk)["released"] == 0
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]


def test_a_firing_muted_when_its_path_healed_pages_when_the_mute_ends(
    org, make_service, pagerduty, admin_client
):
    service = make_service()
    pagerduty.fault("events-us", "refuse")  # a refusal that passes
    firing = _refused(org, service)
    window = _mute(org, firing)
    open_firing(org, service, "Checkout errors")  # gets through: the service heals
    send_queued()
    assert _accepted(pagerduty, firing, service) == []

    _end_now(admin_client, org, window)
    send_queued()
    assert _accepted(pagerduty, firing, service) == ["trigger"]


def test_a_firing_sent_again_meanwhile_is_not_sent_at_the_mute_end(
    org, connected_service, pagerduty, admin_client
):
    pagerduty.remove_integration(connected_service.integration_id)
    firing = _refused(org, connected_service)
    window = _mute(org, firing)
    _add_again(admin_client, org, connected_service)  # held
    # The window is taken off in the database (not by "End now"), and a mend then pages.
    MuteWindow.objects.filter(pk=window.pk).update(ends_at=timezone.now())
    assert page_mended(org.pk, [connected_service.pk]) == {connected_service.pk: 1}
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]

    assert mute_release.release_due(org.pk)["released"] == 1  # held no more, nothing sent
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]
    assert firing.deliveries.filter(service=connected_service).count() == 2


def test_of_two_firings_muted_the_one_cleared_during_the_mute_is_not_paged_at_its_end(
    org, connected_service, pagerduty, admin_client
):
    pagerduty.remove_integration(connected_service.integration_id)
    cleared = _refused(org, connected_service, "Cleared")
    firing = _refused(org, connected_service, "DB errors")
    windows = [_mute(org, cleared), _mute(org, firing)]
    _add_again(admin_client, org, connected_service)
    assert firings.clear_firing(cleared, Firing.ClearReason.RESOLVED, timezone.now())

    for window in windows:
        _end_now(admin_client, org, window)
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]
    assert _accepted(pagerduty, cleared, connected_service) == []
    assert cleared.deliveries.count() == 1
