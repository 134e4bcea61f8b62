"""Where counts live and what a batch adds: counter sets (an alert's, or one value's of
its group field), tallies, window totals, and the values an alert has seen (see
counting.py for the stores)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings

from alerts_saas.alerts.models import Alert

BUCKETS_PER_WINDOW = 60
RECENT_KEPT = 10
CHART_MIN_SPAN = 3600  # seconds: charts show at least the last hour
# The start of every counter set's key (its hash of buckets). A new one when the count
# store's layout changes (with its epoch, counting_redis.EPOCH_KEY): no two layouts share
# a count.
COUNTS_PREFIX = "tw:counts:3:"


def bucket_seconds(window_minutes: int) -> int:
    return max(1, window_minutes * 60 // BUCKETS_PER_WINDOW)


def retention_seconds(window_minutes: int) -> int:
    """How long buckets are kept: the chart's span plus one window before it."""
    return chart_span(window_minutes) + window_minutes * 60


def chart_span(window_minutes: int) -> int:
    return max(CHART_MIN_SPAN, 2 * window_minutes * 60)


def forget_after(window_minutes: int) -> int:
    """Seconds after which a group value not seen is forgotten."""
    return settings.ALERT_GROUP_FORGET_WINDOWS * window_minutes * 60


@dataclass(frozen=True, slots=True)
class CounterSet:
    """Where one alert's counts live now: all its matching events (`group` None), or those
    of one value of its group field (`group`, "" for events without the field)."""

    alert_id: int
    generation: int
    window_minutes: int
    group: str | None = None
    # Made once, not per batch: the Redis keys and how long they are kept.
    key: str = field(init=False, compare=False, repr=False)  # the counts' hash
    groups_key: str = field(init=False, compare=False, repr=False)  # values seen, by last seen
    firsts_key: str = field(init=False, compare=False, repr=False)  # values, by first seen
    retention: int = field(init=False, compare=False, repr=False)
    size: int = field(init=False, compare=False, repr=False)  # a bucket's seconds
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        base = f"tw:alert:{self.alert_id}:{self.generation}"
        counts = f"{COUNTS_PREFIX}{self.alert_id}:{self.generation}"
        key = counts if self.group is None else f"{counts}:g:{_digest(self.group)}"
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "groups_key", base + ":groups")
        object.__setattr__(self, "firsts_key", base + ":firsts")
        object.__setattr__(self, "retention", retention_seconds(self.window_minutes))
        object.__setattr__(self, "size", bucket_seconds(self.window_minutes))
        object.__setattr__(self, "_hash", hash((self.alert_id, self.generation, self.group)))

    def __hash__(self) -> int:  # a counter set is a key of every batch's dicts: hashed once
        return self._hash

    @classmethod
    def of(cls, alert: Alert, group: str | None = None) -> CounterSet:
        return cls(alert.pk, alert.generation, alert.window_minutes, group)

    def in_group(self, group: str) -> CounterSet:
        return CounterSet(self.alert_id, self.generation, self.window_minutes, group)

    @property
    def keys(self) -> tuple[str, ...]:
        """Every Redis key this counter set writes."""
        if self.group is None:
            return (self.key,)
        return (self.key, self.groups_key, self.firsts_key)

    @property
    def group_retention(self) -> int:
        """How long the values seen are kept without news: past forgetting, and at least
        as long as the counts."""
        return max(self.retention, forget_after(self.window_minutes) + 60 * self.window_minutes)

    def window_buckets(self, now: float) -> range:
        """The buckets whose sum is the count in the window ending at `now`."""
        last = int(now // self.size)
        return range(last - BUCKETS_PER_WINDOW + 1, last + 1)


def _digest(group: str) -> str:
    return hashlib.blake2b(group.encode(), digest_size=12).hexdigest()


@dataclass(slots=True)
class Tally:
    """What one batch of events adds to one counter set."""

    buckets: dict[int, int] = field(default_factory=dict)
    recent: list[bytes] = field(default_factory=list)  # events as JSON, newest last
    levels: dict[int, int] = field(default_factory=dict)  # bucket: highest event level
    group_limit: int = 0  # for a group's counter set: how many values the alert may have
    first: float = 0.0  # the earliest event's time (epoch seconds): a new value's first sighting


@dataclass(frozen=True, slots=True)
class SeenGroup:
    value: str
    first_seen: float  # epoch seconds
    last_seen: float


# What a batch adds to one counter set, and whether its window sum is wanted back.
Row = tuple[CounterSet, Tally, bool]


class Totals(dict[CounterSet, int]):
    """Window counts, and `since`: when the store started counting (epoch seconds; 0 for a
    store that never loses its counts). A count whose window began before `since` is only
    a lower bound. `refused`: the group counter sets not counted, their alert being at its
    limit of values."""

    def __init__(
        self, values: dict[CounterSet, int], since: float, refused: frozenset[CounterSet]
    ) -> None:
        super().__init__(values)
        self.since = since
        self.refused = refused
