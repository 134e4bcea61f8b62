"""When alerts fire and clear.

- Presence ("at least N in W") is checked as events arrive: `record` counts a batch and
  opens a firing for each alert it took over its threshold.
- Absence ("fewer than N in W") and clearing are checked on a beat, by `evaluate`: no event
  arrives to say that events stopped. An absence alert can only tell after counting for a
  whole window, so it waits that long after it is created or its condition changes.
  The beat checks presence too, so a firing that could not open as events arrived (the
  database was busy, or the beat cleared it a moment before they were counted) opens late
  rather than never.
- An edit, enable or disable is checked at once, by `reevaluate`.
- When the count store lost its counts (`Totals.since`), a window that began before then is
  a lower bound: enough events still decide (a presence alert fires, an absence alert
  clears), too few decide nothing until a whole window has been counted again. So a
  restarted Redis never pages an absence alert and never resolves a presence alert.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

from alerts_saas.alerts import changes, firings
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.counting import RECENT_KEPT, CounterSet, Tally, counts
from alerts_saas.alerts.matching import MatchIndex
from alerts_saas.alerts.models import Alert, ConditionKind, Firing

log = logging.getLogger(__name__)


def holds(alert: Alert, total: int, now: float, since: float = 0.0) -> bool | None:
    """Whether the alert's condition holds with `total` matching events in the window at
    `now`; None while that cannot be told: an absence alert that has not yet counted for a
    whole window, or any alert whose window began before the count store started counting
    (`since`), with fewer events than its threshold so far."""
    presence = alert.kind == ConditionKind.PRESENCE
    if total >= alert.threshold:
        return presence
    started = alert.counting_since.timestamp()
    if now < max(started, since) + alert.window_minutes * 60 and (not presence or since > started):
        return None
    return not presence


def settle(
    alert: Alert,
    total: int,
    firing: Firing | None,
    now: float,
    reason: str = Firing.ClearReason.CLEARED,
    since: float = 0.0,
) -> Firing | None:
    """Open or clear the alert's firing to match its condition; return the open firing."""
    moment = datetime.fromtimestamp(now, UTC)
    if not alert.enabled:
        verdict: bool | None = False
        reason = Firing.ClearReason.DISABLED
    else:
        verdict = holds(alert, total, now, since)
    if verdict and firing is None:
        return firings.open_firing(alert, total, moment)
    if verdict is False and firing is not None:
        firings.clear_firing(firing, reason, moment, total)
        return None
    return firing


# -- As events arrive -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Compiled:
    """An alert as ingestion counts it; each is its own key (hashed by identity, per event)."""

    counter: CounterSet
    presence: bool
    threshold: int


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
        (
            alert,
            Compiled(CounterSet.of(alert), alert.kind == ConditionKind.PRESENCE, alert.threshold),
        )
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


