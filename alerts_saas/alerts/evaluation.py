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
- An alert that groups (one firing per host...) is decided per value of its group field:
  a value seen and gone quiet fires an absence alert; a value not seen for
  ALERT_GROUP_FORGET_WINDOWS windows is forgotten, and its firing clears as "No longer
  seen" (one whose sightings the count store lost: that long after its firing opened).
- When the count store lost its counts (`Totals.since`), a window that began before then is
  a lower bound: enough events still decide (a presence alert fires, an absence alert
  clears), too few decide nothing until a whole window has been counted again. So a
  restarted Redis never pages an absence alert and never resolves a presence alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.db.models import Q

from alerts_saas.alerts import firings, resolving
from alerts_saas.alerts.counting import CounterSet, Totals, counts, forget_after
from alerts_saas.alerts.counting import SeenGroup as Seen
from alerts_saas.alerts.models import Alert, ConditionKind, Firing
from alerts_saas.alerts.recording import compiled_alerts, record  # noqa: F401 (entry points)

log = logging.getLogger(__name__)


def holds(
    alert: Alert, total: int, now: float, since: float = 0.0, first_seen: float = 0.0
) -> bool | None:
    """Whether the alert's condition holds with `total` matching events in the window at
    `now`; None while that cannot be told: an absence alert that has not yet counted for a
    whole window (since it was created or changed, or for one group value since the value
    was `first_seen`), or any alert whose window began before the count store started
    counting (`since`), with fewer events than its threshold so far."""
    presence = alert.kind == ConditionKind.PRESENCE
    if total >= alert.threshold:
        return presence
    started = max(alert.counting_since.timestamp(), first_seen)
    if now < max(started, since) + alert.window_minutes * 60 and (not presence or since > started):
        return None
    return not presence


# -- On the beat ----------------------------------------------------------------------


@dataclass(slots=True)
class _Watched:
    """One thing the beat decides about: an alert, or one value of its group field."""

    alert: Alert
    counter: CounterSet
    group: Seen | None
    firing: Firing | None


def evaluate(now: float | None = None) -> dict[str, int]:
    """Open and clear firings to match every alert's condition (per value of the group
    field, for an alert that groups), across all organizations. One that fails is logged
    and retried next time; it never holds up the others."""
    now = time.time() if now is None else now
    open_firings = {
        (f.alert_id, f.group): f for f in Firing.objects.filter(cleared_at__isnull=True)
    }
    alerts = list(
        Alert.objects.filter(
            Q(enabled=True) | Q(pk__in={alert_id for alert_id, _ in open_firings})
        ).select_related("organization")
    )
    watched, forgotten = _watched(alerts, open_firings, now)
    totals = _totals([w.counter for w in watched], now)
    by_alert: dict[int, list[_Watched]] = {}
    for w in watched:
        by_alert.setdefault(w.alert.pk, []).append(w)
    opened = cleared = failed = 0
    for its in by_alert.values():
        try:
            its_opened, its_cleared = _settle(its, totals, now)
        except Exception:
            log.exception("Evaluating alert %s failed; retrying on the next beat", its[0].alert.pk)
            failed += 1
            continue
        opened += its_opened
        cleared += its_cleared
    return {
        "evaluated": len(alerts),
        "opened": opened,
        "cleared": cleared + forgotten,
        "failed": failed,
    }


def _settle(its: list[_Watched], totals: Totals, now: float) -> tuple[int, int]:
    """Open and clear one alert's firings (one per value of its group field, for an alert
    that groups) to match its condition, all its values together: a fixed number of
    queries however many hosts change at once. Returns how many opened and cleared.
    An enabled alert that does not auto-resolve keeps its firings open for a person to
    resolve (`resolving`), noting when the condition cleared (a restarting edit, disabling
    and deleting clear it before this, as for any alert)."""
    alert, moment = its[0].alert, datetime.fromtimestamp(now, UTC)
    if not alert.enabled:
        gone = {w.firing.pk: totals[w.counter] for w in its if w.firing is not None}
        stale = [w.firing for w in its if w.firing is not None]
        return 0, firings.clear_firings(stale, Firing.ClearReason.DISABLED, moment, gone)[0]
    counted, since = {w.counter: totals[w.counter] for w in its}, totals.since
    ending = [
        w.counter
        for w in its
        if w.firing is not None
        and holds(alert, counted[w.counter], now, since, _first_seen(w)) is False
    ]
    if ending:
        # Read again just before clearing: a batch counted since the read above found
        # these firings open and so did not open its own.
        again = counts().totals(ending, now)
        counted.update(again)
        since = max(since, again.since)
    opening: list[tuple[str | None, int]] = []
    clearing: dict[int, int] = {}
    noting: list[tuple[Firing, bool | None]] = []
    for w in its:
        total = counted[w.counter]
        verdict = holds(alert, total, now, since, _first_seen(w))
        if w.firing is None:
            if verdict:
                opening.append((w.group.value if w.group else None, total))
        elif not alert.auto_resolve:  # it waits for a person: the change is only noted
            noting.append((w.firing, verdict))
        elif verdict is False:
            clearing[w.firing.pk] = total
    ended = [w.firing for w in its if w.firing is not None and w.firing.pk in clearing]
    cleared, _ = firings.clear_firings(ended, Firing.ClearReason.CLEARED, moment, clearing)
    resolving.note_conditions(noting, moment)
    return len(firings.open_firings(alert, opening, moment)), cleared


