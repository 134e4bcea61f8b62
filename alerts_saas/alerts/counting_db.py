"""The count store in the database, for deployments without Redis (the embedded default).

A counter set's rows carry its group as text: "" for all the alert's events, "=" and the
value for one value of its group field, so that both fit one unique constraint.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum, Window
from django.db.models.functions import RowNumber

from alerts_saas.alerts.conditions import shown
from alerts_saas.alerts.counters import (
    RECENT_KEPT,
    CounterSet,
    Row,
    SeenGroup,
    Tally,
    Totals,
    retention_seconds,
)
from alerts_saas.alerts.models import MatchBucket, RecentMatch
from alerts_saas.alerts.models import SeenGroup as SeenGroupRow


def _stored(counter: CounterSet) -> str:
    return "" if counter.group is None else "=" + counter.group


def _any_of(counters: Iterable[CounterSet]) -> Q:
    """The rows of any of these counter sets."""
    where = Q(pk__in=[])
    for c in counters:
        where |= Q(alert_id=c.alert_id, generation=c.generation, group=_stored(c))
    return where


def _admit(new: list[CounterSet], tallies: dict[CounterSet, Tally], now: float) -> list[CounterSet]:
    """Register new values of one alert while it has room; return those refused. The caller
    holds the alert's lock until the batch commits (`_lock`), so two batches never both take
    its last place. A value another batch registered meanwhile is known, not refused."""
    refused = []
    with connection.cursor() as cursor:
        for c in new:
            tally = tallies[c]
            its = (c.alert_id, c.generation)
            row = (*its, c.group, tally.first or now, now)
            cursor.execute(_ADMIT, [*row, *its, tally.group_limit, *its, c.group])
            if cursor.fetchone() is None:
                refused.append(c)
    return refused


def _lock(alert_id: int) -> None:
    """Take the alert's lock of its values seen until the batch commits (PostgreSQL: an
    advisory lock; SQLite has one writer at a time). Before its values' rows are touched:
    a batch that updated a known value and then waited for the lock, while the lock's
    holder inserted that value (registered meanwhile by a third batch), was a deadlock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LOCK, [_LOCK_SPACE, alert_id & 0x7FFFFFFF])


