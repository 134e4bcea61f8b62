"""Test incidents resolve themselves, and the test panel says when.

A test trigger ("Send test event", "Send test alert") is queued together with its resolve,
due `TEST_INCIDENT_AUTO_RESOLVE` later (10 minutes; 0 turns this off), in the same
transaction. The delivery engine sends it at its time: `queue` hands it to a task with that
countdown, the claim takes a row only once it is due and never a resolve before its trigger
is final, and the sweeper sends it if the broker lost the task. The automatic resolve
(its reason `TEST_EXPIRED`):

- goes at its time, or right after its trigger if the trigger is still being retried then;
- is taken over by a person who resolves first (`resolve_now`): a compare-and-set on the
  untried row makes it theirs (`BY_HAND`) and due at once, so one resolve is sent, and the
  history says who asked and when;
- is dropped, untried, when its trigger fails for good (the engine does this in the
  transaction that records the failure): there is no incident to resolve, and the history
  shows no resolve that never happened.

`incidents_of` puts test triggers' incidents in words for their panels, for a page of panels
at once (`panels`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts_saas.accounts.times import time_html
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, Reason

QUEUED, SENDING = Delivery.Status.QUEUED, Delivery.Status.SENDING
DELIVERED, FAILED = Delivery.Status.DELIVERED, Delivery.Status.FAILED


def queue_tests(triggers: list[Delivery]) -> list[Delivery]:
    """Queue unsaved test triggers, each followed by its automatic resolve; return the
    triggers, saved. Call inside the transaction that asks for them (see `engine.queue`)."""
    after = settings.TEST_INCIDENT_AUTO_RESOLVE
    rows: list[Delivery] = []
    for trigger in triggers:
        rows.append(trigger)
        if after > timedelta(0):
            rows.append(_automatic_resolve(trigger, after))
    engine.queue(rows)
    return triggers


def _automatic_resolve(trigger: Delivery, after: timedelta) -> Delivery:
    resolve = engine.follow_up(trigger, EventAction.RESOLVE, reason=Reason.TEST_EXPIRED)
    resolve.next_attempt_at = timezone.now() + after
    return resolve


def resolve_now(trigger: Delivery, person: Any) -> Delivery:
    """Resolve the test incident `trigger` opened, now, as `person` asked; return the resolve
    that does it.

    The automatic resolve becomes theirs if it was not tried yet; a resolve already on its
    way or delivered stands (nothing is sent twice); otherwise a new one is queued.
    """
    with transaction.atomic():
        resolves = _resolves(trigger)
        taken = take_over(resolves, person, Reason.BY_HAND)
        if taken:
            return taken[0]
        current = resolves.exclude(status=FAILED).last()
        if current is not None:
            return current
        resolve = engine.follow_up(trigger, EventAction.RESOLVE, person, Reason.BY_HAND)
        return engine.queue([resolve])[0]


def take_over(resolves: QuerySet[Delivery], person: Any, reason: str) -> list[Delivery]:
    """The automatic resolves among `resolves` that were not tried yet become `person`'s,
    sent for `reason`, due now; return them. Call inside a transaction.

    Compare-and-set: the rows are locked first, and a worker's claim skips locked rows, so a
    resolve is either taken over here or sent automatically, never both (the update checks
    again, for the embedded database, which has no row locks).
    """
    untried = resolves.filter(engine.UNTRIED_AUTOMATIC_RESOLVE)
    taken = list(untried.select_for_update(skip_locked=True).order_by("pk"))
    if not taken:
        return []
    ids = [resolve.pk for resolve in taken]
    now = timezone.now()
    changes = {"reason": reason, "created_by": person, "created_at": now, "next_attempt_at": now}
    untried.filter(pk__in=ids).update(**changes)
    for resolve in taken:
        for name, value in changes.items():
            setattr(resolve, name, value)
    transaction.on_commit(lambda: engine.enqueue(ids))
    return taken


def _resolves(trigger: Delivery) -> QuerySet[Delivery]:
    """The resolves of the test incident `trigger` opened, oldest first."""
    return Delivery.objects.filter(
        organization_id=trigger.organization_id,
        dedup_key=trigger.dedup_key,
        is_test=True,
        event_action=EventAction.RESOLVE,
    ).order_by("pk")


# --- The test panel -----------------------------------------------------------------------


class Automatic(StrEnum):
    """Where the automatic resolve of a test incident stands."""

    SCHEDULED = "scheduled"  # waiting for its time
    WAITING = "waiting"  # its time has come; it goes once PagerDuty takes the trigger
    RESOLVING = "resolving"  # being sent, or retried
    RESOLVED = "resolved"  # PagerDuty took it
    FAILED = "failed"  # PagerDuty did not take it


@dataclass(frozen=True)
class Incident:
    """The incident a test trigger opened, and its resolves, as the trigger's panel shows
    them."""

    trigger: Delivery
    automatic: Delivery | None  # the resolve nobody asked for, if it still stands
    by_hand: Delivery | None  # the latest resolve a person asked for (or a removal)
    now: datetime

    @property
    def state(self) -> Automatic | None:
        """None when there is nothing automatic to tell: none scheduled (turned off, or
        taken over by a person) or the trigger failed (then no incident was opened)."""
        resolve = self.automatic
        if resolve is None or self.trigger.status == FAILED:
            return None
        if resolve.status in (DELIVERED, FAILED):
            return Automatic.RESOLVED if resolve.status == DELIVERED else Automatic.FAILED
        if waits_for_its_time(resolve, self.now):
            return Automatic.SCHEDULED
        if self.trigger.status != DELIVERED:
            return Automatic.WAITING
        return Automatic.RESOLVING

    @property
    def note(self) -> str:
        """What the panel says about the incident resolving itself ('' for nothing); its
        times are `<time>` elements (so the words are HTML, escaped where they quote)."""
        state, resolve = self.state, self.automatic
        if state is None or resolve is None:
            return ""
        due = clock(resolve.next_attempt_at, self.now)
        if state == Automatic.SCHEDULED:
            when = format_html("at {} ({})", due, in_words(resolve.next_attempt_at - self.now))
            if self.trigger.status == DELIVERED:
                return format_html("The test incident resolves itself {}.", when)
            return format_html(
                "The test incident resolves itself {}, or as soon as PagerDuty takes "
                "this trigger if that is later.",
                when,
            )
        if state == Automatic.WAITING:
            return format_html(
                "The test incident resolves itself as soon as PagerDuty takes this trigger "
                "(it was due at {}).",
                due,
            )
        if state == Automatic.RESOLVING:
            if resolve.is_retrying:
                return (
                    "Resolving the test incident automatically: attempt "
                    f"{resolve.failed_attempts} failed ({resolve.last_error}); trying again."
                )
            return "Resolving the test incident automatically…"
        if state == Automatic.RESOLVED:
            at = clock(resolve.delivered_at or self.now, self.now)
            return format_html("The test incident was resolved automatically at {}.", at)
        error = resolve.last_error.rstrip(".")
        return f"The test incident could not be resolved automatically: {error}."

    @property
    def can_resolve(self) -> bool:
        """Whether "Resolve test incident" has something to do: the incident is open, and
        no resolve is on its way."""
        if self.trigger.status != DELIVERED or self.trigger.service_id is None:
            return False
        if self.by_hand is not None and self.by_hand.status != FAILED:
            return False
        return self.state in (None, Automatic.SCHEDULED, Automatic.FAILED)

    @property
    def polls(self) -> bool:
        """Whether the panel keeps asking after the automatic resolve."""
        return self.state in (Automatic.SCHEDULED, Automatic.WAITING, Automatic.RESOLVING)


def incidents_of(
    deliveries: Iterable[Delivery], now: datetime | None = None
) -> dict[int, Incident]:
    """The test incidents these test triggers opened, by trigger id (other deliveries have
    none): one query for them all, none without a test trigger, so a page of panels does
    not cost a query a panel."""
    triggers = [d for d in deliveries if d.is_test and d.event_action == EventAction.TRIGGER]
    if not triggers:
        return {}
    resolves: dict[str, list[Delivery]] = {}
    rows = Delivery.objects.filter(
        organization_id=triggers[0].organization_id,
        dedup_key__in={t.dedup_key for t in triggers},
        is_test=True,
        event_action=EventAction.RESOLVE,
    ).order_by("pk")
    for resolve in rows:
        resolves.setdefault(resolve.dedup_key, []).append(resolve)
    now = now or timezone.now()
    return {t.pk: _incident(t, resolves.get(t.dedup_key, ()), now) for t in triggers}


def _incident(trigger: Delivery, resolves: Iterable[Delivery], now: datetime) -> Incident:
    """`trigger`'s incident from its resolves, oldest first (`_resolves`)."""
    automatic: Delivery | None = None
    by_hand: Delivery | None = None
    for resolve in resolves:
        if resolve.reason == Reason.TEST_EXPIRED:
            automatic = automatic or resolve
        else:
            by_hand = resolve
    return Incident(trigger, automatic, by_hand, now)


