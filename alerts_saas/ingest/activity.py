"""An organization's ingest activity: how many events it sent in each of the last 60
minutes, how many of those were refused one by one, and when the last batch came. The
dashboard and an alert page without matching events show it.

It is written by the step that takes a batch into the organization's allowance
(`limits.take`), in the same round trip, so a batch pays nothing more for it. With Redis,
the allowance's script already counts each minute's events for the rate limit; those
counts are kept for an hour (KEEP_SECONDS) instead of the two minutes the limit needs, and
the script also stamps the last batch's time. Without Redis (the embedded default), a row
per organization and minute in the database (`IngestMinute`), one upsert per batch.

The events counted are those of every batch taken, before each is judged; batches refused
whole (429, 413, 401) are not. Events refused one by one (a bad level, a timestamp too old)
are known only once the batch is judged, so the API counts them apart (`add_refused`), one
more round trip only for a batch that has some: a key per minute beside the minute's count
(REFUSED_SUFFIX) with Redis, the minute row's `refused` without. Reading costs one MGET
(or one query), however many events came.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from alerts_saas.ingest.models import IngestMinute

log = logging.getLogger(__name__)

MINUTE = 60  # seconds
MINUTES = 60  # shown: the last hour, the minute under way last
KEEP_SECONDS = (MINUTES + 2) * MINUTE  # a minute's count outlives the hour it is shown in
LAST_KEEP_SECONDS = 7 * 24 * 3600  # the last batch's time, in Redis


def minute_of(moment: float) -> int:
    """The minute (since the Unix epoch) a moment falls in."""
    return int(moment // MINUTE)


def minute_key(organization_id: int, minute: int) -> str:
    """The organization's events in one minute: the allowance's count (limits.py)."""
    return f"tw:ingest:{organization_id}:{minute}"


REFUSED_SUFFIX = ":refused"


def refused_key(organization_id: int, minute: int) -> str:
    """The organization's events refused one by one in one minute."""
    return minute_key(organization_id, minute) + REFUSED_SUFFIX


def last_key(organization_id: int) -> str:
    """When the organization's last batch was taken (epoch seconds)."""
    return f"tw:ingest:{organization_id}:last"


@dataclass(frozen=True, slots=True)
class Stretch:
    """Events received over a few minutes."""

    start: datetime
    events: int


@dataclass(frozen=True, slots=True)
class Activity:
    """Events received in each of the last MINUTES minutes, oldest first (the last is the
    minute under way), of which those refused one by one (no entries: none), and when the
    last batch came (None when not known here: older than what the store keeps)."""

    first_minute: int
    per_minute: tuple[int, ...]
    last_at: datetime | None
    refused_per_minute: tuple[int, ...] = ()

    @property
    def total(self) -> int:
        """Every event of the batches taken, refused ones included (the rate limit's)."""
        return sum(self.per_minute)

    @property
    def refused(self) -> int:
        return sum(self.refused_per_minute)

    @property
    def accepted_per_minute(self) -> tuple[int, ...]:
        """Each minute's events less its refused ones. A batch taken at a minute's end may
        have its refusals counted in the next minute: those beyond a minute's events come
        off the minute before."""
        accepted = list(self.per_minute)
        carry = 0
        for i in reversed(range(len(accepted))):
            refused = carry + (self.refused_per_minute[i] if self.refused_per_minute else 0)
            taken = min(refused, accepted[i])
            accepted[i] -= taken
            carry = refused - taken
        return tuple(accepted)

    @property
    def accepted(self) -> int:
        """The events kept and counted against the alerts."""
        return max(0, self.total - self.refused)

    @property
    def busiest_minute(self) -> int:
        return max(self.accepted_per_minute, default=0)

    def minute_start(self, index: int) -> datetime:
        return datetime.fromtimestamp((self.first_minute + index) * MINUTE, UTC)

    def stretches(self, minutes: int = 5) -> list[Stretch]:
        """The hour's accepted events in stretches of `minutes`, oldest first."""
        accepted = self.accepted_per_minute
        return [
            Stretch(self.minute_start(i), sum(accepted[i : i + minutes]))
            for i in range(0, len(accepted), minutes)
        ]


