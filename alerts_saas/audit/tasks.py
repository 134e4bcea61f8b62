from __future__ import annotations

from celery import shared_task

from alerts_saas.audit import retention


@shared_task(ignore_result=True)
def prune_entries() -> int:
    """Delete audit entries past retention, in capped batches: see `retention`."""
    return retention.prune_entries().deleted
