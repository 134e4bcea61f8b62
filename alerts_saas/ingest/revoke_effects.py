"""What revoking an ingest key would make fire: the absence alerts whose latest events came,
or may have come, with it. The key's revoke confirmation names them before the click.

Tripwire does not record which key sent an event (an alert's counts are per alert and time,
not per key), so this is inferred from what it does record: when each key last had events
accepted (`IngestKey.events_accepted_at`, at most a minute stale; a change sent or a batch
refused whole doesn't set it) and each absence alert's window. An event an absence alert
counts now arrived within its window, so it came with a key that had events accepted within
that window (plus the minute that time may lag):

- this key had none then: revoking it changes nothing for that alert;
- this key the only one: the alert's events came with it, and once they stop it fires
  within its window, unless they come in with another key by then;
- this key and another (not revoked before the window began): they may have; the page says
  that, and no more.

Only an alert that counts events in its window now can be set off by their stopping, so the
window counts are read too (one read of the count store, `counting.totals`). An alert that
counts everything together and fires already, or that counts no event now (it fires, or
waits to, whether or not the key is revoked), is listed apart in those words, never as set
off by the revoke. One that counts each host (or value) on its own and fires for some is
kept, since its hosts still sending would fire. Counts that can't be read, or that a count
store's restart within the window leaves unknown, are not taken as zero: the alert is
judged by the keys' use alone, as before. Three queries, whatever the number of alerts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from django.utils import timezone

from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, GroupBy
from alerts_saas.ingest.models import IngestKey

log = logging.getLogger(__name__)

TOUCH_LAG = timedelta(seconds=60)  # `Secret.touch` writes a key's use at most once a minute
NAMED = 10  # alerts named in each list; "and N more" after
# What the page shows of each alert, and its counter set (generation) needs.
FIELDS = (
    "pk",
    "name",
    "organization_id",
    "kind",
    "threshold",
    "window_minutes",
    "group_by",
    "generation",
)


@dataclass
class Effects:
    """The organization's enabled absence alerts that revoking the key would make fire
    (`will_fire`), or might (`may_fire`: another key was used in their window too)."""

    absence_alerts: int = 0
    # No events sent with the key were accepted within their windows (or ever): none counts them.
    unused_by_all: bool = False
    will_fire: list[Alert] = field(default_factory=list)
    may_fire: list[Alert] = field(default_factory=list)
    # Not the revoke's doing: fed by the key within their window, but firing already (all
    # events together), or counting no event now.
    already_firing: list[Alert] = field(default_factory=list)
    counting_nothing: list[Alert] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.will_fire or self.may_fire)

    @property
    def apart(self) -> bool:
        return bool(self.already_firing or self.counting_nothing)

    @property
    def set_off(self) -> int:
        """How many it would, or might, set off."""
        return len(self.will_fire) + len(self.may_fire)

    @property
    def will_fire_named(self) -> list[Alert]:
        return self.will_fire[:NAMED]

    @property
    def may_fire_named(self) -> list[Alert]:
        return self.may_fire[:NAMED]

    @property
    def more_will_fire(self) -> int:
        return max(0, len(self.will_fire) - NAMED)

    @property
    def more_may_fire(self) -> int:
        return max(0, len(self.may_fire) - NAMED)

    @property
    def already_firing_named(self) -> list[Alert]:
        return self.already_firing[:NAMED]

    @property
    def counting_nothing_named(self) -> list[Alert]:
        return self.counting_nothing[: max(0, NAMED - len(self.already_firing))]

    @property
    def more_apart(self) -> int:
        """Those listed apart beyond the NAMED shown (firing ones first)."""
        return max(0, len(self.already_firing) + len(self.counting_nothing) - NAMED)


def of_revoking(key: IngestKey, now: datetime | None = None) -> Effects:
    """The absence alerts that revoking the (active) `key` would make fire, or might."""
    now = now or timezone.now()
    org = key.organization_id
    alerts = list(
        Alert.objects.filter(organization_id=org, enabled=True, kind=ConditionKind.ABSENCE)
        .only(*FIELDS)
        .order_by("name", "pk")
    )
    used = key.events_accepted_at
    longest = max((a.window_minutes for a in alerts), default=0)
    earliest = now - timedelta(minutes=longest) - TOUCH_LAG
    unused = used is None or used < earliest
    effects = Effects(absence_alerts=len(alerts), unused_by_all=unused)
    if used is None or unused:
        return effects
    others = _others_sending(key, earliest)
    together = [a.pk for a in alerts if a.group_by == GroupBy.NOTHING]
    firing = set(
        Firing.objects.filter(
            organization_id=org, alert_id__in=together, cleared_at=None
        ).values_list("alert_id", flat=True)
    )
    fed = [a for a in alerts if used >= _window_began(a, now)]
    counting = _counting(fed, now)
    for alert in fed:
        window_began = _window_began(alert, now)
        if alert.pk in firing:
            effects.already_firing.append(alert)
        elif alert.pk not in counting:
            effects.counting_nothing.append(alert)
        elif any(
            sent >= window_began and _working_at(revoked, window_began) for sent, revoked in others
        ):
            effects.may_fire.append(alert)
        else:
            effects.will_fire.append(alert)
    return effects


def _window_began(alert: Alert, now: datetime) -> datetime:
    """Where the alert's window began, less the lag of a key's recorded use."""
    return now - timedelta(minutes=alert.window_minutes) - TOUCH_LAG


def _counting(alerts: list[Alert], now: datetime) -> set[int]:
    """Those of `alerts` that count events in their window now, or may (counts unreadable,
    or lost to a store restart within the window): one read of the count store."""
    sets = {CounterSet.of(alert): alert for alert in alerts}
    if not sets:
        return set()
    try:
        totals = counts().totals(sets, now.timestamp())
    except redis.RedisError:
        log.warning("Reading the counts for a key's revoke failed: judged by its use alone")
        return {alert.pk for alert in alerts}
    return {
        alert.pk
        for counter, alert in sets.items()
        if totals.get(counter, 0) > 0 or now.timestamp() - alert.window_minutes * 60 < totals.since
    }


def _others_sending(key: IngestKey, since: datetime) -> list[tuple[datetime, datetime | None]]:
    """The organization's other keys that had events accepted since `since`: when last,
    and when revoked (None if working)."""
    found = IngestKey.objects.filter(
        organization_id=key.organization_id, events_accepted_at__gte=since
    ).exclude(pk=key.pk)
    rows = found.values_list("events_accepted_at", "revoked_at")
    return [(sent, revoked) for sent, revoked in rows if sent is not None]


def _working_at(revoked: datetime | None, moment: datetime) -> bool:
    """A key revoked before `moment` sent nothing after it."""
    return revoked is None or revoked >= moment