class DatabaseCounts:
    """The same in tables: an upsert adds to a bucket without reading it first."""

    def add(
        self, tallies: dict[CounterSet, Tally], totals_for: Iterable[CounterSet], now: float
    ) -> Totals:
        with transaction.atomic():
            refused = self._register(tallies, now)
            counted = {c: t for c, t in tallies.items() if c not in refused}
            rows = [
                (c.alert_id, c.generation, _stored(c), bucket, count, t.levels.get(bucket))
                for c, t in counted.items()
                for bucket, count in t.buckets.items()
            ]
            if rows:
                # In one order for every batch (a batch lists its alerts as its events came):
                # two batches locking the same buckets in other orders deadlocked.
                rows.sort(key=lambda row: row[:4])
                with connection.cursor() as cursor:
                    cursor.executemany(_UPSERT, rows)
            RecentMatch.objects.bulk_create(
                RecentMatch(
                    alert_id=c.alert_id,
                    generation=c.generation,
                    group=_stored(c),
                    event=orjson.loads(summary),
                )
                for c, tally in counted.items()
                for summary in tally.recent[-RECENT_KEPT:]
            )
        totals = self.totals(totals_for, now)
        totals.refused = frozenset(c for c in refused if c in totals)
        return totals

    @staticmethod
    def _register(tallies: dict[CounterSet, Tally], now: float) -> set[CounterSet]:
        """Note the group values seen; return the counter sets refused at their alert's
        limit of values. Under each alert's lock (`_lock`), a known value costs one UPDATE
        and new values are admitted (`_admit`). In (alert, value) order, so that two batches
        take their locks in the same order and never wait for each other in a circle."""
        groups = sorted(
            (c for c, t in tallies.items() if c.group is not None and t.group_limit),
            key=lambda c: (c.alert_id, c.group),
        )
        refused: set[CounterSet] = set()
        for alert_id, of_alert in itertools.groupby(groups, key=lambda c: c.alert_id):
            _lock(alert_id)
            new = [
                counter
                for counter in of_alert
                if not SeenGroupRow.objects.filter(
                    alert_id=counter.alert_id, generation=counter.generation, value=counter.group
                ).update(last_seen=now)
            ]
            if new:
                refused.update(_admit(new, tallies, now))
        return refused

    def since(self, now: float) -> float:
        return 0.0  # the database keeps its counts

    def count(self, rows: Sequence[Row], now: float) -> tuple[float, list[int]]:
        wanted = [counter for counter, _, want in rows if want]
        totals = self.add({counter: tally for counter, tally, _ in rows}, wanted, now)
        return totals.since, [-1 if c in totals.refused else totals[c] for c in wanted]

    def totals(self, sets: Iterable[CounterSet], now: float) -> Totals:
        sets = list(sets)
        if not sets:
            return Totals({}, 0.0, frozenset())
        where = Q()
        for c in sets:
            window = c.window_buckets(now)
            where |= Q(
                alert_id=c.alert_id,
                generation=c.generation,
                group=_stored(c),
                bucket__gte=window.start,
                bucket__lt=window.stop,
            )
        found = {
            (alert_id, group): n
            for alert_id, group, n in MatchBucket.objects.filter(where)
            .values("alert_id", "group")
            .annotate(n=Sum("count"))
            .values_list("alert_id", "group", "n")
        }
        return Totals({c: found.get((c.alert_id, _stored(c)), 0) for c in sets}, 0.0, frozenset())

    def buckets(self, counter: CounterSet, first: int, last: int) -> dict[int, int]:
        return dict(
            self._rows(counter)
            .filter(bucket__gte=first, bucket__lte=last)
            .values_list("bucket", "count")
        )

    def recent(self, counter: CounterSet, limit: int = RECENT_KEPT) -> list[dict[str, Any]]:
        return self.recent_of([counter], limit)[counter]

    def recent_of(
        self, counters: Iterable[CounterSet], limit: int = RECENT_KEPT
    ) -> dict[CounterSet, list[dict[str, Any]]]:
        """One query: each counter set's `limit` latest (a row number per counter set)."""
        counters = list(counters)
        found: dict[CounterSet, list[dict[str, Any]]] = {c: [] for c in counters}
        by_key = {(c.alert_id, c.generation, _stored(c)): c for c in counters}
        rows = (
            RecentMatch.objects.filter(_any_of(counters))
            .annotate(
                n=Window(
                    RowNumber(),
                    partition_by=[F("alert_id"), F("generation"), F("group")],
                    order_by=[F("received_at").desc(), F("pk").desc()],
                )
            )
            .filter(n__lte=limit)
            .order_by("n")
            .values_list("alert_id", "generation", "group", "event")
        )
        for alert_id, generation, group, event in rows:
            found[by_key[alert_id, generation, group]].append(shown(event))
        return found

    def highest_level(self, counter: CounterSet, now: float) -> int | None:
        return self.highest_levels([counter], now)[counter]

    def highest_levels(
        self, counters: Iterable[CounterSet], now: float
    ) -> dict[CounterSet, int | None]:
        """One query: the highest level in each counter set's window."""
        counters = list(counters)
        found: dict[CounterSet, int | None] = dict.fromkeys(counters)
        by_key = {(c.alert_id, c.generation, _stored(c)): c for c in counters}
        where = Q(pk__in=[])
        for c in counters:
            window = c.window_buckets(now)
            where |= _any_of([c]) & Q(bucket__gte=window.start, bucket__lt=window.stop)
        rows = (
            MatchBucket.objects.filter(where)
            .values("alert_id", "generation", "group")
            .annotate(top=Max("top_level"))
            .values_list("alert_id", "generation", "group", "top")
        )
        for alert_id, generation, group, top in rows:
            found[by_key[alert_id, generation, group]] = top
        return found

    def groups(self, alerts: Iterable[CounterSet]) -> dict[CounterSet, list[SeenGroup]]:
        alerts = list(alerts)
        where = Q(pk__in=[])
        for alert in alerts:
            where |= Q(alert_id=alert.alert_id, generation=alert.generation)
        seen: dict[CounterSet, list[SeenGroup]] = {alert: [] for alert in alerts}
        by_alert = {(a.alert_id, a.generation): a for a in alerts}
        rows = SeenGroupRow.objects.filter(where).order_by("-last_seen", "value")
        for row in rows:
            seen[by_alert[row.alert_id, row.generation]].append(
                SeenGroup(row.value, row.first_seen, row.last_seen)
            )
        return seen

    def seen_counts(self, alerts: Iterable[CounterSet]) -> dict[CounterSet, int]:
        alerts = list(alerts)
        where = Q(pk__in=[])
        for alert in alerts:
            where |= Q(alert_id=alert.alert_id, generation=alert.generation)
        counted = {
            (row["alert_id"], row["generation"]): row["n"]
            for row in SeenGroupRow.objects.filter(where)
            .values("alert_id", "generation")
            .annotate(n=Count("pk"))
        }
        return {a: counted.get((a.alert_id, a.generation), 0) for a in alerts}

    def registered(self, alert: CounterSet, values: Iterable[str]) -> set[str]:
        return set(
            SeenGroupRow.objects.filter(
                alert_id=alert.alert_id, generation=alert.generation, value__in=list(values)
            ).values_list("value", flat=True)
        )

    def forget(self, alert: CounterSet, values: Iterable[str]) -> None:
        values = list(values)
        stored = ["=" + value for value in values]
        with transaction.atomic():
            SeenGroupRow.objects.filter(
                alert_id=alert.alert_id, generation=alert.generation, value__in=values
            ).delete()
            MatchBucket.objects.filter(alert_id=alert.alert_id, group__in=stored).delete()
            RecentMatch.objects.filter(alert_id=alert.alert_id, group__in=stored).delete()

    def prune(self, sets: Iterable[CounterSet], now: float) -> None:
        for c in sets:
            oldest = int((now - retention_seconds(c.window_minutes)) // c.size)
            MatchBucket.objects.filter(alert_id=c.alert_id).filter(
                Q(generation__lt=c.generation) | Q(bucket__lt=oldest)
            ).delete()
            SeenGroupRow.objects.filter(alert_id=c.alert_id, generation__lt=c.generation).delete()
            keep = RecentMatch.objects.filter(alert_id=c.alert_id, generation=c.generation)
            keep_ids = [
                pk
                for group in keep.values_list("group", flat=True).distinct()
                for pk in keep.filter(group=group)
                .order_by("-received_at", "-pk")
                .values_list("pk", flat=True)[:RECENT_KEPT]
            ]
            RecentMatch.objects.filter(alert_id=c.alert_id).exclude(pk__in=keep_ids).delete()

    @staticmethod
    def _rows(counter: CounterSet) -> Any:
        return MatchBucket.objects.filter(
            alert_id=counter.alert_id, generation=counter.generation, group=_stored(counter)
        )


_TABLE = MatchBucket._meta.db_table  # a constant: no user input in this statement
_UPSERT = (
    f'INSERT INTO {_TABLE} (alert_id, generation, "group", bucket, count, top_level) '  # noqa: S608
    "VALUES (%s, %s, %s, %s, %s, %s) "
    'ON CONFLICT (alert_id, generation, "group", bucket) '
    f"DO UPDATE SET count = {_TABLE}.count + excluded.count, top_level = CASE "
    f"WHEN {_TABLE}.top_level IS NULL OR excluded.top_level > {_TABLE}.top_level "
    f"THEN excluded.top_level ELSE {_TABLE}.top_level END"
)

# An alert's values seen: one lock per alert (its id, in a space of this module's own)
# around counting them and adding one, and the insert that adds one while there is room.
_LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
_LOCK_SPACE = 0x5EE9  # "seen"
_SEEN = SeenGroupRow._meta.db_table  # a constant, as above
_ADMIT = (
    f"INSERT INTO {_SEEN} (alert_id, generation, value, first_seen, last_seen) "  # noqa: S608
    "SELECT %s, %s, %s, %s, %s "
    f"WHERE (SELECT count(*) FROM {_SEEN} WHERE alert_id = %s AND generation = %s) < %s "
    f"OR EXISTS (SELECT 1 FROM {_SEEN} WHERE alert_id = %s AND generation = %s AND value = %s) "
    "ON CONFLICT (alert_id, generation, value) DO UPDATE SET last_seen = excluded.last_seen "
    "RETURNING 1"
)
