"""What the revoke tests (the page's and the API's) share: absence alerts, a key whose
events were last accepted some minutes ago, and an alert's counted events."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from alerts_saas.alerts.counting import CounterSet, Tally, counts
from alerts_saas.alerts.models import Alert, ConditionKind
from alerts_saas.ingest.models import IngestKey


def absence(org, name: str, window: int, **fields) -> Alert:
    return Alert.objects.create(
        organization=org,
        name=name,
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=window,
        **fields,
    )


def used(key: IngestKey, minutes_ago: float) -> None:
    """The key last had events accepted `minutes_ago` (its last use)."""
    when = timezone.now() - timedelta(minutes=minutes_ago)
    IngestKey.objects.filter(pk=key.pk).update(last_used_at=when, events_accepted_at=when)


def counted(alert: Alert, minutes_ago: float = 0, events: int = 1) -> None:
    """The alert counted `events` matching events `minutes_ago` (in its window if within)."""
    at = time.time() - minutes_ago * 60
    counter = CounterSet.of(alert)
    counts().add({counter: Tally(buckets={int(at // counter.size): events})}, [], at)
