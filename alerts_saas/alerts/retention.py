"""History retention: cleared firings older than `DELIVERY_RETENTION_DAYS` are deleted.

Beat runs `prune_firings` (tasks.py) every few minutes, after the deliveries' pruning
(`integrations.pagerduty.retention`), in the same small batches with the same per-run cap.
A firing counts by when it cleared: an open firing is never pruned, however old, and nor
are its deliveries or its incidents (the deliveries' and incidents' runs keep every one of a
firing open or cleared since the cutoff: resolving it, a save of its alert and PagerDuty's
webhooks about it need them). Each batch takes the oldest cleared firings through the
partial index on `cleared_at` and deletes them in one short transaction; a delivery still
pointing at one (a queued resolve, or one the deliveries' run has not reached yet) keeps its
row and loses the link, as `Delivery.firing` (SET_NULL) says, and goes by its age from then
on. The tenant does not matter: every organization is pruned by age alone.

One-off mute windows are kept `MUTE_RETENTION_DAYS` (90) after their end, then
`prune_mute_windows` deletes them the same way, the longest ended first; weekly windows have
no end and stay until someone removes them. The audit log's entries about a window copy its
name and changes, so they read the same once it is gone; pruning is not a change anyone made
and writes none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from alerts_saas.alerts.models import Firing, MuteWindow
from integrations.pagerduty.models import Delivery
from integrations.pagerduty.retention import (
    BATCH_SIZE,
    MAX_BATCHES,
    MAX_SECONDS,
    PruneResult,
    retention_cutoff,
    run_batches,
)


def _delete_firings(cutoff: datetime) -> Callable[[int], int]:
    def delete_batch(size: int) -> int:
        ids = list(
            Firing.objects.filter(cleared_at__lt=cutoff)
            .order_by("cleared_at")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return 0
        # Deliveries go first, so this usually touches nothing: Delivery.firing is SET_NULL.
        Delivery.objects.filter(firing_id__in=ids).update(firing=None)
        # Nothing else points at a firing: one DELETE ... WHERE id IN (...), without
        # fetching the rows the way QuerySet.delete() would.
        return Firing.objects.filter(pk__in=ids)._raw_delete(Firing.objects.db)

    return delete_batch


def prune_firings(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
    max_seconds: float = MAX_SECONDS,
) -> PruneResult:
    """Delete firings cleared before the retention cutoff."""
    return run_batches(
        _delete_firings(retention_cutoff(now)),
        what="firings",
        batch_size=batch_size,
        max_batches=max_batches,
        max_seconds=max_seconds,
    )


def _delete_mute_windows(cutoff: datetime) -> Callable[[int], int]:
    def delete_batch(size: int) -> int:
        ids = list(
            MuteWindow.objects.filter(weekdays="", ends_at__lt=cutoff)
            .order_by("ends_at")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return 0
        # Nothing points at a window; a raw DELETE sends no signals, so the audit log
        # gets no "removed a mute" entry for what nobody removed.
        return MuteWindow.objects.filter(pk__in=ids)._raw_delete(MuteWindow.objects.db)

    return delete_batch


def prune_mute_windows(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
    max_seconds: float = MAX_SECONDS,
) -> PruneResult:
    """Delete one-off mute windows that ended `MUTE_RETENTION_DAYS` ago or more."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MUTE_RETENTION_DAYS)
    return run_batches(
        _delete_mute_windows(cutoff),
        what="mute windows",
        batch_size=batch_size,
        max_batches=max_batches,
        max_seconds=max_seconds,
    )
