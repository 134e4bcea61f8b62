"""Incident history is kept as long as delivery history (`DELIVERY_RETENTION_DAYS`): an
incident last changed before the cutoff goes, with its timeline, in capped batches
(`run_batches`); webhooks never applied (about incidents never placed as ours) go after a day."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.retention import PruneResult, retention_cutoff, run_batches

BATCH_SIZE = 500
UNPLACED_FOR = timedelta(days=1)


def prune_incidents() -> PruneResult:
    cutoff = retention_cutoff()
    IncidentActivity.objects.filter(  # on the partial index of webhooks not applied
        applied_at__isnull=True, received_at__lt=timezone.now() - UNPLACED_FOR
    ).delete()

    def batch(size: int) -> int:
        old = Incident.objects.filter(updated_at__lt=cutoff).order_by("updated_at")
        ids = list(old.values_list("pk", flat=True)[:size])
        Incident.objects.filter(pk__in=ids).delete()
        return len(ids)

    return run_batches(
        batch, what="incidents", batch_size=BATCH_SIZE, max_batches=20, max_seconds=10
    )
