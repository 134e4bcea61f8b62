"""An organization's ingest activity: how many events it sent in each of the last 60
minutes, and when the last batch came. The dashboard shows it.

It is written by the step that takes a batch into the organization's allowance
(`limits.take`), in the same round trip, so a batch pays nothing more for it. With Redis,
the allowance's script already counts each minute's events for the rate limit; those
counts are kept for an hour (KEEP_SECONDS) instead of the two minutes the limit needs, and
the script also stamps the last batch's time. Without Redis (the embedded default), a row
per organization and minute in the database (`IngestMinute`), one upsert per batch.

The events counted are those of every batch taken, before each is judged: events refused
one by one (a bad level, a timestamp too old) are counted too; batches refused whole (429,
413, 401) are not. Reading costs one MGET (or one query), however many events came.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection

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
    minute under way), and when the last batch came (None when not known here: older than
    what the store keeps)."""

    first_minute: int
    per_minute: tuple[int, ...]
    last_at: datetime | None

    @property
    def total(self) -> int:
        return sum(self.per_minute)

    @property
    def busiest_minute(self) -> int:
        return max(self.per_minute, default=0)

    def minute_start(self, index: int) -> datetime:
        return datetime.fromtimestamp((self.first_minute + index) * MINUTE, UTC)

    def stretches(self, minutes: int = 5) -> list[Stretch]:
        """The hour in stretches of `minutes`, oldest first."""
        return [
            Stretch(self.minute_start(i), sum(self.per_minute[i : i + minutes]))
            for i in range(0, len(self.per_minute), minutes)
        ]


def _window(now: float) -> range:
    last = minute_of(now)
    return range(last - MINUTES + 1, last + 1)


@lru_cache(maxsize=1)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2)


def _read_redis(organization_id: int, now: float) -> Activity:
    minutes = _window(now)
    keys = [minute_key(organization_id, m) for m in minutes] + [last_key(organization_id)]
    *counts, last = _client(settings.REDIS_URL).mget(keys)
    return Activity(
        minutes.start,
        tuple(int(c) if c is not None else 0 for c in counts),
        datetime.fromtimestamp(float(last), UTC) if last is not None else None,
    )


def _read_database(organization_id: int, now: float) -> Activity:
    minutes = _window(now)
    rows = list(
        IngestMinute.objects.filter(
            organization_id=organization_id, minute__gte=minutes.start, minute__lt=minutes.stop
        ).values_list("minute", "events", "last_at")
    )
    found = {minute: events for minute, events, _ in rows}
    last = max((at for _, _, at in rows), default=None)
    return Activity(minutes.start, tuple(found.get(m, 0) for m in minutes), last)


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
