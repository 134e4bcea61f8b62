"""The organization's fallback pages again the firings it could not: PagerDuty refused a
firing's trigger on its own service and the copy to the fallback too, so the firing reached
nobody; once the fallback heals by itself (a delivery to it gets through) or is mended (its
pasted key's region corrected), the firing is paged through it, once, while its own service
stays refused, as the dashboard says (it reaches someone: the fallback). Never a firing whose
fallback trigger PagerDuty accepted already. Real PostgreSQL (the page goes out once the heal
commits), the sandbox."""

from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Firing
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.delivery.fallback_copies import accepted, fallback_keys, refused_everywhere
from tests.delivery.fallback_copies import copies as _copies
from tests.delivery.fallback_copies import fallback as _fallback
from tests.delivery.fallback_copies import reaches as _reaches
from tests.delivery.sending import open_firing, send_queued

pytestmark = pytest.mark.django_db(transaction=True)


def _accepted(pagerduty, firing: Firing, fallback: PagerDutyService) -> int:
    """How many triggers PagerDuty accepted under the firing's one key to the fallback."""
    [_] = fallback_keys(firing, fallback)
    return accepted(pagerduty, firing, fallback)


def _refused_everywhere(org, make_service, pagerduty, fallback) -> tuple[Firing, PagerDutyService]:
    """'DB errors': PagerDuty refused its trigger on its own service and the copy to the
    fallback (once each: the fault's count, or the fallback's key in the wrong region)."""
    service = make_service("Checkout API 001")
    firing = refused_everywhere(org, service, fallback, "DB errors")
    assert not _reaches(firing)
    return firing, service


def test_a_fallback_that_heals_pages_the_firing_that_reached_nobody_once(
    org, make_service, pagerduty
):
    fallback = _fallback(make_service)
    pagerduty.fault("events-us", "refuse", count=2)  # the trigger, then the fallback's copy
    firing, service = _refused_everywhere(org, make_service, pagerduty, fallback)

    # An alert paging the fallback itself gets through: the fallback heals, and pages
    # 'DB errors' now, while its own service stays refused.
    open_firing(org, fallback, "Queue depth")
    send_queued()
    assert PagerDutyService.objects.get(pk=fallback.pk).refused_at is None
    assert PagerDutyService.objects.get(pk=service.pk).refused_at is not None
    assert _reaches(firing)
    assert _copies(firing, fallback) == [Delivery.Status.FAILED, Delivery.Status.DELIVERED]
    assert _accepted(pagerduty, firing, fallback) == 1

    # Another delivery that gets through changes nothing: it was paged already.
    open_firing(org, fallback, "Checkout errors")
    send_queued()
    assert _copies(firing, fallback) == [Delivery.Status.FAILED, Delivery.Status.DELIVERED]
    assert _accepted(pagerduty, firing, fallback) == 1


def test_a_fallback_mended_by_hand_pages_the_firing_that_reached_nobody(
    org, make_service, pagerduty, admin_client
):
    # The fallback's key is of the EU, pasted as a US one: PagerDuty refuses it in the US.
    fallback = _fallback(make_service, region="eu")
    PagerDutyService.objects.filter(pk=fallback.pk).update(region="us")
    pagerduty.fault("events-us", "refuse")  # the firing's own trigger
    firing, _ = _refused_everywhere(org, make_service, pagerduty, fallback)

    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{fallback.pk}/region/"
    assert admin_client.post(url, {"region": "eu"}).status_code == 302
    send_queued()
    assert _reaches(firing)
    assert _copies(firing, fallback) == [Delivery.Status.FAILED, Delivery.Status.DELIVERED]
    assert _accepted(pagerduty, firing, fallback) == 1


def test_a_firing_the_fallback_paged_already_is_not_paged_again(org, make_service, pagerduty):
    fallback = _fallback(make_service)
    pagerduty.fault("events-us", "refuse")  # the first firing's own trigger only
    service = make_service("Checkout API 001")
    _, paged = open_firing(org, service, "Disk full")
    send_queued()
    assert _copies(paged, fallback) == [Delivery.Status.DELIVERED]

    # A second firing's copy is refused, and the fallback marked, then it heals.
    pagerduty.fault("events-us", "refuse", count=2)
    _, refused = open_firing(org, service, "DB errors")
    send_queued()
    assert _copies(refused, fallback) == [Delivery.Status.FAILED]
    assert PagerDutyService.objects.get(pk=fallback.pk).refused_at is not None
    open_firing(org, fallback, "Queue depth")
    send_queued()
    assert _copies(refused, fallback) == [Delivery.Status.FAILED, Delivery.Status.DELIVERED]
    assert _copies(paged, fallback) == [Delivery.Status.DELIVERED]
    assert _accepted(pagerduty, paged, fallback) == 1
