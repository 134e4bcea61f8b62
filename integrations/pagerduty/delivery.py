"""The delivery engine: Delivery rows to PagerDuty's Events API v2, crash-safe.

- A row is written in the same transaction as its cause; its task is queued on commit, with
  a countdown for a row due later (a test incident's automatic resolve: autoresolve.py).
- A task claims its chunk of rows with one compare-and-set update and a lease
  (`statements.py`); a worker that dies mid-send leaves a lease that runs out, and the sweeper
  queues the rows again. Trigger and
  resolve of one firing share a dedup key, so a repeated send pages no one twice.
- 202 is delivered; other 4xx but 429 fail for good; 429, 5xx, timeouts and network errors
  are retried with exponential backoff and jitter for up to 24 hours.
- PagerDuty's per-key limit is taken before sending, once per key per chunk; over it, the
  row waits its turn. Within a key's budget, triggers go first.
- A chunk's events go out concurrently (at most DELIVERY_SEND_CONCURRENCY per process, from
  one event loop: sender.py), and their outcomes are written with one statement.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, When
from django.utils import timezone

from integrations.pagerduty import events, paths, statements
from integrations.pagerduty.models import Delivery, EventAction, Reason
from integrations.pagerduty.outgoing import (  # the rows the engine sends, for its callers
    build_event as build_event,
)
from integrations.pagerduty.outgoing import (
    fallback_dedup_key as fallback_dedup_key,
)
from integrations.pagerduty.outgoing import (
    fallback_for as fallback_for,
)
from integrations.pagerduty.outgoing import (
    fallbacks,
)
from integrations.pagerduty.outgoing import (
    fallen_back as fallen_back,
)
from integrations.pagerduty.outgoing import (
    follow_up as follow_up,
)
from integrations.pagerduty.ratelimit import limiter
from integrations.pagerduty.statements import Attempt
from integrations.pagerduty.task_names import SEND_DELIVERIES, task

log = logging.getLogger(__name__)
CHUNK = 50  # deliveries per task: one claim and one settle for the lot
# Slots are taken when a send starts, PagerDuty counts when it arrives: a second's margin
# on the window absorbs the difference in latency between sends.
RATE_MARGIN = 1.0
# A test incident's automatic resolve that was not tried yet (autoresolve.py): a person's
# resolve, or a removal's, takes it over; its trigger failing for good drops it.
UNTRIED_AUTOMATIC_RESOLVE = Q(reason=Reason.TEST_EXPIRED, status=Delivery.Status.QUEUED, attempts=0)


def queue(deliveries: list[Delivery]) -> list[Delivery]:
    """Write the deliveries; they are handed to the workers when the transaction commits.

    Call inside the transaction that causes them, so that they exist if and only if their
    cause does.
    """
    saved = statements.insert(deliveries)
    due = [(d.pk, d.next_attempt_at) for d in saved]
    transaction.on_commit(lambda: _enqueue_when_due(due))
    return saved


def enqueue(delivery_ids: list[int], countdown: float = 0) -> None:
    """Hand deliveries to the workers, a chunk per task. If the broker is down, the rows wait
    for the sweeper."""
    send_deliveries = task(SEND_DELIVERIES)
    for start in range(0, len(delivery_ids), CHUNK):
        chunk = delivery_ids[start : start + CHUNK]
        try:
            send_deliveries.apply_async((chunk,), countdown=countdown)
        except Exception as exc:  # broker unreachable: the rows are safe in the database
            log.warning(
                "Could not queue %d deliveries (%s); the sweeper will retry them.",
                len(chunk),
                exc.__class__.__name__,
            )


def _enqueue_when_due(due: list[tuple[int, datetime]]) -> None:
    """Hand each delivery to the workers at its time: a task per second of delay (and chunk).
    The claim only takes rows that are due, and the sweeper sends those whose task was lost."""
    later: dict[int, list[int]] = defaultdict(list)
    now = timezone.now()
    for pk, at in due:
        later[math.ceil(max(0.0, (at - now).total_seconds()))].append(pk)
    for delay, ids in sorted(later.items()):
        enqueue(ids, countdown=delay)


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts`: 5 s doubling, capped, with jitter."""
    base = min(settings.DELIVERY_RETRY_CAP, settings.DELIVERY_RETRY_BASE * 2 ** (attempts - 1))
    return base * random.uniform(0.5, 1.0)


def attempt(delivery_id: int) -> str | None:
    """Try to send one delivery now; its new status, or None if it was not ours to send."""
    return attempt_many([delivery_id]).get(delivery_id)


