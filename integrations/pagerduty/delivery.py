"""The delivery engine: Delivery rows to PagerDuty's Events API v2, crash-safe.

- A row is written in the same transaction as its cause; its task is queued on commit.
- A task claims its row with a compare-and-set update and a lease; a worker that dies
  mid-send leaves a lease that runs out, and the sweeper queues the row again. Trigger and
  resolve of one firing share a dedup key, so a repeated send pages no one twice.
- 202 is delivered; other 4xx but 429 fail for good; 429, 5xx, timeouts and network errors
  are retried with exponential backoff and jitter for up to 24 hours.
- PagerDuty's per-key limit is taken before sending: over it, the row waits its turn.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from integrations.pagerduty import events
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from integrations.pagerduty.ratelimit import limiter
from integrations.pagerduty.task_names import SEND_DELIVERIES, task

log = logging.getLogger(__name__)
CHUNK = 50  # deliveries per task: one claim and one settle for the lot
# Slots are taken when a send starts, PagerDuty counts when it arrives: a second's margin
# on the window absorbs the difference in latency between sends.
RATE_MARGIN = 1.0


def build_event(
    service: PagerDutyService,
    action: str,
    dedup_key: str,
    payload: dict[str, Any] | None = None,
    *,
    is_test: bool = False,
    extra: dict[str, Any] | None = None,
    created_by: Any = None,
    alert: Any = None,
    firing: Any = None,
) -> Delivery:
    """An unsaved Delivery of one event to `service`, cut to PagerDuty's limits."""
    event: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key}
    if action == EventAction.TRIGGER:
        event["payload"] = payload or {}
        event.update(extra or {})
    event, note = events.fit_event(event, len(service.integration_key))
    return Delivery(
        organization_id=service.organization_id,
        service=service,
        service_name=service.name,
        alert=alert,
        firing=firing,
        region=service.region,
        routing_key=service.integration_key,
        event_action=action,
        dedup_key=event["dedup_key"],
        body=event,
        is_test=is_test,
        trim_note=note,
        created_by=created_by,
    )


def follow_up(trigger: Delivery, action: str, created_by: Any = None) -> Delivery:
    """An unsaved acknowledge or resolve for `trigger`: same key, region and dedup key."""
    return Delivery(
        organization_id=trigger.organization_id,
        service_id=trigger.service_id,
        service_name=trigger.service_name,
        alert_id=trigger.alert_id,
        firing_id=trigger.firing_id,
        region=trigger.region,
        routing_key=trigger.routing_key,
        event_action=action,
        dedup_key=trigger.dedup_key,
        body={"event_action": action, "dedup_key": trigger.dedup_key},
        is_test=trigger.is_test,
        created_by=created_by,
    )


def queue(deliveries: list[Delivery]) -> list[Delivery]:
    """Write the deliveries; they are handed to the workers when the transaction commits.

    Call inside the transaction that causes them, so that they exist if and only if their
    cause does.
    """
    saved = Delivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in saved]
    transaction.on_commit(lambda: enqueue(ids))
    return saved


