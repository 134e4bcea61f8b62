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
from django.utils import timezone

from alerts_saas.accounts.models import User
from alerts_saas.alerts import mutes
from alerts_saas.alerts.conditions import describe
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.payload import draft_of, render_payload, severity_of_level
from integrations.pagerduty import delivery as engine
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason

log = logging.getLogger(__name__)
RECENT_IN_TRIGGER = 5


def trigger_payload(
    alert: Alert, total: int, firing: Firing | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trigger's payload and its extra top-level fields (links, client): about the
    firing's value of the group field, at its severity, for an alert that groups or whose
    severity follows the events."""
    counter = counter_of(alert, firing)
    payload = render_payload(draft_of(alert), count=total, group=counter.group)
    if firing is not None and firing.severity:
        payload["severity"] = firing.severity
    details = payload["custom_details"]
    details["condition"] = f"{alert.condition_label}; counting {describe(alert)}"
    details["matching_events_in_window"] = total
    details["recent_matching_events"] = _recent_events(alert, counter)
    url = settings.SITE_URL + alert.get_absolute_url()
    extra = {
        "client": settings.PRODUCT_NAME,
        "client_url": url,
        "links": [{"href": url, "text": f"“{alert.name}” in {settings.PRODUCT_NAME}"}],
    }
    return payload, extra


def counter_of(alert: Alert, firing: Firing | None) -> CounterSet:
    """Where a firing's counts live: its value's, for an alert that groups."""
    if alert.group_by and firing is not None:
        return CounterSet.of(alert, firing.group)
    return CounterSet.of(alert)


def _severity(alert: Alert, counter: CounterSet, now: datetime) -> str:
    """The severity to page with: the alert's, or the highest level among the window's
    matching events (the alert's if the count store can't tell)."""
    if not alert.severity_from_events:
        return alert.severity
    try:
        level = counts().highest_level(counter, now.timestamp())
    except redis.RedisError:
        log.warning("Alert %s pages at its own severity (no counts)", alert.pk)
        level = None
    return alert.severity if level is None else severity_of_level(level)


def _recent_events(alert: Alert, counter: CounterSet) -> list[dict[str, Any]]:
    """The latest matching events for a trigger's details; none if the count store can't be
    read (a page without them beats no page)."""
    try:
        return counts().recent(counter, RECENT_IN_TRIGGER)
    except redis.RedisError:
        log.warning("Alert %s's trigger goes without its latest events (no counts)", alert.pk)
        return []


def _triggers(
    firing: Firing,
    alert: Alert,
    services: Iterable[PagerDutyService],
    total: int,
    now: datetime | None = None,
) -> list[Delivery]:
    """Queue a trigger to each service; where one can't page (refused by PagerDuty, or its
    account needs reconnecting), also one to the organization's fallback service. A muted
    target (at `now`) gets none: the firing is marked held, and `release_held` pages it
    later."""
    now = now or timezone.now()
    services = list(services)
    muted = mutes.muted_targets(alert, [s.pk for s in services], now) if services else ()
    if muted:
        _hold(firing)
        services = [s for s in services if s.pk not in muted]
    if not services:
        return []
    payload, extra = trigger_payload(alert, total, firing)
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
    return engine.queue(triggers + _fallback(firing, alert, services, triggers, now))


def _hold(firing: Firing) -> None:
    Firing.objects.filter(pk=firing.pk, held=False).update(held=True)
    firing.held = True


def _fallback(
    firing: Firing,
    alert: Alert,
    services: list[PagerDutyService],
    triggers: list[Delivery],
    now: datetime,
) -> list[Delivery]:
    """The fallback trigger for this firing, if a target can't page and none went yet. A
    muted fallback service is held like a target: `release_held` tries again."""
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
    fallback = paths.fallback_service(firing.organization_id)
    if fallback is not None and mutes.muted_targets(alert, [fallback.pk], now):
        _hold(firing)
        return []
    why = f"{service.name} can't page: {health.words}"
    copy = engine.fallback_for(trigger, fallback, why)
    return [copy] if copy is not None else []


def open_firing(alert: Alert, total: int, now: datetime, group: str | None = None) -> Firing | None:
    """Open a firing (of one value of the alert's group field, `group`, for an alert that
    groups) and page every target. None if one was already open, or if the alert was
    disabled or its condition changed since `alert` was read: `total` then counts for
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
                    group=group or "",
                    opened_at=now,
                    count_at_open=total,
                    severity=_severity(alert, CounterSet.of(alert, group), now),
                )
        except IntegrityError:
            return None
        _triggers(firing, alert, _targets(alert), total)
    return firing


