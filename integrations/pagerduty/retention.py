"""History retention: final deliveries older than `DELIVERY_RETENTION_DAYS` are deleted.

Beat runs `prune_deliveries` (tasks.py) every few minutes. It deletes in small batches, each
its own short transaction with one statement,

    DELETE FROM delivery WHERE id IN (
        SELECT d.id FROM delivery d LEFT JOIN firing f ON f.id = d.firing_id
        WHERE d.created_at < cutoff AND d.status IN ('delivered', 'failed')
          AND (d.firing_id IS NULL OR f.cleared_at < cutoff)
        ORDER BY d.created_at LIMIT n)

so no run holds row locks for long or stalls the delivery engine, and a run stops after a
number of batches or seconds; the next run carries on where it stopped. The inner select
walks the index on `created_at` from the oldest row, probes each row's firing by its primary
key, and stops after n it may delete; rows it walks past (an open firing's, kept) cost a
probe each, every batch: 20,000 of them added 33 ms to a batch on a table of a million.
Queued and sending deliveries are never pruned,
whatever their age. Nor is any delivery of a firing still open, or cleared after the cutoff:
a firing's deliveries go with it (`alerts_saas.alerts.retention`). An open firing needs
them all: its triggers are what a resolve (by hand, or when it clears) is sent for, what a
save of the alert reads as already paged (without them every target is paged again), and
what places PagerDuty's webhooks about its incidents as ours; and the newest event per
dedup key decides which incident is still open. Deliveries with no firing (tests, change
events, those of firings already pruned) go by age alone. The tenant does not matter: every
organization's history is pruned by age alone.

`run_batches` is the loop, shared with the firings' pruning (`alerts_saas.alerts.retention`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.utils import OperationalError
from django.utils import timezone

from integrations.pagerduty.models import Delivery

log = logging.getLogger(__name__)

# Rows per DELETE, batches per run, and seconds per run: a run deletes at most
# BATCH_SIZE * MAX_BATCHES rows (50,000) and stops starting batches after MAX_SECONDS.
BATCH_SIZE = 1000
MAX_BATCHES = 50
MAX_SECONDS = 30.0
# A batch that waits longer than this for a row lock gives up (PostgreSQL): the run ends and
# the next one tries again, so pruning never queues behind the delivery engine.
LOCK_TIMEOUT = "2s"

FINAL = [Delivery.Status.DELIVERED, Delivery.Status.FAILED]


@dataclass(frozen=True)
class PruneResult:
    """What one run did: rows deleted, batches run, and whether it stopped at its cap (so
    more old rows may be left for the next run)."""

    deleted: int
    batches: int
    capped: bool


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Rows older than this are history past retention."""
    return (now or timezone.now()) - timedelta(days=settings.DELIVERY_RETENTION_DAYS)


def history_gone(cutoff: datetime) -> Q:
    """Deliveries no firing needs any more: with none (a test, a change event, a firing
    already pruned), or with one that cleared before `cutoff`."""
    return Q(firing__isnull=True) | Q(firing__cleared_at__lt=cutoff)


def history_kept(cutoff: datetime) -> Q:
    """The other deliveries: those of a firing still open, or cleared since `cutoff`."""
    return Q(firing__isnull=False) & (
        Q(firing__cleared_at__isnull=True) | Q(firing__cleared_at__gte=cutoff)
    )


def run_batches(
    delete_batch: Callable[[int], int],
    *,
    what: str,
    batch_size: int,
    max_batches: int,
    max_seconds: float,
) -> PruneResult:
    """Call `delete_batch(batch_size)` (which deletes up to that many rows and says how many)
    each in its own transaction, until a batch comes back short or the cap is reached."""
    started = time.monotonic()
    deleted = batches = 0
    while True:
        if batches >= max_batches or time.monotonic() - started >= max_seconds:
            capped = True
            break
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                count = delete_batch(batch_size)
        except OperationalError:
            log.warning("Pruning old %s stopped after %d batches: a batch timed out", what, batches)
            capped = True
            break
        batches += 1
        deleted += count
        if count < batch_size:
            capped = False
            break
    if deleted:
        log.info("Pruned %d old %s in %d batches%s", deleted, what, batches, capped * " (capped)")
    return PruneResult(deleted=deleted, batches=batches, capped=capped)


def delete_oldest(rows: QuerySet[Any], by: str) -> Callable[[int], int]:
    """A batch for `run_batches`: delete up to n of `rows`, the oldest by `by` first, in one
    DELETE ... WHERE id IN (SELECT ... ORDER BY by LIMIT n). With an index on `by`, the
    range scan serves the filter and the order and stops after n rows."""

    def delete_batch(size: int) -> int:
        oldest = rows.order_by(by).values("pk")[:size]
        _, deleted = rows.model._default_manager.filter(pk__in=oldest).delete()
        return deleted.get(rows.model._meta.label, 0)  # rows of its own, not what cascaded

    return delete_batch


def prune_deliveries(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
    max_seconds: float = MAX_SECONDS,
) -> PruneResult:
    """Delete delivered and failed deliveries created before the retention cutoff, but
    none of a firing open or cleared since the cutoff."""
    cutoff = retention_cutoff(now)
    return run_batches(
        # Nothing points at a delivery: the DELETE touches no other table.
        delete_oldest(
            Delivery.objects.filter(created_at__lt=cutoff, status__in=FINAL).filter(
                history_gone(cutoff)
            ),
            "created_at",
        ),
        what="deliveries",
        batch_size=batch_size,
        max_batches=max_batches,
        max_seconds=max_seconds,
    )
