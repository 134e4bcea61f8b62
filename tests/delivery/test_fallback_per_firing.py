"""The fallback, judged and paged per firing, against the sandbox (deliveries sent here,
no worker): a firing the fallback paged still says so once the fallback is unset; a
fallback chosen after PagerDuty refused the last one pages the firing that reached nobody,
or whose only incident Tripwire resolved, and the firing's resolve reaches every fallback
that got its trigger, never before it; a fallback chosen while a trigger is on its way
waits for PagerDuty's answer to it, so nobody is paged twice."""

from __future__ import annotations

import html
import re

import pytest
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Firing
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason
from tests.delivery.sending import open_firing, send_queued

pytestmark = pytest.mark.django_db
FALLBACK_URL = "/o/{slug}/settings/integrations/pagerduty/services/{pk}/fallback/"
REFUSED_KEYS = ("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210")


def _service(make_service, name: str, key: str | None = None) -> PagerDutyService:
    """A service on the sandbox (a pasted `key` it refuses, if given), named `name`."""
    made = make_service("Checkout API 002" if key is None else name, key=key)
    PagerDutyService.objects.filter(pk=made.pk).update(name=name)
    made.refresh_from_db()
    return made


def _choose(admin_client, org, service: PagerDutyService, use: str = "1") -> str:
    url = FALLBACK_URL.format(slug=org.slug, pk=service.pk)
    response = admin_client.post(url, {"use": use}, follow=True)
    assert response.status_code == 200
    return _text(response.content.decode())


def _text(markup: str) -> str:
    spaced = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()
    return re.sub(r" ([,.;:)])", r"\1", spaced)


def _accepted(pagerduty, key: str) -> list[str]:
    """The actions PagerDuty accepted under `key`, in the order it got them."""
    events = pagerduty.events(dedup_key=key)
    return [e["body"]["event_action"] for e in events if e["status_code"] == 202]


def test_a_firing_the_fallback_paged_still_says_so_once_the_fallback_is_unset(
    org, make_service, pagerduty, admin_client
):
    legacy = _service(make_service, "Legacy DB", REFUSED_KEYS[0])
    android = _service(make_service, "Android Sync")
    _choose(admin_client, org, android)
    alert, firing = open_firing(org, legacy)
    send_queued()  # Legacy DB refused, so the fallback's trigger goes, and is accepted
    paged = firing.deliveries.get(service=android)
    assert paged.status == Delivery.Status.DELIVERED and paged.reason == Reason.FALLBACK

    _choose(admin_client, org, android, use="0")

    dashboard = _text(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "Nobody is paged for it" not in dashboard
    assert "firing alert pages nobody" not in dashboard
    assert "Paged through the fallback, Android Sync." in dashboard
    page = _text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode())
    assert "this firing pages nobody" not in page
    assert "Paged through the fallback, Android Sync." in page
    # What happens from now on is said apart from what this firing got.
    assert "Refused by PagerDuty: its next firing pages nobody." in page


def test_a_fallback_chosen_after_a_refused_one_pages_the_firing_and_its_resolve_follows(
    org, make_service, pagerduty, admin_client
):
    legacy = _service(make_service, "Legacy DB", REFUSED_KEYS[0])
    old = _service(make_service, "Old fallback", REFUSED_KEYS[1])
    android = _service(make_service, "Android Sync")
    _choose(admin_client, org, old)
    _alert, firing = open_firing(org, legacy)
    send_queued()  # Legacy DB refused, then the old fallback refused too
    [refused] = firing.deliveries.filter(service=old)
    assert refused.status == Delivery.Status.FAILED and refused.reason == Reason.FALLBACK

    shown = _choose(admin_client, org, android)
    assert "Android Sync is paged now for DB errors" in shown
    # Cleared before the trigger went: the resolve waits for it, under its key.
    assert firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now())
    [trigger] = firing.deliveries.filter(service=android, event_action=EventAction.TRIGGER)
    [resolve] = firing.deliveries.filter(event_action=EventAction.RESOLVE)
    assert (resolve.service_id, resolve.dedup_key) == (android.pk, trigger.dedup_key)
    assert engine.attempt_many([resolve.pk]) == {}  # not before its trigger
    send_queued()
    assert _accepted(pagerduty, trigger.dedup_key) == ["trigger", "resolve"]


