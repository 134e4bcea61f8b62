"""Counting events as they arrive, and firing the presence alerts a batch takes over their
threshold (absence and clearing are the beat's: evaluation.py).

Each event is matched once against the organization's index of alerts (matching.py): the
cost follows the alerts that can match it, not all of them. An alert that groups counts
each value of its group field on its own as well as all its events together (the chart's
count), and fires per value.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from alerts_saas.alerts import changes, firings
from alerts_saas.alerts.conditions import Event, group_reader
from alerts_saas.alerts.counting import RECENT_KEPT, CounterSet, Row, Tally, counts
from alerts_saas.alerts.matching import MatchIndex
from alerts_saas.alerts.models import Alert, ConditionKind, Firing

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class Compiled:
    """An alert as ingestion counts it; each is its own key (hashed by identity, per event)."""

    counter: CounterSet  # all its matching events
    presence: bool
    threshold: int
    group_of: Callable[[Event], str] | None  # an event's group value, if the alert groups
    levels: bool  # whether the highest level per bucket is kept (severity from the events)
    _groups: dict[str, CounterSet] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, alert: Alert) -> Compiled:
        return cls(
            CounterSet.of(alert),
            alert.kind == ConditionKind.PRESENCE,
            alert.threshold,
            group_reader(alert),
            alert.severity_from_events,
        )

    def in_group(self, value: str) -> CounterSet:
        """The counter set of one value (made once per value while the alert is compiled)."""
        counter = self._groups.get(value)
        if counter is None:
            if len(self._groups) > 2 * settings.ALERT_GROUP_LIMIT:
                self._groups.clear()  # values a sender made up: not kept without bound
            counter = self._groups[value] = self.counter.in_group(value)
        return counter


# How long the change token read for a batch is trusted, in seconds: an alert changed by
# another process reaches this one's ingestion within it (this process's own changes, at
# once: `_forget`). Reading it for every batch cost a Redis round trip each.
TOKEN_TRUSTED_SECONDS = 1.0


@dataclass(slots=True)
class _Cached:
    token: str | None  # the change token it was compiled under (changes.py)
    stamp: tuple[object, ...]  # the alerts' latest change and count in the database
    index: MatchIndex[Compiled]
    checked: float  # time.monotonic() of the last comparison with the database
    read: float  # time.monotonic() the token was last read


_compiled: dict[int, _Cached] = {}


def compiled_alerts(organization_id: int) -> MatchIndex[Compiled]:
    """The organization's enabled alerts, indexed for matching; recompiled when any alert
    changes, which one Redis GET tells (`changes`; read at most every
    TOKEN_TRUSTED_SECONDS), with the database compared every ALERTS_RECHECK_SECONDS as a
    backstop (and every time without Redis)."""
    cached = _compiled.get(organization_id)
    moment = time.monotonic()
    if (
        cached is not None
        and cached.token is not None
        and moment - cached.read < TOKEN_TRUSTED_SECONDS
        and moment - cached.checked < settings.ALERTS_RECHECK_SECONDS
    ):
        return cached.index
    token = changes.token(organization_id)
    if (
        cached is not None
        and token is not None
        and token == cached.token
        and moment - cached.checked < settings.ALERTS_RECHECK_SECONDS
    ):
        cached.read = moment
        return cached.index
    stamp = changes.database_stamp(organization_id)
    if cached is not None and cached.stamp == stamp and token in (None, cached.token):
        cached.checked = cached.read = moment
        return cached.index
    index = MatchIndex(
        (alert, Compiled.of(alert))
        for alert in Alert.objects.filter(organization_id=organization_id, enabled=True)
    )
    _compiled[organization_id] = _Cached(token, stamp, index, moment, moment)
    return index


def _forget(sender: object, instance: Alert, **kwargs: object) -> None:
    """post_save and post_delete of Alert: this process's next batch of the organization
    reads the change token again (now, and once the change is committed), so that its own
    changes reach its ingestion at once."""
    organization_id = instance.organization_id

    def forget() -> None:
        cached = _compiled.get(organization_id)
        if cached is not None:
            cached.read = -math.inf

    forget()
    transaction.on_commit(forget)


post_save.connect(_forget, sender=Alert, dispatch_uid="evaluation-forget-saved")
post_delete.connect(_forget, sender=Alert, dispatch_uid="evaluation-forget-deleted")


def _tally(events: list[Event], size: int, now: float, levels: bool) -> Tally:
    """What `events` add to one counter set (run per matched alert and batch: kept lean)."""
    if len(events) == 1:  # the usual case for most of a large organization's alerts
        event = events[0]
        stamp = event.timestamp
        bucket = int((stamp if stamp < now else now) // size)
        return Tally(
            {bucket: 1}, [event.summary()], {bucket: event.level} if levels and event.level else {}
        )
    buckets: dict[int, int] = {}
    highest: dict[int, int] = {}
    for event in events:
        stamp = event.timestamp
        # A clock a little ahead of ours still counts now, not later.
        bucket = int((stamp if stamp < now else now) // size)
        buckets[bucket] = buckets.get(bucket, 0) + 1
        if levels and event.level > highest.get(bucket, 0):
            highest[bucket] = event.level
    recent = [event.summary() for event in events[-RECENT_KEPT:]]
    return Tally(buckets, recent, highest)


def record(organization_id: int, events: list[Event], now: float | None = None) -> list[Firing]:
    """Count a batch of an organization's events; fire the presence alerts (or values of
    their group field) it took over their threshold. Returns the firings opened."""
    now = time.time() if now is None else now
    index = compiled_alerts(organization_id)
    if not len(index):
        return []
    matched: dict[Compiled, list[Event]] = {}
    for event in events:
        for compiled in index.matches(event):
            matched.setdefault(compiled, []).append(event)
    if not matched:
        return []
    rows: list[Row] = []
    crossing: list[Compiled] = []  # the presence alerts of the rows whose sums are wanted
    group_limit = settings.ALERT_GROUP_LIMIT
    for compiled, its_events in matched.items():
        counter, presence = compiled.counter, compiled.presence
        tally = _tally(its_events, counter.size, now, compiled.levels)
        if compiled.group_of is None:
            rows.append((counter, tally, presence))
            if presence:
                crossing.append(compiled)
            continue
        rows.append((counter, tally, False))  # the chart's: an alert that groups fires per value
        by_value: dict[str, list[Event]] = {}
        for event in its_events:
            by_value.setdefault(compiled.group_of(event), []).append(event)
        for value, its_own in by_value.items():
            tally = _tally(its_own, counter.size, now, compiled.levels)
            tally.group_limit = group_limit
            tally.first = min(min([event.timestamp for event in its_own]), now)
            rows.append((compiled.in_group(value), tally, presence))
            if presence:
                crossing.append(compiled)
    _, sums = counts().count(rows, now)
    wanted = [counter for counter, _, want in rows if want]
    crossed = {
        counter: total
        for compiled, counter, total in zip(crossing, wanted, sums, strict=True)
        if total >= compiled.threshold and total >= 0  # -1: refused at the group limit
    }
    return _open(organization_id, crossed, now) if crossed else []


def _open(organization_id: int, crossed: dict[CounterSet, int], now: float) -> list[Firing]:
    """Open the firings of the counter sets that crossed: per alert, all its values at once
    (a storm that takes 300 hosts over the threshold costs the queries of one)."""
    ids = {counter.alert_id for counter in crossed}
    already = set(
        Firing.objects.filter(alert_id__in=ids, cleared_at__isnull=True).values_list(
            "alert_id", "group"
        )
    )
    alerts = Alert.objects.filter(pk__in=ids, enabled=True, organization_id=organization_id)
    by_id = {alert.pk: alert for alert in alerts.select_related("organization")}
    values: dict[int, list[tuple[str | None, int]]] = {}
    for counter, total in crossed.items():
        alert = by_id.get(counter.alert_id)
        if (counter.alert_id, counter.group or "") in already or alert is None:
            continue
        if alert.generation != counter.generation:
            continue  # edited since it was compiled: these counts are for the old condition
        values.setdefault(alert.pk, []).append((counter.group, total))
    opened = []
    moment = datetime.fromtimestamp(now, UTC)
    for alert_id, its_values in values.items():
        try:
            opened += firings.open_firings(by_id[alert_id], its_values, moment)
        except Exception:
            # The events are counted; the beat opens the firings on its next run.
            log.exception("Opening firings for alert %s failed; the beat will retry", alert_id)
    return opened