def attempt_many(delivery_ids: list[int]) -> dict[int, str]:
    """Send the due deliveries among `delivery_ids`; return their new statuses.

    One claim, one rate-limit reservation per routing key, the sends in parallel (triggers
    first within each key's budget), one settle. The lease is renewed while sends are in
    flight, so a slow PagerDuty never lets another worker take over. Whatever happens, what
    was sent is recorded and what was not is given back.
    """
    token = uuid.uuid4()
    now = timezone.now()
    claimed = statements.claim(delivery_ids, token, now, now + settings.DELIVERY_LEASE)
    if not claimed:
        return {}
    try:
        _send_all(token, _within_budget(claimed))
    finally:
        for delivery in claimed:
            if delivery.status == Delivery.Status.SENDING:
                _postpone(delivery, 0)  # no outcome: due again at once
        _settle(token, claimed)
    _follow_up(claimed, delivery_ids)
    return {d.pk: d.status for d in claimed}


def _settle(token: uuid.UUID, claimed: list[Attempt]) -> None:
    """Write the outcomes. A failure for good also marks its service's path (`paths`), a
    trigger refused for its key goes to the fallback service, and a test trigger that failed
    for good loses its automatic resolve: all in the outcome's transaction, so that a worker
    dying in between loses none of them."""
    failed = [
        paths.Outcome(d.service_id, d.refused, d.last_error, d.routing_key, d.region)
        for d in claimed
        if d.tried and d.status == Delivery.Status.FAILED and d.service_id is not None
    ]
    failed_triggers = {
        (d.organization_id, d.dedup_key)
        for d in claimed
        if d.status == Delivery.Status.FAILED and d.event_action == EventAction.TRIGGER
    }
    if not failed and not failed_triggers:
        statements.settle(token, claimed)
        return
    refused = [d for d in claimed if d.refused and d.event_action == EventAction.TRIGGER]
    refused_triggers = [d.pk for d in refused]
    with transaction.atomic():
        # Before anything else: a fallback chosen meanwhile waits, or is read (`fallbacks`).
        paths.lock_fallback_choice({d.organization_id for d in refused})
        # A service that refused one of these and took another stays marked (as `record`
        # would mark it again): its refused firing is not sent again at once.
        statements.settle(token, claimed, failed={o.service_id for o in failed})
        paths.record(failed)
        queue(fallbacks(Delivery.objects.filter(pk__in=refused_triggers)))
        _drop_automatic_resolves(failed_triggers)


def _drop_automatic_resolves(failed_triggers: set[tuple[int, str]]) -> None:
    """A test trigger that failed for good opened no incident, so its automatic resolve
    (autoresolve.py) is dropped instead of sent, if it was not tried yet: only while the
    trigger's row says it failed (our settle may have lost its lease to another worker)."""
    if not failed_triggers:
        return
    match = Q()
    for organization_id, dedup_key in failed_triggers:
        match |= Q(organization_id=organization_id, dedup_key=dedup_key)
    trigger_failed = Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        dedup_key=OuterRef("dedup_key"),
        event_action=EventAction.TRIGGER,
        status=Delivery.Status.FAILED,
    )
    dropped, _ = (
        Delivery.objects.filter(match, UNTRIED_AUTOMATIC_RESOLVE)
        .filter(Exists(trigger_failed))
        .delete()
    )
    if dropped:
        log.info("Dropped %d automatic test resolve(s): their trigger failed", dropped)


def _within_budget(claimed: list[Attempt]) -> list[Attempt]:
    """The rows PagerDuty's per-key limit lets us send now, triggers first; the others are
    postponed until their key has room."""
    by_key: dict[str, list[Attempt]] = defaultdict(list)
    for delivery in claimed:
        by_key[delivery.routing_key].append(delivery)
    grants = limiter().reserve_many(
        {key: len(rows) for key, rows in by_key.items()},
        settings.PAGERDUTY_EVENTS_PER_MINUTE,
        settings.PAGERDUTY_EVENTS_WINDOW + RATE_MARGIN,
    )
    to_send = []
    for key, rows in by_key.items():
        rows.sort(key=lambda d: (d.event_action != EventAction.TRIGGER, d.pk))
        grant = grants[key]
        to_send += rows[: grant.granted]
        for delivery in rows[grant.granted :]:
            # Over PagerDuty's limit for this key: wait for a slot instead of being refused.
            _postpone(delivery, grant.wait + random.uniform(0, 0.25))
    return to_send


def _send_all(token: uuid.UUID, attempts: list[Attempt]) -> None:
    """Send concurrently (sender.py) and set each attempt's outcome. While answers are
    awaited, the claim's lease is renewed every third of it on those still in flight."""
    if not attempts:
        return
    future, answered = events.send_many([(a.region, a.routing_key, a.body) for a in attempts])
    renew_every = settings.DELIVERY_LEASE.total_seconds() / 3
    while True:
        try:
            answers = future.result(timeout=renew_every)
        except TimeoutError:
            in_flight = [a.pk for a, done in zip(attempts, answered, strict=True) if not done]
            if in_flight:
                statements.renew(token, in_flight, timezone.now() + settings.DELIVERY_LEASE)
            continue
        break
    for attempt, answer in zip(attempts, answers, strict=True):
        _outcome(attempt, events.result(answer))


