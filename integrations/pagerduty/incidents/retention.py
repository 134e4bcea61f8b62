"""Incident history is kept as long as delivery history (`DELIVERY_RETENTION_DAYS`): an
incident last changed before the cutoff goes, with its timeline, in capped batches
(`run_batches`); webhooks never applied (about incidents never placed as ours) go after a day."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.retention import (
    PruneResult,
    delete_oldest,
    retention_cutoff,
    run_batches,
)

BATCH_SIZE = 500
UNPLACED_FOR = timedelta(days=1)


def prune_incidents() -> PruneResult:
    cutoff = retention_cutoff()
    IncidentActivity.objects.filter(  # on the partial index of webhooks not applied
        applied_at__isnull=True, received_at__lt=timezone.now() - UNPLACED_FOR
    ).delete()
    old = Incident.objects.filter(updated_at__lt=cutoff)  # their timelines go with them
    return run_batches(
        delete_oldest(old, "updated_at"),
        what="incidents",
        batch_size=BATCH_SIZE,
        max_batches=20,
        max_seconds=10,
    )