def record(organization_id: int, events: list[Event], now: float | None = None) -> list[Firing]:
    """Count a batch of an organization's events; fire the presence alerts it took over
    their threshold. Returns the firings opened.

    Each event is matched once against the organization's index: its cost follows the
    alerts that can match it, not all of them."""
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
    tallies: dict[CounterSet, Tally] = {}
    crossing_candidates: list[Compiled] = []
    for compiled, its_events in matched.items():
        size = compiled.counter.size
        tally = Tally()
        for event in its_events:
            # A clock a little ahead of ours still counts now, not later.
            bucket = int(min(event.timestamp, now) // size)
            tally.buckets[bucket] = tally.buckets.get(bucket, 0) + 1
        tally.recent = [event.summary() for event in its_events[-RECENT_KEPT:]]
        tallies[compiled.counter] = tally
        if compiled.presence:
            crossing_candidates.append(compiled)
    totals = counts().add(tallies, [a.counter for a in crossing_candidates], now)
    crossed = {
        a.counter.alert_id: a for a in crossing_candidates if totals[a.counter] >= a.threshold
    }
    if not crossed:
        return []
    already = set(
        Firing.objects.filter(alert_id__in=crossed, cleared_at__isnull=True).values_list(
            "alert_id", flat=True
        )
    )
    opened = []
    for alert in Alert.objects.filter(
        pk__in=set(crossed) - already, enabled=True, organization_id=organization_id
    ).select_related("organization"):
        counter = crossed[alert.pk].counter
        if alert.generation != counter.generation:
            continue  # edited since it was compiled: these counts are for the old condition
        try:
            firing = firings.open_firing(alert, totals[counter], datetime.fromtimestamp(now, UTC))
        except Exception:
            # The events are counted; the beat opens the firing on its next run.
            log.exception("Opening a firing for alert %s failed; the beat will retry", alert.pk)
            continue
        if firing is not None:
            opened.append(firing)
    return opened


# -- On the beat ----------------------------------------------------------------------


def evaluate(now: float | None = None) -> dict[str, int]:
    """Open and clear firings to match every alert's condition, across all organizations.
    One alert that fails is logged and retried next time; it never holds up the others."""
    now = time.time() if now is None else now
    open_firings = {f.alert_id: f for f in Firing.objects.filter(cleared_at__isnull=True)}
    alerts = list(
        Alert.objects.filter(Q(enabled=True) | Q(pk__in=list(open_firings))).select_related(
            "organization"
        )
    )
    totals = counts().totals([CounterSet.of(a) for a in alerts], now)
    opened = cleared = failed = 0
    for alert in alerts:
        before = open_firings.get(alert.pk)
        counter = CounterSet.of(alert)
        total = totals[counter]
        try:
            if (
                before is not None
                and alert.enabled
                and holds(alert, total, now, totals.since) is False
            ):
                # Read again just before clearing: a batch counted since the read above
                # found this firing open and so did not open one of its own.
                again = counts().totals([counter], now)
                total, totals.since = again[counter], again.since
            after = settle(alert, total, before, now, since=totals.since)
        except Exception:
            log.exception("Evaluating alert %s failed; retrying on the next beat", alert.pk)
            failed += 1
            continue
        opened += before is None and after is not None
        cleared += before is not None and after is None
    return {"evaluated": len(alerts), "opened": opened, "cleared": cleared, "failed": failed}


def prune(now: float | None = None) -> None:
    """Drop counts older than any chart or window needs."""
    now = time.time() if now is None else now
    counts().prune([CounterSet.of(a) for a in Alert.objects.all()], now)


# -- After an edit ----------------------------------------------------------------------

UNCHECKED = (
    "Its condition could not be checked just now (the event counts did not "
    "answer); it is checked again automatically."
)


def reevaluate(alert: Alert, restarted: bool) -> bool:
    """Check a just-saved alert at once, in the saving transaction. A disabled alert's
    firing clears, and so does one whose count restarted: it was about a condition that no
    longer exists. Both happen before the counts are read, so they need nothing but the
    database. An open firing that stays pages new targets and resolves on removed ones.

    False (and logged) if the counts could not be read: what was done stands, and the next
    beat catches up; say `UNCHECKED` to the person."""
    now = time.time()
    moment = datetime.fromtimestamp(now, UTC)
    firing = firings.open_firing_of(alert)
    if firing is not None and (restarted or not alert.enabled):
        reason = Firing.ClearReason.EDITED if alert.enabled else Firing.ClearReason.DISABLED
        firings.clear_firing(firing, reason, moment)
        firing = None
    if not alert.enabled:
        return True
    try:
        totals = counts().totals([CounterSet.of(alert)], now)
    except redis.RedisError:
        log.exception("Re-evaluating alert %s after a change failed", alert.pk)
        return False
    total = totals[CounterSet.of(alert)]
    was_open = firing is not None
    firing = settle(alert, total, firing, now, Firing.ClearReason.EDITED, totals.since)
    if firing is not None and was_open:
        firings.sync_targets(firing, alert, total)
    return True


def delete(alert: Alert) -> bool:
    """Delete the alert (locked by the caller's transaction), resolving its open firing
    first: the resolves outlive it, as its delivery history does. True if one was open."""
    firing = firings.open_firing_of(alert)
    if firing is not None:
        firings.clear_firing(firing, Firing.ClearReason.DELETED, datetime.now(UTC))
    alert.delete()
    return firing is not None