def _follow_up(claimed: list[Attempt], asked: list[int]) -> None:
    """Queue the tasks that come next: retries and postponed rows at their time, and the
    rows of this chunk that waited on one we just finished (a resolve behind its trigger)."""
    now = timezone.now()
    _enqueue_when_due(
        [
            (d.pk, d.next_attempt_at)
            for d in claimed
            if d.status == Delivery.Status.QUEUED and d.next_attempt_at is not None
        ]
    )
    finished_keys = {d.dedup_key for d in claimed if d.is_final}
    waiting = set(asked) - {d.pk for d in claimed}
    if finished_keys and waiting:
        behind = Delivery.objects.filter(
            pk__in=waiting,
            status=Delivery.Status.QUEUED,
            dedup_key__in=finished_keys,
            next_attempt_at__lte=now,
        ).values_list("pk", flat=True)
        enqueue(list(behind))


def _postpone(delivery: Attempt, seconds: float) -> None:
    delivery.status = Delivery.Status.QUEUED
    delivery.attempts -= 1  # not an attempt: it never left
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=seconds)


def _outcome(delivery: Attempt, result: events.EventResult) -> None:
    """Set the delivery's new state from PagerDuty's answer (or the lack of one)."""
    now = timezone.now()
    delivery.tried = True
    delivery.response_status = result.status
    delivery.response_message = result.message
    delivery.response_errors = result.errors
    delivery.latency_ms = result.latency_ms
    if result.accepted:
        delivery.status, delivery.delivered_at, delivery.last_error = (
            Delivery.Status.DELIVERED,
            now,
            "",
        )
        return
    if result.rejected:
        delivery.status = Delivery.Status.FAILED
        delivery.refused = paths.refuses_key(result)
        delivery.last_error = "; ".join([result.message, *result.errors]) or (
            f"HTTP {result.status}"
        )
        log.info("Delivery %s rejected by PagerDuty (%s)", delivery.pk, result.status)
        return
    reason = result.network_error or f"PagerDuty answered {result.status}: {result.message}"
    delay = backoff(delivery.attempts)
    if now + timedelta(seconds=delay) > delivery.created_at + settings.DELIVERY_GIVE_UP_AFTER:
        delivery.status = Delivery.Status.FAILED
        delivery.last_error = (
            f"Gave up after {delivery.attempts} attempts over 24 hours. Last error: {reason}"
        )
        return
    delivery.status = Delivery.Status.QUEUED
    delivery.last_error = reason
    delivery.next_attempt_at = now + timedelta(seconds=delay)


def sweep(limit: int = 500) -> int:
    """Queue again the rows whose task was lost: overdue queued rows, and expired leases."""
    now = timezone.now()
    stuck = (
        Delivery.objects.filter(
            Q(
                status=Delivery.Status.QUEUED,
                next_attempt_at__lte=now - settings.DELIVERY_SWEEP_GRACE,
            )
            | Q(status=Delivery.Status.SENDING, lease_until__lt=now)
        )
        # Triggers first: a page matters more than a resolve's retry.
        .order_by(
            Case(When(event_action=EventAction.TRIGGER, then=0), default=1), "next_attempt_at"
        )
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(stuck)
    enqueue(ids)
    if ids:
        log.info("Sweeper queued %d deliveries again", len(ids))
    return len(ids)


def open_triggers(deliveries: QuerySet[Delivery]) -> list[Delivery]:
    """The trigger behind each incident among `deliveries` that we opened and have not
    resolved. The newest event per dedup key that was not refused tells: a trigger (or an
    acknowledge) means the incident is open. A test incident's automatic resolve that has
    not been tried yet leaves it open: it may be hours away."""
    latest: dict[str, str] = {}
    triggers: dict[str, int] = {}
    rows = (
        deliveries.exclude(status=Delivery.Status.FAILED)
        .exclude(UNTRIED_AUTOMATIC_RESOLVE)
        .order_by("created_at", "pk")
        .values_list("pk", "dedup_key", "event_action")
    )
    for pk, dedup_key, action in rows:
        latest[dedup_key] = action
        if action == EventAction.TRIGGER:
            triggers[dedup_key] = pk
    open_ids = [
        triggers[key]
        for key, action in latest.items()
        if action != EventAction.RESOLVE and key in triggers
    ]
    return list(Delivery.objects.filter(pk__in=open_ids).order_by("pk")) if open_ids else []
