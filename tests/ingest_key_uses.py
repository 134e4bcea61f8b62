"""What the revoke tests (the page's and the API's) share: absence alerts, and a key whose
events were last accepted some minutes ago."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

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