def test_a_fallback_chosen_while_the_last_ones_trigger_is_on_its_way_waits_for_its_answer(
    org, make_service, pagerduty, admin_client
):
    legacy = _service(make_service, "Legacy DB", REFUSED_KEYS[0])
    PagerDutyService.objects.filter(pk=legacy.pk).update(refused_at=timezone.now())
    first = _service(make_service, "Payments fallback")
    _choose(admin_client, org, first)
    _alert, firing = open_firing(org, legacy)  # known refused: the fallback's trigger goes at once
    assert firing.deliveries.filter(service=first, status=Delivery.Status.QUEUED).exists()

    android = _service(make_service, "Android Sync")
    shown = _choose(admin_client, org, android)
    # Not paged twice: the first fallback's trigger has not been answered yet.
    assert "is paged now" not in shown and "no one else is paged" not in shown
    assert not firing.deliveries.filter(service=android).exists()
    send_queued()
    assert firing.deliveries.get(service=first).status == Delivery.Status.DELIVERED
    assert not firing.deliveries.filter(service=android).exists()
    assert firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now())
    send_queued()
    [trigger] = firing.deliveries.filter(service=first, event_action=EventAction.TRIGGER)
    assert _accepted(pagerduty, trigger.dedup_key) == ["trigger", "resolve"]


def test_a_trigger_on_its_way_when_a_fallback_is_chosen_goes_to_it_once_refused(
    org, make_service, pagerduty, admin_client
):
    legacy = _service(make_service, "Legacy DB", REFUSED_KEYS[0])
    PagerDutyService.objects.filter(pk=legacy.pk).update(refused_at=timezone.now())
    old = _service(make_service, "Old fallback", REFUSED_KEYS[1])  # not known refused yet
    _choose(admin_client, org, old)
    _alert, firing = open_firing(org, legacy)
    android = _service(make_service, "Android Sync")
    assert "is paged now" not in _choose(admin_client, org, android)

    send_queued()  # the old fallback refuses: its trigger goes to Android Sync, once
    [trigger] = firing.deliveries.filter(service=android, event_action=EventAction.TRIGGER)
    assert trigger.status == Delivery.Status.DELIVERED
    assert firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now())
    send_queued()
    assert _accepted(pagerduty, trigger.dedup_key) == ["trigger", "resolve"]


def test_a_firing_whose_only_incident_tripwire_resolved_is_paged_by_the_fallback_chosen(
    org, make_service, pagerduty, admin_client
):
    good = _service(make_service, "Checkout API")
    legacy = _service(make_service, "Legacy DB", REFUSED_KEYS[0])
    PagerDutyService.objects.filter(pk=legacy.pk).update(refused_at=timezone.now())
    alert, firing = open_firing(org, good)
    send_queued()
    assert firing.deliveries.get(service=good).status == Delivery.Status.DELIVERED
    # Moved to Legacy DB, which PagerDuty refuses: Checkout API's incident is resolved.
    alert.targets.set([legacy])
    firings.sync_targets(firing, alert, 5)
    send_queued()
    [resolve] = firing.deliveries.filter(event_action=EventAction.RESOLVE)
    assert (resolve.service_id, resolve.status) == (good.pk, Delivery.Status.DELIVERED)

    dashboard = _text(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "1 firing alert pages nobody" in dashboard
    page = _text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode())
    assert "Refused by PagerDuty: this firing pages nobody." in page
    android = _service(make_service, "Android Sync")
    shown = _choose(admin_client, org, android)
    assert "Android Sync is paged now for DB errors" in shown
    send_queued()
    [trigger] = firing.deliveries.filter(service=android, event_action=EventAction.TRIGGER)
    assert _accepted(pagerduty, trigger.dedup_key) == ["trigger"]


def test_an_edit_does_not_page_a_fallback_chosen_while_the_last_ones_incident_is_open(
    org, make_service, pagerduty, admin_client
):
    legacy = _service(make_service, "Legacy DB", REFUSED_KEYS[0])
    other = _service(make_service, "Old search", REFUSED_KEYS[1])
    PagerDutyService.objects.filter(pk__in=[legacy.pk, other.pk]).update(refused_at=timezone.now())
    first = _service(make_service, "Payments fallback")
    _choose(admin_client, org, first)
    alert, firing = open_firing(org, legacy)
    send_queued()
    assert firing.deliveries.get(service=first).status == Delivery.Status.DELIVERED
    android = _service(make_service, "Android Sync")
    assert "is paged now" not in _choose(admin_client, org, android)

    alert.targets.add(other)  # another refused service: Payments fallback's incident is open
    firings.sync_targets(firing, alert, 5)
    send_queued()
    assert firing.deliveries.filter(service=other).exists()
    assert not firing.deliveries.filter(service=android).exists()