# Counter sets read by one call of the count store: a beat over many alerts that group (a
# thousand hosts each) reads in steps, so no single script holds Redis for long.
TOTALS_PER_READ = 2000


def _totals(counters: list[CounterSet], now: float) -> Totals:
    """The window counts of `counters`, read TOTALS_PER_READ at a time; `since` the latest
    epoch any step saw (a store reset between steps leaves every count a lower bound)."""
    if len(counters) <= TOTALS_PER_READ:
        return counts().totals(counters, now)
    found: dict[CounterSet, int] = {}
    since = 0.0
    for start in range(0, len(counters), TOTALS_PER_READ):
        step = counts().totals(counters[start : start + TOTALS_PER_READ], now)
        found.update(step)
        since = max(since, step.since)
    return Totals(found, since, frozenset())


def _first_seen(w: _Watched) -> float:
    return w.group.first_seen if w.group is not None else 0.0


def _watched(
    alerts: list[Alert], open_firings: dict[tuple[int, str], Firing], now: float
) -> tuple[list[_Watched], int]:
    """What the beat decides about: each alert that counts all its events together, and
    each value an alert that groups has seen (or has a firing open for). Values not seen
    for ALERT_GROUP_FORGET_WINDOWS windows are forgotten first, and their firings clear
    as "No longer seen", as do the firings of values the store lost, in time
    (`_lost_forget_at`), except the values of an absence alert (a host that went quiet:
    the silence it pages for has not ended; its firing clears when the host sends again,
    and the value is dropped when a person stops watching it, `resolving.stop_watching`)
    and the open firings of an alert that waits for a person (`_kept`). Returns them and
    the firings so cleared."""
    grouped = [alert for alert in alerts if alert.group_by]
    seen = counts().groups([CounterSet.of(alert) for alert in grouped]) if grouped else {}
    watched = [
        _Watched(alert, CounterSet.of(alert), None, open_firings.get((alert.pk, "")))
        for alert in alerts
        if not alert.group_by
    ]
    forgotten = 0
    since: float | None = None  # the store's epoch, read only if a value was lost
    with_firings: dict[int, set[str]] = {}
    for alert_id, value in open_firings:
        with_firings.setdefault(alert_id, set()).add(value)
    for alert in grouped:
        counter = CounterSet.of(alert)
        values = {group.value: group for group in seen.get(counter, [])}
        firing_values = with_firings.get(alert.pk, set())
        kept = _kept(alert, values.keys(), firing_values)
        old = [
            v
            for v, g in values.items()
            if now - g.last_seen > forget_after(alert.window_minutes) and v not in kept
        ]
        if old:
            forgotten += _forget_values(alert, counter, old, open_firings, now)
            for value in old:
                del values[value]
                firing_values.discard(value)
        lost = firing_values - values.keys() - kept
        if lost:
            if since is None:
                since = counts().since(now)
            gone = [
                v for v in lost if now > _lost_forget_at(alert, open_firings[alert.pk, v], since)
            ]
            forgotten += _clear_forgotten(alert, gone, open_firings, now)
            firing_values.difference_update(gone)
        for value in values.keys() | firing_values:
            # A value with a firing open that the store lost (a restart): when it was first
            # seen is unknown, so its window counts from the store's epoch (`holds`).
            group = values.get(value) or Seen(value, 0.0, now)
            watched.append(
                _Watched(alert, counter.in_group(value), group, open_firings.get((alert.pk, value)))
            )
    return watched, forgotten


def _kept(alert: Alert, seen: Iterable[str], firing: set[str]) -> set[str]:
    """The values time never forgets, nor a store's loss: every value of an absence alert
    (a quiet host is what it pages for, whether its firing is open or a person resolved it,
    and it fires again while quiet) unless it resolves quiet values by itself
    (`Alert.resolve_quiet_values`: hosts that come and go); the firing ones of an alert
    that waits for a person."""
    if alert.is_absence and not (alert.resolve_quiet_values and alert.auto_resolve):
        return set(seen) | firing
    return set(firing) if not alert.auto_resolve else set()


