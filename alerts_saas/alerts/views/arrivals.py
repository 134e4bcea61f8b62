"""What reached the organization, for an alert page whose chart counted nothing: whether
events arrive and none match (the rules are the thing to check), events arrived only
before the alert started counting (nothing is wrong with its rules: they were not counted),
nothing arrives lately, or nothing ever did (then, and only then, the advice to send events
with an ingest key).

The activity is kept per minute, so the minute counting started in is split by the time of
the organization's last batch: all before when that came before counting started; else its
events are taken as since, and the page says "up to" that many.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max

from alerts_saas.ingest import activity
from alerts_saas.ingest.models import IngestKey


@dataclass(frozen=True, slots=True)
class Arrivals:
    """The organization's events over the last hour, since the alert started counting."""

    accepted: int | None  # None: the activity can't be read just now
    refused: int
    last_at: datetime | None  # the last batch, from the activity or the keys' last use
    # When counting started, if within the hour (else the whole hour counts; None).
    counting_since: datetime | None = None
    before: int = 0  # accepted within the hour but before counting started: not counted
    up_to: bool = False  # some of `accepted`, in counting's first minute, may be before it

    @property
    def none_ever(self) -> bool:
        """Nothing arrived, ever (as far as is known): the place to say how to send."""
        return not self.accepted and not self.refused and self.last_at is None and not self.before


def arrivals(organization_id: int, now: datetime, counting_since: datetime) -> Arrivals:
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
    start = activity.minute_of(counting_since.timestamp()) - found.first_minute
    if start <= 0:  # counting began before the hour shown: all of it counts
        return Arrivals(found.accepted, found.refused, last)
    accepted = found.accepted_per_minute
    refused = found.refused_per_minute or (0,) * len(accepted)
    if last is not None and last < counting_since:  # no batch since: all before
        return Arrivals(0, 0, last, counting_since, sum(accepted))
    first = accepted[start] if start < len(accepted) else 0
    return Arrivals(
        sum(accepted[start:]),
        sum(refused[start:]),
        last,
        counting_since,
        sum(accepted[:start]),
        up_to=first > 0,
    )
