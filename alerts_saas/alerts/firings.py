"""Opening and clearing firings, and the PagerDuty events that go with them.

Every change is a compare-and-set: a firing opens only if none is open for its alert (a
partial unique index says so), and clears only if it is still open. The deliveries are
written in the same transaction, so a firing and its pages exist together or not at all.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import redis
from django.db import transaction
from django.db.models import Case, PositiveIntegerField, Q, Value, When, prefetch_related_objects
from django.utils import timezone

from alerts_saas.accounts.models import User
from alerts_saas.alerts import owed
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.paging import Pager, targets_of, targets_of_alerts
from alerts_saas.alerts.paging import counter_of as counter_of  # for its callers
from alerts_saas.alerts.paging import trigger_payload as trigger_payload
from alerts_saas.alerts.payload import severity_of_level
from alerts_saas.locks import lock_rows_without_key
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, Reason

if TYPE_CHECKING:
    from alerts_saas.ingest.models import ApiToken

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def _severities(alert: Alert, counters: list[CounterSet], now: datetime) -> dict[CounterSet, str]:
    """The severity each counter set's firing pages with: the alert's, or the highest level
    among the window's matching events (the alert's if the count store can't tell); one
    read for all of them."""
    if not alert.severity_from_events:
        return dict.fromkeys(counters, alert.severity)
    try:
        levels = counts().highest_levels(counters, now.timestamp())
    except redis.RedisError:
        log.warning("Alert %s pages at its own severity (no counts)", alert.pk)
        levels = {}
    return {
        c: alert.severity if (level := levels.get(c)) is None else severity_of_level(level)
        for c in counters
    }


def open_firing(alert: Alert, total: int, now: datetime, group: str | None = None) -> Firing | None:
    """Open a firing (of one value of the alert's group field, `group`, for an alert that
    groups) and page every target. None if one was already open, or if the alert was
    disabled or its condition changed since `alert` was read: `total` then counts for
    something that no longer exists."""
    opened = open_firings(alert, [(group, total)], now)
    return opened[0] if opened else None


def open_firings(
    alert: Alert, values: Sequence[tuple[str | None, int]], now: datetime
) -> list[Firing]:
    """`open_firing` for many values of an alert that groups at once (an edit lowered its
    threshold, say), each with its count (a value None: the alert counts all its events
    together, as `open_firing`'s `group`): one lock on the alert, one read of the values
    already open, one insert of the firings and one of their triggers. Returns those
    opened (none if the alert was disabled or its condition changed since it was read).
    A value whose firing was cleared after `now` is not opened, nor one the alert no longer
    has registered: the decision was made on counts read before that (a beat that read a
    host just before a person stopped watching it, whether it had fired or not), and the
    next check decides again."""
    if not values:
        return []
    with transaction.atomic():
        # Every opening takes this lock first: no other can open one of these meanwhile.
        if (
            not Alert.objects.select_for_update(no_key=True)
            .filter(pk=alert.pk, enabled=True, generation=alert.generation)
            .exists()
        ):
            return []
        taken = set(
            Firing.objects.filter(
                Q(cleared_at__isnull=True) | Q(cleared_at__gt=now),
                organization_id=alert.organization_id,
                alert=alert,
                group__in=[value or "" for value, _ in values],
            ).values_list("group", flat=True)
        )
        new = {value: total for value, total in values if (value or "") not in taken}
        if alert.group_by and new:
            new = _still_registered(alert, new)
        severities = _severities(alert, [CounterSet.of(alert, value) for value in new], now)
        opened = Firing.objects.bulk_create(
            Firing(
                organization_id=alert.organization_id,
                alert=alert,
                group=value or "",
                opened_at=now,
                count_at_open=total,
                severity=severities[CounterSet.of(alert, value)],
            )
            for value, total in new.items()
        )
        targets = targets_of(alert)
        pager = Pager(opened, timezone.now(), targets)
        engine.queue(
            [d for f in opened for d in pager.triggers(alert, f, targets, f.count_at_open)]
        )
        pager.save_holds()
    return opened


def _still_registered(alert: Alert, new: dict[str | None, int]) -> dict[str | None, int]:
    """Those of `new` the alert still has registered, read under the alert's lock, which
    stopping watching a value holds to forget it. If the count store can't tell, all of
    them: a page that a race might have made needless beats one left unsent."""
    try:
        kept = counts().registered(CounterSet.of(alert), [v for v in new if v is not None])
    except redis.RedisError:
        log.warning("Alert %s opens without checking its values (no counts)", alert.pk)
        return new
    return {value: total for value, total in new.items() if value is None or value in kept}


def clear_firing(
    firing: Firing,
    reason: str,
    now: datetime,
    total: int | None = None,
    by: User | None = None,
    by_token: ApiToken | None = None,
) -> bool:
    """Clear the firing and resolve its incidents; False if it was cleared already. `by`:
    the person who resolved it in Tripwire, or `by_token` the API token (a token is no
    person): the firing and its resolves name them as they are written. Cleared because
    PagerDuty resolved every incident, it sends nothing: there is nothing left to resolve."""
    totals = None if total is None else {firing.pk: total}
    cleared, _ = clear_firings([firing], reason, now, totals, by=by, by_token=by_token)
    return bool(cleared)


def clear_firings(
    firings: Sequence[Firing],
    reason: str,
    now: datetime,
    totals: dict[int, int] | None = None,
    by: User | None = None,
    by_token: ApiToken | None = None,
) -> tuple[int, int]:
    """`clear_firing` for many firings (all of an alert that groups, disabled, deleted or
    edited), with their counts by id (`totals`) if known, in a fixed number of queries:
    one lock, one update, one read of their open incidents, one insert of the resolves.
    Returns how many were still open and how many resolves it queued: none for a firing
    whose incident was resolved already (a disconnect), held by a mute or refused."""
    totals = totals or {}
    resolves: list[Delivery] = []
    with transaction.atomic():
        cleared = _lock_open(firings)
        if not cleared:
            return 0, 0
        counted = Case(
            *(When(pk=f.pk, then=Value(totals[f.pk])) for f in cleared if f.pk in totals),
            default=Value(None),
            output_field=PositiveIntegerField(null=True),
        )
        Firing.objects.filter(pk__in=[f.pk for f in cleared]).update(
            cleared_at=now,
            clear_reason=reason,
            count_at_clear=counted,
            cleared_by=by,
            cleared_by_token=by_token,
        )
        for firing in cleared:
            firing.cleared_at, firing.clear_reason = now, reason
            firing.count_at_clear, firing.cleared_by = totals.get(firing.pk), by
            firing.cleared_by_token = by_token
        if reason != Firing.ClearReason.INCIDENT_RESOLVED:
            why = Reason.BY_HAND if reason == Firing.ClearReason.RESOLVED else reason
            resolves = [
                engine.follow_up(
                    trigger,
                    EventAction.RESOLVE,
                    created_by=by,
                    reason=why,
                    created_by_token=by_token,
                )
                for triggers in _open_triggers(cleared).values()
                for trigger in triggers
            ]
            engine.queue(resolves)
    return len(cleared), len(resolves)


def _lock_open(firings: Sequence[Firing], **also: object) -> list[Firing]:
    """Those of `firings` still open (and matching `also`), locked, in their order; their
    alerts' rows locked first (`lock_alerts`)."""
    if not firings:
        return []
    organizations = {f.organization_id for f in firings}
    lock_alerts(organizations, {f.alert_id for f in firings})
    # Without their key (nothing here changes it): a delivery written meanwhile about one of
    # them (a removal's resolve) checks its foreign key without waiting for this lock.
    locked = set(
        Firing.objects.select_for_update(no_key=True)
        .filter(
            organization_id__in=organizations,
            pk__in=[f.pk for f in firings],
            cleared_at__isnull=True,
            **also,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [f for f in firings if f.pk in locked]


def lock_and_reread(found: Collection[Firing], read: Callable[[list[int]], list[_T]]) -> list[_T]:
    """`read` (a query of the firings of the ids given) once those of `found` still open are
    locked as every writer locks them (`_lock_open`); nothing if none is. Unlocked, stale."""
    locked = _lock_open(list({f.pk: f for f in found}.values()))
    return read([f.pk for f in locked]) if locked else []


def lock_alerts(organization_ids: Collection[int], alert_ids: Collection[int]) -> None:
    """Lock the alerts' rows (in pk order) before any of their firings. Every writer takes
    an alert's row before its firings: the alert form's save, the views under the alert's
    lock, `open_firings`, and, through this, whatever locks firings. Locking the firings
    first, the beat's release of held firings waited at its commit for the alert's row (its
    deliveries' foreign key) while a save that held the row waited for the firings: a
    deadlock. No key: other rows may still refer to the alert meanwhile. The removal of a
    service takes them the same way (`lock_rows_without_key`)."""
    lock_rows_without_key(Alert, organization_ids, alert_ids)


def _open_triggers(firings: Sequence[Firing]) -> dict[int, list[Delivery]]:
    """The open incidents' triggers of each firing (`engine.open_triggers`), read at once."""
    deliveries = Delivery.objects.filter(
        organization_id__in={f.organization_id for f in firings},
        firing_id__in=[f.pk for f in firings],
    )
    found: dict[int, list[Delivery]] = defaultdict(list)
    for trigger in engine.open_triggers(deliveries):
        assert trigger.firing_id is not None  # read by its firing
        found[trigger.firing_id].append(trigger)
    return found


def sync_targets(firing: Firing, alert: Alert, total: int) -> None:
    """After an edit: page the targets the open firing has not paged, resolve the removed."""
    sync_targets_of(alert, [(firing, total)])


def sync_targets_of(alert: Alert, firings: Sequence[tuple[Firing, int]]) -> None:
    """`sync_targets` for open firings of the alert, each with its count: the same
    queries for 300 firing hosts as for one."""
    for firing, _ in firings:
        firing.alert = alert
    _sync_targets(firings)


def _sync_targets(firings: Sequence[tuple[Firing, int]]) -> None:
    """`sync_targets_of` for open firings of any alerts, each with its `alert` and count:
    one lock, one read of their triggers and one of their targets, one insert."""
    with transaction.atomic():
        still_open = _lock_open([firing for firing, _ in firings])
        if not still_open:
            return
        totals = {firing.pk: total for firing, total in firings}
        triggers = _open_triggers(still_open)
        targets = targets_of_alerts(f.alert for f in still_open)
        pager = Pager(still_open, timezone.now(), (s for its in targets.values() for s in its))
        pages, resolves = [], []
        for firing in still_open:
            # The fallback's incident is the firing's, not a target's: it stays until it
            # clears.
            paged = {
                d.service_id: d for d in triggers.get(firing.pk, []) if d.reason != Reason.FALLBACK
            }
            theirs = {s.pk for s in targets[firing.alert_id]}
            # A muted target is still a target: held by the pager, never resolved here.
            new = [s for s in targets[firing.alert_id] if s.pk not in paged]
            pages += pager.triggers(firing.alert, firing, new, totals[firing.pk])
            resolves += [
                engine.follow_up(trigger, EventAction.RESOLVE, reason=Reason.TARGET_REMOVED)
                for pk, trigger in paged.items()
                if pk not in theirs
            ]
        pager.save_holds()
        engine.queue(pages + resolves)


def sync_open_firing(alert: Alert) -> bool:
    """`sync_targets` for the alert's open firings, if it has any, in the caller's
    transaction, with the counts read now; False if none is open (`sync_open_firings_of`)."""
    return bool(sync_open_firings_of([alert]))


def sync_open_firings_of(alerts: Sequence[Alert]) -> int:
    """`sync_open_firing` for many alerts at once (a service removed moves them all to
    another): one read of their open firings, one of their counts and of their details,
    and `sync_targets_of`'s queries once for all of them, however many alerts move. If
    the count store can't be read, a firing's count when it opened stands in: the new
    targets are paged all the same. Returns how many firings were open."""
    by_pk = {alert.pk: alert for alert in alerts}
    open_firings = list(
        Firing.objects.filter(
            organization_id__in={alert.organization_id for alert in alerts},
            alert_id__in=by_pk,
            cleared_at__isnull=True,
        ).order_by("alert_id", "group")
    )
    if not open_firings:
        return 0
    for firing in open_firings:
        firing.alert = by_pk[firing.alert_id]
    # Their triggers' payloads name each alert's details: read for all of them at once.
    prefetch_related_objects(list({f.alert_id: f.alert for f in open_firings}.values()), "details")
    totals = totals_now(open_firings)
    _sync_targets([(firing, totals[firing.pk]) for firing in open_firings])
    return len(open_firings)


def totals_now(found: Sequence[Firing]) -> dict[int, int]:
    """The matching events in the window now of each firing (its `alert` read with it), by
    id, in one read; their counts when they opened if the count store can't be read (a
    page without them beats no page)."""
    counters = {f.pk: counter_of(f.alert, f) for f in found}
    try:
        now = counts().totals(counters.values(), time.time())
    except redis.RedisError:
        alerts = sorted({f.alert_id for f in found})
        log.warning("Alerts %s page with their counts at opening (no counts)", alerts)
        return {f.pk: f.count_at_open for f in found}
    return {pk: now[counter] for pk, counter in counters.items()}


def open_firings_of(alert: Alert) -> list[Firing]:
    """The alert's open firings: one at most, or one per value for an alert that groups."""
    return list(Firing.objects.filter(alert=alert, cleared_at__isnull=True).order_by("group"))


def release_held(firing: Firing, alert: Alert, total: int) -> bool:
    """Page what a mute held and no window mutes any more, if the firing is still open;
    True once nothing is held any more (`release_held_of`)."""
    firing.alert = alert
    return bool(release_held_of([firing], {firing.pk: total}))


def release_held_of(held: Sequence[Firing], totals: dict[int, int]) -> list[Firing]:
    """Page what a mute held and no window mutes any more, for each firing still open and
    held (its `alert` read with it): its targets never tried or `owed` a trigger again (one
    whose trigger went and can't page is not), and the fallback if a target can't page. Returns
    those that hold nothing any more. One moment and one lock on the firings for the whole
    decision, so a window that ends meanwhile can't leave a target unpaged and a firing
    marked released; the same queries for 300 held hosts as for one."""
    now = timezone.now()
    with transaction.atomic():
        found = _lock_open(held, held=True)
        if not found:
            return []
        Firing.objects.filter(pk__in=[f.pk for f in found]).update(held=False)
        sent: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in (
            Delivery.objects.filter(
                organization_id__in={f.organization_id for f in found},
                firing_id__in=[f.pk for f in found],
                event_action=EventAction.TRIGGER,
            )
            .exclude(reason=Reason.FALLBACK)
            .select_related("service__account")
        ):
            assert delivery.firing_id is not None  # read by its firing
            sent[delivery.firing_id].append(delivery)
        targets = targets_of_alerts(f.alert for f in found)
        again = owed.failed_services({f.organization_id for f in found}, [f.pk for f in found])
        pager = Pager(found, now, (s for its in targets.values() for s in its))
        pages = []
        for firing in found:
            firing.held = False
            tried = {d.service_id for d in sent[firing.pk]} - again[firing.pk]
            owed_now = [s for s in targets[firing.alert_id] if s.pk not in tried]
            pages += pager.triggers(firing.alert, firing, owed_now, totals[firing.pk])
            paged = [(d.service, d) for d in sent[firing.pk] if d.service is not None]
            pages += pager.fallback(
                firing.alert, firing, [s for s, _ in paged], [d for _, d in paged]
            )
        # The pager marks held again what a window still mutes.
        pager.save_holds()
        engine.queue(pages)
        return [f for f in found if not f.held]