def clear_firing(
    firing: Firing, reason: str, now: datetime, total: int | None = None, by: User | None = None
) -> bool:
    """Clear the firing and resolve its incidents; False if it was cleared already. `by`:
    the person who resolved it in Tripwire. Cleared because PagerDuty resolved every
    incident, it sends nothing: there is nothing left to resolve."""
    with transaction.atomic():
        cleared = Firing.objects.filter(pk=firing.pk, cleared_at__isnull=True).update(
            cleared_at=now, clear_reason=reason, count_at_clear=total, cleared_by=by
        )
        if not cleared:
            return False
        firing.cleared_at, firing.clear_reason, firing.count_at_clear = now, reason, total
        firing.cleared_by = by
        if reason == Firing.ClearReason.INCIDENT_RESOLVED:
            return True
        why = Reason.BY_HAND if reason == Firing.ClearReason.RESOLVED else reason
        engine.queue(
            [
                engine.follow_up(trigger, EventAction.RESOLVE, created_by=by, reason=why)
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
        # A muted target is still a target: held by `_triggers`, never resolved here.
        _triggers(firing, alert, [s for pk, s in targets.items() if pk not in paged], total)
        engine.queue(
            [
                engine.follow_up(trigger, EventAction.RESOLVE, reason=Reason.TARGET_REMOVED)
                for pk, trigger in paged.items()
                if pk not in targets
            ]
        )


def sync_open_firing(alert: Alert) -> bool:
    """`sync_targets` for the alert's open firings, if it has any, in the caller's
    transaction, with the counts read now; False if none is open. If the count store can't
    be read, a firing's count when it opened stands in: the new targets are paged all the
    same."""
    open_firings = open_firings_of(alert)
    counters = {firing: counter_of(alert, firing) for firing in open_firings}
    try:
        totals: dict[CounterSet, int] = counts().totals(counters.values(), time.time())
    except redis.RedisError:
        log.warning("Alert %s's new targets get its counts at opening (no counts)", alert.pk)
        totals = {}
    for firing, counter in counters.items():
        sync_targets(firing, alert, totals.get(counter, firing.count_at_open))
    return bool(open_firings)


def _targets(alert: Alert) -> list[PagerDutyService]:
    return list(alert.targets.select_related("account"))


def open_firing_of(alert: Alert) -> Firing | None:
    """The alert's open firing (the first, for an alert that groups)."""
    return Firing.objects.filter(alert=alert, cleared_at__isnull=True).first()


def open_firings_of(alert: Alert) -> list[Firing]:
    """The alert's open firings: one at most, or one per value for an alert that groups."""
    return list(Firing.objects.filter(alert=alert, cleared_at__isnull=True).order_by("group"))


def release_held(firing: Firing, alert: Alert, total: int) -> bool:
    """Page what a mute held and no window mutes any more, if the firing is still open:
    its targets never tried (a target whose trigger went, even if refused, is not paged
    again) and the fallback if a target can't page. True once nothing is held any more.
    One moment and one lock on the firing for the whole decision, so a window that ends
    meanwhile can't leave a target unpaged and the firing marked released."""
    now = timezone.now()
    with transaction.atomic():
        if (
            not Firing.objects.select_for_update()
            .filter(pk=firing.pk, cleared_at__isnull=True, held=True)
            .exists()
        ):
            return False
        Firing.objects.filter(pk=firing.pk).update(held=False)
        firing.held = False
        sent = list(
            firing.deliveries.filter(event_action=EventAction.TRIGGER)
            .exclude(reason=Reason.FALLBACK)
            .select_related("service__account")
        )
        tried = {d.service_id for d in sent}
        _triggers(firing, alert, [s for s in _targets(alert) if s.pk not in tried], total, now)
        paged = [(d.service, d) for d in sent if d.service is not None]
        engine.queue(_fallback(firing, alert, [s for s, _ in paged], [d for _, d in paged], now))
        # `_triggers` and `_fallback` mark it held again if a window still mutes something.
        return not firing.held