def _forget_values(
    alert: Alert,
    counter: CounterSet,
    values: list[str],
    open_firings: dict[tuple[int, str], Firing],
    now: float,
) -> int:
    """Clear the firings of values no longer seen, then forget the values."""
    cleared = _clear_forgotten(alert, values, open_firings, now)
    counts().forget(counter, values)
    return cleared


def _clear_forgotten(
    alert: Alert, values: list[str], open_firings: dict[tuple[int, str], Firing], now: float
) -> int:
    """Clear the open firings of `values` as "No longer seen"; return how many cleared."""
    gone = [f for v in values if (f := open_firings.pop((alert.pk, v), None)) is not None]
    moment = datetime.fromtimestamp(now, UTC)
    cleared, _ = firings.clear_firings(
        gone, Firing.ClearReason.FORGOTTEN, moment, {f.pk: 0 for f in gone}
    )
    return cleared


def _lost_forget_at(alert: Alert, firing: Firing, since: float) -> float:
    """When the value of an open firing that the store no longer knows (its counts and
    sightings were lost: a restart, or expiry while the beat was down) is forgotten: its
    last sighting is unknown, so forget_after from the firing's opening, and not before a
    whole window has been counted since the store's epoch (`since`) without it, so that a
    restart alone never resolves a firing (the loss rules in `holds`)."""
    window = alert.window_minutes * 60
    return max(firing.opened_at.timestamp() + forget_after(alert.window_minutes), since + window)


def prune(now: float | None = None) -> None:
    """Drop counts older than any chart or window needs."""
    now = time.time() if now is None else now
    alerts = list(Alert.objects.all())
    seen = counts().groups([CounterSet.of(a) for a in alerts if a.group_by])
    sets = [CounterSet.of(a) for a in alerts]
    sets += [c.in_group(g.value) for c, groups in seen.items() for g in groups]
    counts().prune(sets, now)


# -- After an edit ----------------------------------------------------------------------

UNCHECKED = (
    "Its condition could not be checked just now (the event counts did not "
    "answer); it is checked again automatically."
)


def reevaluate(alert: Alert, restarted: bool) -> bool:
    """Check a just-saved alert at once, in the saving transaction. A disabled alert's
    firings clear, and so do those whose count restarted: they were about a condition that
    no longer exists. Both happen before the counts are read, so they need nothing but the
    database. An open firing that stays pages new targets and resolves on removed ones.

    False (and logged) if the counts could not be read: what was done stands, and the next
    beat catches up; say `UNCHECKED` to the person."""
    now = time.time()
    moment = datetime.fromtimestamp(now, UTC)
    open_firings = {f.group: f for f in firings.open_firings_of(alert)}
    if open_firings and (restarted or not alert.enabled):
        reason = Firing.ClearReason.EDITED if alert.enabled else Firing.ClearReason.DISABLED
        firings.clear_firings(list(open_firings.values()), reason, moment)
        open_firings = {}
    if not alert.enabled:
        return True
    try:
        watched, _ = _watched([alert], {(alert.pk, g): f for g, f in open_firings.items()}, now)
        totals = counts().totals([w.counter for w in watched], now)
    except redis.RedisError:
        log.exception("Re-evaluating alert %s after a change failed", alert.pk)
        return False
    # As the beat decides (`_settle`), but the values that open, clear or note their condition do so
    # together (one alert may count hundreds of hosts): a fixed number of queries.
    opening, clearing, noting, staying = [], {}, [], []
    for w in watched:
        total = totals[w.counter]
        verdict = holds(alert, total, now, totals.since, _first_seen(w))
        if w.firing is None:
            if verdict:
                opening.append((w.group.value if w.group else None, total))
        elif alert.auto_resolve and verdict is False:
            clearing[w.firing.pk] = total
        else:
            if not alert.auto_resolve:  # it waits for a person: the change is only noted
                noting.append((w.firing, verdict))
            staying.append((w.firing, total))
    edited = [w.firing for w in watched if w.firing is not None and w.firing.pk in clearing]
    firings.clear_firings(edited, Firing.ClearReason.EDITED, moment, clearing)
    resolving.note_conditions(noting, moment)
    firings.open_firings(alert, opening, moment)
    firings.sync_targets_of(alert, staying)
    return True


def delete(alert: Alert) -> tuple[int, int]:
    """Delete the alert (locked by the caller's transaction), resolving its open firings
    first: the resolves outlive it, as its delivery history does. Returns how many firings
    were open and how many resolves that queued (none where no incident was open in
    PagerDuty)."""
    open_firings = firings.open_firings_of(alert)
    cleared = firings.clear_firings(open_firings, Firing.ClearReason.DELETED, datetime.now(UTC))
    alert.delete()
    return cleared