def panel_key(delivery: Delivery, incident: Incident | None) -> str:
    """What a delivery's panel shows, in a word or two: when it changes after the delivery
    is final, the page refreshes what depends on it (the services' last delivery)."""
    state = incident.state if incident is not None else None
    return f"{delivery.status}/{state or ''}"


def scheduled_words(delivery: Delivery, now: datetime | None = None) -> str:
    """'at 14:32 (in 10 minutes)' for a queued delivery that waits for its time, else ''."""
    now = now or timezone.now()
    if not waits_for_its_time(delivery, now):
        return ""
    due = delivery.next_attempt_at
    return format_html("at {} ({})", clock(due, now), in_words(due - now))


def waits_for_its_time(delivery: Delivery, now: datetime) -> bool:
    """Queued, never tried, and not due yet."""
    return delivery.status == QUEUED and delivery.attempts == 0 and delivery.next_attempt_at > now


def clock(moment: datetime, now: datetime) -> SafeString:
    """'14:32', with the date when it is not today's: in the person's time zone, as a
    `<time>` with UTC on hover (accounts.times)."""
    today = timezone.localtime(moment).date() == timezone.localtime(now).date()
    return time_html(moment, "H:i" if today else r"H:i \o\n j M")


def in_words(delta: timedelta) -> str:
    """'in 10 minutes', 'in less than a minute', 'in about 3 hours'."""
    seconds = delta.total_seconds()
    if seconds < 60:
        return "in less than a minute"
    minutes = math.floor(seconds / 60 + 0.5)
    if minutes < 120:
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    return f"in about {math.floor(minutes / 60 + 0.5)} hours"
