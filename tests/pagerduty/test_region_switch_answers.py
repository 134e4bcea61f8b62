"""An answer from a region is PagerDuty's answer about a pasted key's service only if that
region is the service's region now. A person's region switch moves the service's queued
deliveries there (same key); a delivery already on its way to the region left is answered
there, and that answer marks nothing and heals nothing. A key refused in both regions is
advised as a wrong key, not as a region to switch back to (review r17, items 1 and 8)."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.pagerduty import delivery as engine
from integrations.pagerduty import paths, statements
from integrations.pagerduty.models import Delivery, PagerDutyService
from integrations.pagerduty.paths import PathState, service_health
from tests.delivery.sending import open_firing, send_queued
from tests.pagerduty.test_unconfirmed_path import TYPO, _key, _paste, _switch, _test_event

pytestmark = pytest.mark.django_db


def _health(service: PagerDutyService) -> paths.ServiceHealth:
    service.refresh_from_db()
    return service_health(service)


def _trigger(firing) -> Delivery:
    return Delivery.objects.get(firing=firing, event_action="trigger", service__isnull=False)


def _in_flight(delivery: Delivery) -> tuple[uuid.UUID, list[statements.Attempt]]:
    """Claimed by a worker, as if its send to PagerDuty were under way."""
    token, now = uuid.uuid4(), timezone.now()
    claimed = statements.claim([delivery.pk], token, now, now + settings.DELIVERY_LEASE)
    assert [a.pk for a in claimed] == [delivery.pk]
    return token, claimed


def _answered(token: uuid.UUID, claimed: list[statements.Attempt]) -> None:
    """The claimed sends go out (to the region they were claimed for) and are settled."""
    engine._send_all(token, claimed)
    engine._settle(token, claimed)


def test_a_trigger_queued_in_the_old_region_pages_in_the_new_one(admin_client, org, pagerduty):
    # An EU key pasted as a US one: refused in the US.
    service = _paste(admin_client, org, _key(pagerduty, "eu", "Search EU"), "us", "Billing EU")
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED
    # A firing's trigger waits in the US (a retry, or the rate limit) as the person switches.
    _, firing = open_firing(org, service, "Payments 5xx")
    trigger = _trigger(firing)
    assert (trigger.status, trigger.region) == (Delivery.Status.QUEUED, "us")

    _switch(admin_client, org, service, "eu")
    trigger.refresh_from_db()
    assert (trigger.status, trigger.region) == (Delivery.Status.QUEUED, "eu")

    send_queued()
    trigger.refresh_from_db()
    assert trigger.status == Delivery.Status.DELIVERED  # paged in the EU
    assert _health(service).state == PathState.OK


def test_the_reviewers_typo_key_is_refused_in_the_new_region_and_not_sent_back(
    admin_client, org, pagerduty
):
    service = _paste(admin_client, org, TYPO, "us", "Typo key")
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED
    _, firing = open_firing(org, service, "Payments 5xx")
    trigger = _trigger(firing)

    _switch(admin_client, org, service, "eu")
    send_queued()
    trigger.refresh_from_db()
    # Sent to the EU (where the person said the key is), and refused there too.
    assert (trigger.status, trigger.region) == (Delivery.Status.FAILED, "eu")
    health = _health(service)
    assert health.state == PathState.REFUSED
    assert "in the European Union, and refused it in the United States before" in health.cause
    for words in (health.words, health.advice(True, org.name, here=True)):
        assert "switch this service" not in words and "Switch to" not in words
        assert "region “United States”" not in words
        assert "Copy the key again from the integration in PagerDuty" in words
    member = health.advice(False, org.name)
    assert "paste its key again from PagerDuty" in member and "switch it" not in member


def test_a_refusal_from_the_region_left_marks_nothing(admin_client, org, pagerduty):
    service = _paste(admin_client, org, TYPO, "us", "Typo key")
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED
    _, firing = open_firing(org, service, "Payments 5xx")
    trigger = _trigger(firing)
    token, claimed = _in_flight(trigger)  # on its way to the US

    _switch(admin_client, org, service, "eu")
    _answered(token, claimed)
    trigger.refresh_from_db()
    assert (trigger.status, trigger.region) == (Delivery.Status.FAILED, "us")  # not moved
    # The US said nothing about the EU: still the person's guess, not refused there.
    health = _health(service)
    assert health.state == PathState.UNCONFIRMED
    assert service.refused_at is None and service.unconfirmed_at is not None


def test_a_success_in_the_region_left_confirms_nothing(admin_client, org, pagerduty):
    # A key PagerDuty knows in the US, refused there for a while (as a removed and
    # re-added integration would be), switched to the EU by a person's wrong guess.
    service = _paste(admin_client, org, _key(pagerduty, "us", "Redis Cache"), "us", "Cache")
    _, firing = open_firing(org, service, "Cache misses")
    trigger = _trigger(firing)
    paths.record([paths.Outcome(service.pk, refused=True, detail="Invalid routing key")])
    token, claimed = _in_flight(trigger)

    _switch(admin_client, org, service, "eu")
    _answered(token, claimed)
    trigger.refresh_from_db()
    assert (trigger.status, trigger.region) == (Delivery.Status.DELIVERED, "us")
    # Taken in the US: not a word about the EU, where it pages now.
    assert _health(service).state == PathState.UNCONFIRMED