def queue_event(
    service: PagerDutyService,
    action: str,
    dedup_key: str,
    payload: dict[str, Any] | None = None,
    **options: Any,
) -> Delivery:
    """Write one Delivery (see `queue`)."""
    return queue([build_event(service, action, dedup_key, payload, **options)])[0]


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


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts`: 5 s doubling, capped, with jitter."""
    base = min(settings.DELIVERY_RETRY_CAP, settings.DELIVERY_RETRY_BASE * 2 ** (attempts - 1))
    return base * random.uniform(0.5, 1.0)


@contextmanager
def _replayable() -> Iterator[None]:
    """A transaction for a state change of the engine, committed without waiting for disk.

    Safe because every such change can be lost and replayed: a lost claim or outcome leaves
    the row to be sent again, with the same dedup key, which PagerDuty folds into the same
    incident. The row itself is written durably, with its cause. This halves the fsyncs per
    delivery on PostgreSQL.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _claim(delivery_ids: list[int]) -> tuple[uuid.UUID, list[Delivery]]:
    """Take the rows that are due, with one compare-and-set update; return the claim's
    token and the rows we got.

    A row waits while an earlier delivery with the same dedup key is unfinished, so that a
    resolve never overtakes its trigger (the sweeper picks the row up again later).
    """
    now = timezone.now()
    claimable = Q(status=Delivery.Status.QUEUED, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, lease_until__lt=now
    )
    earlier_unfinished = Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        dedup_key=OuterRef("dedup_key"),
        pk__lt=OuterRef("pk"),
        status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING],
    )
    token = uuid.uuid4()
    with _replayable():
        claimed = (
            Delivery.objects.filter(claimable, pk__in=delivery_ids)
            .exclude(Exists(earlier_unfinished))
            .update(
                status=Delivery.Status.SENDING,
                lease_until=now + settings.DELIVERY_LEASE,
                attempts=F("attempts") + 1,
                claim=token,
            )
        )
        if not claimed:
            return token, []
        return token, list(Delivery.objects.filter(claim=token).order_by("pk"))


def _renew(token: uuid.UUID, rows: list[Delivery]) -> list[Delivery]:
    """Extend the lease on the rows still ours; return them (others were taken over)."""
    with _replayable():
        mine = Delivery.objects.filter(
            claim=token, status=Delivery.Status.SENDING, pk__in=[d.pk for d in rows]
        )
        still = set(mine.values_list("pk", flat=True))
        mine.update(lease_until=timezone.now() + settings.DELIVERY_LEASE)
    return [d for d in rows if d.pk in still]


def _release(token: uuid.UUID, rows: list[Delivery]) -> None:
    """Give back claimed rows that were not tried: they are due again at once."""
    if not rows:
        return
    with _replayable():
        Delivery.objects.filter(
            claim=token, status=Delivery.Status.SENDING, pk__in=[d.pk for d in rows]
        ).update(status=Delivery.Status.QUEUED, attempts=F("attempts") - 1, lease_until=None)
    enqueue([d.pk for d in rows])


def attempt(delivery_id: int) -> str | None:
    """Try to send one delivery now; its new status, or None if it was not ours to send."""
    return attempt_many([delivery_id]).get(delivery_id)


def attempt_many(delivery_ids: list[int]) -> dict[int, str]:
    """Send the due deliveries among `delivery_ids`; return their new statuses.

    Sends go one after another; the lease is renewed as the batch goes, so a slow PagerDuty
    never lets another worker take over rows this one is still sending. Whatever happens,
    what was sent is recorded and what was not is given back.
    """
    token, pending = _claim(delivery_ids)
    if not pending:
        return {}
    renew_every = settings.DELIVERY_LEASE.total_seconds() / 3
    renewed = time.monotonic()
    done: list[Delivery] = []
    try:
        while pending:
            if time.monotonic() - renewed > renew_every:
                pending = _renew(token, pending)
                renewed = time.monotonic()
                if not pending:
                    break
            delivery = pending.pop(0)
            _try(delivery)
            done.append(delivery)
    finally:
        _settle(done)
        _release(token, pending)
    for delivery in done:
        if delivery.status == Delivery.Status.QUEUED:
            delay = (delivery.next_attempt_at - timezone.now()).total_seconds()
            enqueue([delivery.pk], countdown=max(0.0, delay))
    return {d.pk: d.status for d in done}


def _try(delivery: Delivery) -> None:
    """Send one claimed delivery, or postpone it if its key is over PagerDuty's limit."""
    wait = limiter().reserve(
        delivery.routing_key,
        settings.PAGERDUTY_EVENTS_PER_MINUTE,
        settings.PAGERDUTY_EVENTS_WINDOW + RATE_MARGIN,
    )
    if wait > 0:
        # Over PagerDuty's limit for this key: wait for a slot instead of being refused.
        _postpone(delivery, wait + random.uniform(0, 0.25))
        return
    _outcome(delivery, events.send(delivery.region, delivery.routing_key, delivery.body))


SETTLED_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "claim",
    "last_error",
    "response_status",
    "response_message",
    "response_errors",
    "latency_ms",
    "delivered_at",
]


def _settle(claimed: list[Delivery]) -> None:
    """Record the outcomes, for the rows whose claim is still ours.

    Accepted rows (nearly all) share every field but their latency: one update for the
    shared fields and one for the latencies. The rest are written one by one.
    """
    if not claimed:
        return
    mine = Delivery.objects.filter(claim=claimed[0].claim, status=Delivery.Status.SENDING)
    delivered = [d for d in claimed if d.status == Delivery.Status.DELIVERED]
    others = [d for d in claimed if d.status != Delivery.Status.DELIVERED]
    with _replayable():
        if delivered:
            rows = mine.filter(pk__in=[d.pk for d in delivered])
            rows.bulk_update(delivered, ["latency_ms", "response_message"])
            rows.update(
                status=Delivery.Status.DELIVERED,
                lease_until=None,
                last_error="",
                delivered_at=timezone.now(),
                response_status=202,
                response_errors=[],
            )
        for delivery in others:
            mine.filter(pk=delivery.pk).update(
                lease_until=None, **{name: getattr(delivery, name) for name in SETTLED_FIELDS}
            )


def _postpone(delivery: Delivery, seconds: float) -> None:
    delivery.status = Delivery.Status.QUEUED
    delivery.attempts -= 1  # not an attempt: it never left
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=seconds)


def _outcome(delivery: Delivery, result: events.EventResult) -> None:
    """Set the delivery's new state from PagerDuty's answer (or the lack of one)."""
    now = timezone.now()
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
        .order_by("next_attempt_at")
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
    acknowledge) means the incident is open."""
    latest: dict[str, str] = {}
    triggers: dict[str, int] = {}
    rows = (
        deliveries.exclude(status=Delivery.Status.FAILED)
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


def open_dedup_keys(service: PagerDutyService) -> list[str]:
    """Dedup keys of incidents we opened on `service` and have not resolved."""
    return [trigger.dedup_key for trigger in open_triggers(service.deliveries.all())]
