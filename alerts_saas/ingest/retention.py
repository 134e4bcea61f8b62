"""Change events older than `DELIVERY_RETENTION_DAYS` (by when they happened) are deleted,
like the deliveries that carried them: beat runs `prune_changes` (tasks.py) in the same
small, capped batches (`integrations.pagerduty.retention.run_batches`)."""

from __future__ import annotations

from datetime import datetime

from alerts_saas.ingest.models import ChangeEvent
from integrations.pagerduty.retention import (
    BATCH_SIZE,
    MAX_BATCHES,
    MAX_SECONDS,
    PruneResult,
    delete_oldest,
    retention_cutoff,
    run_batches,
)


def prune_changes(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
    max_seconds: float = MAX_SECONDS,
) -> PruneResult:
    """Delete change events that happened before the retention cutoff."""
    return run_batches(
        delete_oldest(ChangeEvent.objects.filter(timestamp__lt=retention_cutoff(now)), "timestamp"),
        what="change events",
        batch_size=batch_size,
        max_batches=max_batches,
        max_seconds=max_seconds,
    )
