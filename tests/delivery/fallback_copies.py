"""What the tests of a fallback that pages again share (the heal's callback, beat's safety
net): the organization's fallback, a firing PagerDuty refused on its own service and on the
fallback, and what became of the firing's copies to the fallback."""

from __future__ import annotations

from typing import Any

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.reach import reaches_someone
from integrations.pagerduty.models import Delivery, PagerDutyService, Reason
from tests.delivery.sending import open_firing, send_queued


def fallback(make_service: Any, **kwargs: Any) -> PagerDutyService:
    """The service "Checkout API 002", the organization's fallback."""
    made = make_service("Checkout API 002", **kwargs)
    PagerDutyService.objects.filter(pk=made.pk).update(is_fallback=True)
    return made


def copies(firing: Firing, fallback: PagerDutyService) -> list[str]:
    """The statuses of the firing's triggers to the fallback, in order."""
    rows = firing.deliveries.filter(service=fallback, reason=Reason.FALLBACK)
    return list(rows.order_by("created_at", "pk").values_list("status", flat=True))


def fallback_keys(firing: Firing, fallback: PagerDutyService) -> set[str]:
    """The dedup keys of the firing's triggers to the fallback."""
    rows = firing.deliveries.filter(service=fallback, reason=Reason.FALLBACK)
    return set(rows.values_list("dedup_key", flat=True))


def accepted(pagerduty: Any, firing: Firing, fallback: PagerDutyService) -> int:
    """How many triggers PagerDuty accepted under the firing's keys to the fallback."""
    keys = fallback_keys(firing, fallback)
    return sum(e["status_code"] == 202 for key in keys for e in pagerduty.events(dedup_key=key))


def reaches(firing: Firing) -> bool:
    """The dashboard's word: the firing's alert reaches someone."""
    return Alert.objects.filter(reaches_someone(), pk=firing.alert_id).exists()


def refused_everywhere(
    org: Organization, service: PagerDutyService, fallback: PagerDutyService, name: str
) -> Firing:
    """PagerDuty refused the firing's trigger on its own service and its copy to the
    fallback (the sandbox's fault set by the caller)."""
    _, firing = open_firing(org, service, name)
    send_queued()
    assert firing.deliveries.get(service=service).status == Delivery.Status.FAILED
    assert copies(firing, fallback) == [Delivery.Status.FAILED]
    return firing
