"""A mended path pages the firings it could not, against the sandbox (deliveries sent here, no
worker): once "Add services" gives a refused service a new integration, or a pasted key's
region is corrected, each open firing whose trigger there failed is paged there, once, under
its own dedup key; never a cleared firing's, nor one a window mutes, nor twice for a second
mend. The person who mended it is told; the firing's resolve follows its trigger."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.mended import page_mended
from alerts_saas.alerts.models import Firing, MuteWindow
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.delivery.sending import open_firing, send_queued

pytestmark = pytest.mark.django_db
SENT_AGAIN = "Checkout API 001 pages again: the 1 firing alert that couldn't page it was sent now."


def _refused_firing(org, service: PagerDutyService, pagerduty, name: str = "DB errors") -> Firing:
    """A firing opened after the service's integration was removed: its trigger refused."""
    _, firing = open_firing(org, service, name)
    send_queued()
    assert firing.deliveries.get().status == Delivery.Status.FAILED
    return firing


def _accepted(pagerduty, firing: Firing, service: PagerDutyService) -> list[str]:
    """The actions PagerDuty accepted under the firing's key to the service, in order."""
    events = pagerduty.events(dedup_key=firing.dedup_key(service.pk))
    return [e["body"]["event_action"] for e in events if e["status_code"] == 202]


def _add_again(admin_client, org, service: PagerDutyService) -> str:
    """Choose the service again under "Add services"; the page shown next, as text."""
    picker = (
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{service.account_id}/services/"
    )
    response = admin_client.post(picker, {"service": [service.pd_service_id]}, follow=True)
    assert response.status_code == 200
    return _text(response.content.decode())


def _text(markup: str) -> str:
    spaced = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()
    return re.sub(r" ([,.;:)])", r"\1", spaced)


def test_a_service_given_a_new_integration_pages_the_open_firing_once(
    org, connected_service, pagerduty, admin_client
):
    pagerduty.remove_integration(connected_service.integration_id)
    firing = _refused_firing(org, connected_service, pagerduty)
    assert _accepted(pagerduty, firing, connected_service) == []

    page = _add_again(admin_client, org, connected_service)
    assert SENT_AGAIN in page
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]

    # Cleared, its resolve follows the new trigger to the same incident.
    assert firings.clear_firing(firing, Firing.ClearReason.RESOLVED, timezone.now())
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger", "resolve"]


def test_mending_twice_pages_once(org, connected_service, pagerduty, admin_client):
    pagerduty.remove_integration(connected_service.integration_id)
    firing = _refused_firing(org, connected_service, pagerduty)
    assert SENT_AGAIN in _add_again(admin_client, org, connected_service)
    send_queued()
    assert "pages again" not in _add_again(admin_client, org, connected_service)
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]


def test_a_cleared_firing_and_a_muted_alert_are_not_paged(
    org, connected_service, pagerduty, admin_client
):
    pagerduty.remove_integration(connected_service.integration_id)
    cleared = _refused_firing(org, connected_service, pagerduty, "Cleared")
    assert firings.clear_firing(cleared, Firing.ClearReason.RESOLVED, timezone.now())
    muted = _refused_firing(org, connected_service, pagerduty, "Muted")
    MuteWindow.objects.create(
        organization=org,
        alert_id=muted.alert_id,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(minutes=30),
    )
    firing = _refused_firing(org, connected_service, pagerduty, "DB errors")

    assert SENT_AGAIN in _add_again(admin_client, org, connected_service)
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]
    assert _accepted(pagerduty, cleared, connected_service) == []
    assert _accepted(pagerduty, muted, connected_service) == []
    muted.refresh_from_db()
    assert muted.held  # the mute's end pages it (test_mute_end_pages_what_a_mend_held.py)


def test_a_muted_service_is_not_paged(org, connected_service, pagerduty, admin_client):
    pagerduty.remove_integration(connected_service.integration_id)
    firing = _refused_firing(org, connected_service, pagerduty)
    MuteWindow.objects.create(
        organization=org,
        service=connected_service,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(minutes=30),
    )
    assert "pages again" not in _add_again(admin_client, org, connected_service)
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == []
    # Without the mute, the next mend pages it (the mute held it: its end would too).
    MuteWindow.objects.filter(service=connected_service).delete()
    assert SENT_AGAIN in _add_again(admin_client, org, connected_service)
    send_queued()
    assert _accepted(pagerduty, firing, connected_service) == ["trigger"]


def test_a_pasted_key_switched_to_its_region_pages_the_firing_and_keeps_the_fallback(
    org, make_service, pagerduty, admin_client
):
    # A key of the EU, pasted as a US one: PagerDuty refuses it in the US.
    pasted = make_service("Checkout API 001", region="eu")
    PagerDutyService.objects.filter(pk=pasted.pk).update(region="us")
    pasted.refresh_from_db()
    fallback = make_service("Checkout API 002")
    PagerDutyService.objects.filter(pk=fallback.pk).update(is_fallback=True)
    _, firing = open_firing(org, pasted)
    send_queued()  # refused, so the fallback is paged for the firing
    assert _accepted(pagerduty, firing, pasted) == []
    [copy] = firing.deliveries.filter(service=fallback)
    assert copy.status == Delivery.Status.DELIVERED

    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{pasted.pk}/region/"
    page = _text(admin_client.post(url, {"region": "eu"}, follow=True).content.decode())
    assert SENT_AGAIN in page
    send_queued()
    assert _accepted(pagerduty, firing, pasted) == ["trigger"]

    # The firing's resolve reaches both incidents: the mended service's and the fallback's.
    assert firings.clear_firing(firing, Firing.ClearReason.RESOLVED, timezone.now())
    send_queued()
    assert _accepted(pagerduty, firing, pasted) == ["trigger", "resolve"]
    fallback_events = pagerduty.events(dedup_key=copy.dedup_key)
    assert [e["body"]["event_action"] for e in fallback_events if e["status_code"] == 202] == [
        "trigger",
        "resolve",
    ]


def test_mending_costs_the_queries_of_one_firing_however_many(org, connected_service, pagerduty):
    pagerduty.remove_integration(connected_service.integration_id)

    def queries_to_mend(new: int, paged: int) -> int:
        """Open `new` refused firings (the key is still refused, so the trigger the last
        mend queued fails again as they are sent) and count the queries of paging `paged`."""
        for n in range(new):
            _refused_firing(org, connected_service, pagerduty, f"Alert {paged}-{n}")
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            assert page_mended(org.pk, [connected_service.pk]) == {connected_service.pk: paged}
        return len(captured)

    assert queries_to_mend(1, paged=1) == queries_to_mend(4, paged=5)
