"""Matching events per alert and time bucket, each alert's latest matching events, and the
values an alert that groups has seen.

A window is cut into 60 buckets (so a bucket is as many seconds as the window has minutes)
and the count in a window is the sum of its 60 newest buckets: at most a sixtieth of the
window is lost at its old edge. Counts live in the alert's current counter set
(`Alert.generation`), so a changed condition starts from zero.

An alert that groups (`Alert.group_by`) has one counter set for all its matching events
(the chart's) and one per value of its group field (a host, a region), each counted,
fired and cleared on its own. The values seen are registered with when each was first and
last seen, up to a limit per alert: past it, a new value is not counted (`Totals.refused`).

With Redis (production, tests) a counter set is one hash, written and read by one Lua
script per batch (counting_redis.py); without Redis (the embedded default) the same lives
in tables (counting_db.py).

Counts that know they were lost: Redis keeps nothing on disk here, so a restart, a failover
to an empty node or a flush empties it. An empty store must never read as "no events", so
it carries an epoch, the moment it started counting (set by the first script to find it
missing). Every read returns it as `Totals.since`; evaluation treats a window that began
before it as unknown (see `evaluation.holds`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings

from alerts_saas.alerts.counters import (
    BUCKETS_PER_WINDOW,
    CHART_MIN_SPAN,
    RECENT_KEPT,
    CounterSet,
    Row,
    SeenGroup,
    Tally,
    Totals,
    bucket_seconds,
    chart_span,
    forget_after,
    retention_seconds,
)
from alerts_saas.alerts.counting_db import DatabaseCounts
from alerts_saas.alerts.counting_redis import RedisCounts

__all__ = [  # the types, for the stores' callers: one place to import counting from
    "BUCKETS_PER_WINDOW",
    "CHART_MIN_SPAN",
    "RECENT_KEPT",
    "CounterSet",
    "Row",
    "SeenGroup",
    "Tally",
    "Totals",
    "bucket_seconds",
    "chart_span",
    "counts",
    "forget_after",
    "retention_seconds",
]


class Counts(Protocol):
    def add(
        self, tallies: dict[CounterSet, Tally], totals_for: Iterable[CounterSet], now: float
    ) -> Totals:
        """Add the tallies; return the window count of each of `totals_for`, at `now`."""

    def count(self, rows: Sequence[Row], now: float) -> tuple[float, list[int]]:
        """`add` for ingestion, without building dicts of counter sets: each row's tally
        added; the epoch (`Totals.since`) and the window count of each row that wants it,
        in order, -1 for a group's counter set refused at its alert's limit."""

    def totals(self, sets: Iterable[CounterSet], now: float) -> Totals: ...

    def since(self, now: float) -> float:
        """When the store started counting (see `Totals.since`)."""

    def buckets(self, counter: CounterSet, first: int, last: int) -> dict[int, int]: ...

    def recent(self, counter: CounterSet, limit: int = RECENT_KEPT) -> list[dict[str, Any]]:
        """The latest matching events, newest first."""

    def recent_of(
        self, counters: Iterable[CounterSet], limit: int = RECENT_KEPT
    ) -> dict[CounterSet, list[dict[str, Any]]]:
        """`recent` of many counter sets in one read."""

    def highest_level(self, counter: CounterSet, now: float) -> int | None:
        """The highest level among the window's matching events (None: none counted)."""

    def highest_levels(
        self, counters: Iterable[CounterSet], now: float
    ) -> dict[CounterSet, int | None]:
        """`highest_level` of many counter sets in one read."""

    def groups(self, alerts: Iterable[CounterSet]) -> dict[CounterSet, list[SeenGroup]]:
        """The values each alert (its counter set for all events) has seen, newest first."""

    def seen_counts(self, alerts: Iterable[CounterSet]) -> dict[CounterSet, int]:
        """How many values each alert (its counter set for all events) has seen and not
        forgotten, without reading them."""

    def registered(self, alert: CounterSet, values: Iterable[str]) -> set[str]:
        """Those of `values` the alert (its counter set for all events) has seen and not
        forgotten."""

    def forget(self, alert: CounterSet, values: Iterable[str]) -> None:
        """Forget values of an alert's group field, and their counts."""

    def prune(self, sets: Iterable[CounterSet], now: float) -> None: ...


@lru_cache(maxsize=1)
def counts() -> Counts:
    url = settings.REDIS_URL
    return RedisCounts(url) if url else DatabaseCounts()
