"""What reached the organization, for an alert page whose chart counted nothing: whether
events arrive and none match (the rules are the thing to check), nothing arrives lately,
or nothing ever did (then, and only then, the advice to send events with an ingest key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max

from alerts_saas.ingest import activity
from alerts_saas.ingest.models import IngestKey


@dataclass(frozen=True, slots=True)
class Arrivals:
    """The organization's events over the last hour."""

    accepted: int | None  # None: the activity can't be read just now
    refused: int
    last_at: datetime | None  # the last batch, from the activity or the keys' last use

    @property
    def none_ever(self) -> bool:
        """Nothing arrived, ever (as far as is known): the place to say how to send."""
        return not self.accepted and not self.refused and self.last_at is None


def arrivals(organization_id: int, now: datetime) -> Arrivals:
    """One read of the ingest activity (no query with Redis); and, only when it doesn't
    know when the last batch came, one query for the ingest keys' last use."""
    found = activity.read(organization_id, now.timestamp())
    last = found.last_at if found is not None else None
    if last is None:  # older than the activity keeps, or unreadable
        last = IngestKey.objects.filter(organization_id=organization_id).aggregate(
            last=Max("last_used_at")
        )["last"]
    if found is None:
        return Arrivals(None, 0, last)
    return Arrivals(found.accepted, found.refused, last)
