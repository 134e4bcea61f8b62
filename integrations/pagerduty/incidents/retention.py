"""Incident history is kept as long as delivery history (`DELIVERY_RETENTION_DAYS`): an
incident last changed before the cutoff goes, with its timeline, in capped batches
(`run_batches`), unless a trigger of a firing still open (or cleared since the cutoff)
opened it: that firing's Acknowledge and Resolve need it, and so does its clearing when
PagerDuty resolves its last incident (`resolving.clear_if_resolved_in_pagerduty` reads each
of its incidents). Those triggers are kept as long (`integrations.pagerduty.retention`), so
a webhook about the incident is still placed as ours. Webhooks never applied (about
incidents never placed as ours) go after a day."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.models import Delivery, EventAction
from integrations.pagerduty.retention import (
    PruneResult,
    delete_oldest,
    history_kept,
    retention_cutoff,
    run_batches,
)

BATCH_SIZE = 500
UNPLACED_FOR = timedelta(days=1)  # an event not placed (not ours) is kept this long, at least


def max_webhook_age() -> timedelta:
    """How old an event may be and still be applied: PAGERDUTY_WEBHOOK_MAX_AGE, never longer
    than incident history is kept (the kept events are what tells a replay)."""
    return min(settings.PAGERDUTY_WEBHOOK_MAX_AGE, timedelta(days=settings.DELIVERY_RETENTION_DAYS))


def prune_incidents() -> PruneResult:
    cutoff = retention_cutoff()
    # On the partial index of webhooks not applied; kept as long as an event may still come
    # (PagerDuty's retries), so that a replay of one not placed is still told apart.
    unplaced_for = max(UNPLACED_FOR, max_webhook_age())
    IncidentActivity.objects.filter(
        applied_at__isnull=True, received_at__lt=timezone.now() - unplaced_for
    ).delete()
    # By the index on the deliveries' (organization, dedup_key), then the firing's key.
    needed = Delivery.objects.filter(
        history_kept(cutoff),
        organization_id=OuterRef("organization_id"),
        dedup_key=OuterRef("dedup_key"),
        service_id=OuterRef("service_id"),
        event_action=EventAction.TRIGGER,
    )
    old = Incident.objects.filter(updated_at__lt=cutoff).filter(~Exists(needed))
    return run_batches(  # their timelines go with them
        delete_oldest(old, "updated_at"),
        what="incidents",
        batch_size=BATCH_SIZE,
        max_batches=20,
        max_seconds=10,
    )