def _window(now: float) -> range:
    last = minute_of(now)
    return range(last - MINUTES + 1, last + 1)


@lru_cache(maxsize=1)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2)


def _read_redis(organization_id: int, now: float) -> Activity:
    minutes = _window(now)
    keys = [minute_key(organization_id, m) for m in minutes]
    keys += [refused_key(organization_id, m) for m in minutes]
    *counts, last = _client(settings.REDIS_URL).mget([*keys, last_key(organization_id)])
    found = tuple(int(c) if c is not None else 0 for c in counts)
    return Activity(
        minutes.start,
        found[: len(minutes)],
        datetime.fromtimestamp(float(last), UTC) if last is not None else None,
        found[len(minutes) :],
    )


def _read_database(organization_id: int, now: float) -> Activity:
    minutes = _window(now)
    rows = list(
        IngestMinute.objects.filter(
            organization_id=organization_id, minute__gte=minutes.start, minute__lt=minutes.stop
        ).values_list("minute", "events", "refused", "last_at")
    )
    found = {minute: (events, refused) for minute, events, refused, _ in rows}
    last = max((at for *_, at in rows), default=None)
    return Activity(
        minutes.start,
        tuple(found.get(m, (0, 0))[0] for m in minutes),
        last,
        tuple(found.get(m, (0, 0))[1] for m in minutes),
    )


def read(organization_id: int, now: float) -> Activity | None:
    """The organization's activity over the hour ending at `now`; None when the store
    can't be read just now (Redis down: said on the page, never an error)."""
    if not settings.REDIS_URL:
        return _read_database(organization_id, now)
    try:
        return _read_redis(organization_id, now)
    except redis.RedisError:
        log.warning("Reading the ingest activity of organization %s failed", organization_id)
        return None


def add_refused(organization_id: int, refused: int, now: float) -> None:
    """Count the events of a taken batch that were refused one by one (the batch itself
    was counted when taken). A failure is logged, never the batch's: its events are kept."""
    if refused <= 0:
        return
    if not settings.REDIS_URL:
        try:
            with transaction.atomic():  # a savepoint: a failure here leaves the request's own
                _add_refused_to_database(organization_id, refused, now)
        except DatabaseError:
            log.warning("Counting refused events of organization %s failed", organization_id)
        return
    key = refused_key(organization_id, minute_of(now))
    try:
        pipe = _client(settings.REDIS_URL).pipeline(transaction=False)
        pipe.incrby(key, refused)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()
    except redis.RedisError:
        log.warning("Counting refused events of organization %s failed", organization_id)


# -- Without Redis ----------------------------------------------------------------------

_pruned: dict[int, int] = {}  # organization -> the minute its old rows were last deleted in


def add_to_database(organization_id: int, events: int, now: float) -> None:
    """Count a batch taken without Redis: one upsert; and, the first time this process
    counts for the organization in a minute, one delete of the minutes no longer shown."""
    minute = minute_of(now)
    table = IngestMinute._meta.db_table  # a constant: no user input in this statement
    at = connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(now, UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, minute, events, last_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s) ON CONFLICT (organization_id, minute) "
            f"DO UPDATE SET events = {table}.events + excluded.events, "
            f"last_at = CASE WHEN excluded.last_at > {table}.last_at "
            f"THEN excluded.last_at ELSE {table}.last_at END",
            [organization_id, minute, events, at],
        )
    if _pruned.get(organization_id) != minute:
        _pruned[organization_id] = minute
        IngestMinute.objects.filter(
            organization_id=organization_id, minute__lt=minute - KEEP_SECONDS // MINUTE
        ).delete()


def _add_refused_to_database(organization_id: int, refused: int, now: float) -> None:
    """One upsert: the minute's row was most likely made when the batch was taken."""
    table = IngestMinute._meta.db_table  # a constant: no user input in this statement
    at = connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(now, UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, minute, events, refused, last_at) "  # noqa: S608
            "VALUES (%s, %s, 0, %s, %s) ON CONFLICT (organization_id, minute) "
            f"DO UPDATE SET refused = {table}.refused + excluded.refused",
            [organization_id, minute_of(now), refused, at],
        )
