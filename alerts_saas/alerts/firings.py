"""Opening and clearing firings, and the PagerDuty events that go with them.

Every change is a compare-and-set: a firing opens only if none is open for its alert (a
partial unique index says so), and clears only if it is still open. The deliveries are
written in the same transaction, so a firing and its pages exist together or not at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import IntegrityError, transaction

from alerts_saas.alerts.conditions import describe
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.payload import draft_of, render_payload
from integrations.pagerduty import delivery as engine
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason

log = logging.getLogger(__name__)
RECENT_IN_TRIGGER = 5


def trigger_payload(alert: Alert, total: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trigger's payload and its extra top-level fields (links, client)."""
    payload = render_payload(draft_of(alert), count=total)
    details = payload["custom_details"]
    details["condition"] = f"{alert.condition_label}; counting {describe(alert)}"
    details["matching_events_in_window"] = total
    details["recent_matching_events"] = _recent_events(alert)
    url = settings.SITE_URL + alert.get_absolute_url()
    extra = {
        "client": settings.PRODUCT_NAME,
        "client_url": url,
        "links": [{"href": url, "text": f"“{alert.name}” in {settings.PRODUCT_NAME}"}],
    }
    return payload, extra


def _recent_events(alert: Alert) -> list[dict[str, Any]]:
    """The latest matching events for a trigger's details; none if the count store can't be
    read (a page without them beats no page)."""
    try:
        return counts().recent(CounterSet.of(alert), RECENT_IN_TRIGGER)
    except redis.RedisError:
        log.warning("Alert %s's trigger goes without its latest events (no counts)", alert.pk)
        return []


def _triggers(
    firing: Firing, alert: Alert, services: Iterable[PagerDutyService], total: int
) -> list[Delivery]:
    """Queue a trigger to each service; where one can't page (refused by PagerDuty, or its
    account needs reconnecting), also one to the organization's fallback service."""
    services = list(services)
    if not services:
        return []
    payload, extra = trigger_payload(alert, total)
    triggers = [
        engine.build_event(
            service,
            EventAction.TRIGGER,
            firing.dedup_key(service.pk),
            payload,
            extra=extra,
            alert=alert,
            firing=firing,
        )
        for service in services
    ]
    return engine.queue(triggers + _fallback(firing, services, triggers))


def _fallback(
    firing: Firing, services: list[PagerDutyService], triggers: list[Delivery]
) -> list[Delivery]:
    """The fallback trigger for this firing, if a target can't page and none went yet."""
    broken = [
        (service, trigger, health)
        for service, trigger in zip(services, triggers, strict=True)
        if (health := paths.service_health(service)).needs_fallback
    ]
    if not broken:
        return []
    key = engine.fallback_dedup_key(firing.organization_id, firing.pk)
    if firing.deliveries.filter(dedup_key=key).exists():
        return []
    service, trigger, health = broken[0]
    why = f"{service.name} can't page: {health.words}"
    copy = engine.fallback_for(trigger, paths.fallback_service(firing.organization_id), why)
    return [copy] if copy is not None else []


def open_firing(alert: Alert, total: int, now: datetime) -> Firing | None:
    """Open a firing and page every target. None if one was already open, or if the alert
    was disabled or its condition changed since `alert` was read: `total` then counts for
    something that no longer exists."""
    with transaction.atomic():
        # The row lock orders this against a concurrent edit, toggle or delete.
        if (
            not Alert.objects.select_for_update()
            .filter(pk=alert.pk, enabled=True, generation=alert.generation)
            .exists()
        ):
            return None
        try:
            with transaction.atomic():
                firing = Firing.objects.create(
                    organization_id=alert.organization_id,
                    alert=alert,
                    opened_at=now,
                    count_at_open=total,
                )
        except IntegrityError:
            return None
        _triggers(firing, alert, _targets(alert), total)
    return firing


def clear_firing(firing: Firing, reason: str, now: datetime, total: int | None = None) -> bool:
    """Clear the firing and resolve its incidents; False if it was cleared already."""
    with transaction.atomic():
        cleared = Firing.objects.filter(pk=firing.pk, cleared_at__isnull=True).update(
            cleared_at=now, clear_reason=reason, count_at_clear=total
        )
        if not cleared:
            return False
        firing.cleared_at, firing.clear_reason, firing.count_at_clear = now, reason, total
        engine.queue(
            [
                engine.follow_up(trigger, EventAction.RESOLVE, reason=reason)
                for trigger in engine.open_triggers(firing.deliveries.all())
            ]
        )
    return True


def sync_targets(firing: Firing, alert: Alert, total: int) -> None:
    """After an edit: page the targets the open firing has not paged, resolve the removed."""
    with transaction.atomic():
        if (
            not Firing.objects.select_for_update()
            .filter(pk=firing.pk, cleared_at__isnull=True)
            .exists()
        ):
            return
        # The fallback's incident is the firing's, not a target's: it stays until it clears.
        paged = {
            d.service_id: d
            for d in engine.open_triggers(firing.deliveries.all())
            if d.reason != Reason.FALLBACK
        }
        targets = {s.pk: s for s in _targets(alert)}
        _triggers(firing, alert, [s for pk, s in targets.items() if pk not in paged], total)
        engine.queue(
            [
                engine.follow_up(trigger, EventAction.RESOLVE, reason=Reason.TARGET_REMOVED)
                for pk, trigger in paged.items()
                if pk not in targets
            ]
        )


def sync_open_firing(alert: Alert) -> bool:
    """`sync_targets` for the alert's open firing, if it has one, in the caller's transaction,
    with the count read now; False if none is open. If the count store can't be read, the
    firing's count when it opened stands in: the new targets are paged all the same."""
    firing = open_firing_of(alert)
    if firing is None:
        return False
    counter = CounterSet.of(alert)
    try:
        total = counts().totals([counter], time.time())[counter]
    except redis.RedisError:
        log.warning("Alert %s's new targets get its count at opening (no counts)", alert.pk)
        total = firing.count_at_open
    sync_targets(firing, alert, total)
    return True


def _targets(alert: Alert) -> list[PagerDutyService]:
    return list(alert.targets.select_related("account"))


def open_firing_of(alert: Alert) -> Firing | None:
    return Firing.objects.filter(alert=alert, cleared_at__isnull=True).first()
