"""Audit entries are kept `AUDIT_RETENTION_DAYS` (365): beat deletes older ones in the
delivery history's capped batches (`integrations.pagerduty.retention.run_batches`), the
oldest first by the index on `created_at`, every organization alike."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from alerts_saas.audit.models import Entry
from integrations.pagerduty.retention import (
    BATCH_SIZE,
    MAX_BATCHES,
    MAX_SECONDS,
    PruneResult,
    delete_oldest,
    run_batches,
)


def cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)


def prune_entries(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
    max_seconds: float = MAX_SECONDS,
) -> PruneResult:
    """Delete the entries made before the retention cutoff."""
    return run_batches(
        delete_oldest(Entry.objects.filter(created_at__lt=cutoff(now)), "created_at"),
        what="audit entries",
        batch_size=batch_size,
        max_batches=max_batches,
        max_seconds=max_seconds,
    )
