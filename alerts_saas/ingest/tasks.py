"""Beat's housekeeping for ingest: change events past retention."""

from __future__ import annotations

from celery import shared_task

from alerts_saas.ingest import retention


@shared_task(ignore_result=True)
def prune_changes() -> int:
    """Delete change events past retention, in capped batches: see `retention`."""
    return retention.prune_changes().deleted
