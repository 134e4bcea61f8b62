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
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.pagerduty import events
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from integrations.pagerduty.ratelimit import limiter

log = logging.getLogger(__name__)
# Slots are taken when a send starts, PagerDuty counts when it arrives: a second's margin
# on the window absorbs the difference in latency between sends.
RATE_MARGIN = 1.0



def queue_event(service: PagerDutyService, action: str, dedup_key: str,
                payload: dict[str, Any] | None = None, *, is_test: bool = False,
                extra: dict[str, Any] | None = None, created_by: Any = None,
                alert: Any = None) -> Delivery:
    """Write a Delivery for `service`; its task is queued when the transaction commits."""
    event: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key}
    if action == EventAction.TRIGGER:
        event["payload"] = payload or {}
        event.update(extra or {})
    event, note = events.fit_event(event, len(service.integration_key))
    delivery = Delivery.objects.create(
        organization_id=service.organization_id,
        service=service,
        service_name=service.name,
        alert=alert,
        region=service.region,
        routing_key=service.integration_key,
        event_action=action,
        dedup_key=event["dedup_key"],
        body=event,
        is_test=is_test,
        trim_note=note,
        created_by=created_by,
    )
    transaction.on_commit(lambda: enqueue(delivery.pk))
    return delivery


def enqueue(delivery_id: int, countdown: float = 0) -> None:
    """Hand the delivery to a worker. If the broker is down the row waits for the sweeper."""
    from integrations.pagerduty.tasks import send_delivery

    try:
        send_delivery.apply_async((delivery_id,), countdown=countdown)
    except Exception as exc:  # broker unreachable: the row is safe in the database
        log.warning("Could not queue delivery %s (%s); the sweeper will retry it.",
                    delivery_id, exc.__class__.__name__)


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts`: 5 s doubling, capped, with jitter."""
    base = min(settings.DELIVERY_RETRY_CAP, settings.DELIVERY_RETRY_BASE * 2 ** (attempts - 1))
    return base * random.uniform(0.5, 1.0)


def _claim(delivery_id: int) -> Delivery | None:
    now = timezone.now()
    claimable = Q(status=Delivery.Status.QUEUED, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, lease_until__lt=now
    )
    claimed = Delivery.objects.filter(claimable, pk=delivery_id).update(
        status=Delivery.Status.SENDING, lease_until=now + settings.DELIVERY_LEASE,
        attempts=F("attempts") + 1,
    )
    return Delivery.objects.filter(pk=delivery_id).first() if claimed else None


def _settle(delivery: Delivery, **changes: Any) -> bool:
    """Record the outcome if the claim is still ours (no one re-claimed the row meanwhile)."""
    return bool(
        Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.SENDING, attempts=delivery.attempts
        ).update(lease_until=None, **changes)
    )


def attempt(delivery_id: int) -> str | None:
    """Try to send one delivery now. Returns its new status, or None if not ours to send."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    wait = limiter().reserve(delivery.routing_key, settings.PAGERDUTY_EVENTS_PER_MINUTE,
                             settings.PAGERDUTY_EVENTS_WINDOW + RATE_MARGIN)
    if wait > 0:
        # Over PagerDuty's limit for this key: wait for a slot instead of being refused.
        wait += random.uniform(0, 0.25)
        _settle(delivery, status=Delivery.Status.QUEUED, attempts=F("attempts") - 1,
                next_attempt_at=timezone.now() + timedelta(seconds=wait))
        enqueue(delivery.pk, countdown=wait)
        return Delivery.Status.QUEUED
    result = events.send(delivery.region, delivery.routing_key, delivery.body)
    return _record(delivery, result)


def _record(delivery: Delivery, result: events.EventResult) -> str:
    now = timezone.now()
    answer = {
        "response_status": result.status,
        "response_message": result.message,
        "response_errors": result.errors,
        "latency_ms": result.latency_ms,
    }
    if result.accepted:
        _settle(delivery, status=Delivery.Status.DELIVERED, delivered_at=now, last_error="",
                **answer)
        return Delivery.Status.DELIVERED
    if result.rejected:
        reason = "; ".join([result.message, *result.errors]) or f"HTTP {result.status}"
        _settle(delivery, status=Delivery.Status.FAILED, last_error=reason, **answer)
        log.info("Delivery %s rejected by PagerDuty (%s)", delivery.pk, result.status)
        return Delivery.Status.FAILED
    reason = result.network_error or f"PagerDuty answered {result.status}: {result.message}"
    delay = backoff(delivery.attempts)
    if now + timedelta(seconds=delay) > delivery.created_at + settings.DELIVERY_GIVE_UP_AFTER:
        _settle(delivery, status=Delivery.Status.FAILED,
                last_error=f"Gave up after {delivery.attempts} attempts over 24 hours. "
                           f"Last error: {reason}", **answer)
        return Delivery.Status.FAILED
    if _settle(delivery, status=Delivery.Status.QUEUED, last_error=reason,
               next_attempt_at=now + timedelta(seconds=delay), **answer):
        enqueue(delivery.pk, countdown=delay)
    return Delivery.Status.QUEUED


def sweep(limit: int = 500) -> int:
    """Queue again the rows whose task was lost: overdue queued rows, and expired leases."""
    now = timezone.now()
    stuck = Delivery.objects.filter(
        Q(status=Delivery.Status.QUEUED, next_attempt_at__lte=now - settings.DELIVERY_SWEEP_GRACE)
        | Q(status=Delivery.Status.SENDING, lease_until__lt=now)
    ).values_list("pk", flat=True)[:limit]
    ids = list(stuck)
    for delivery_id in ids:
        enqueue(delivery_id)
    if ids:
        log.info("Sweeper queued %d deliveries again", len(ids))
    return len(ids)


def open_dedup_keys(service: PagerDutyService) -> list[str]:
    """Dedup keys of incidents we opened on `service` and have not resolved.

    The newest event per key that was not refused tells: a trigger (or acknowledge) means
    the incident is open.
    """
    latest: dict[str, str] = {}
    rows = (
        service.deliveries.exclude(status=Delivery.Status.FAILED)
        .order_by("created_at", "pk")
        .values_list("dedup_key", "event_action")
    )
    for dedup_key, action in rows:
        latest[dedup_key] = action
    return [key for key, action in latest.items() if action != EventAction.RESOLVE]
