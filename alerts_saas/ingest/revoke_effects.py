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

An absence alert that counts everything together and fires already is left out; one that
counts each host (or value) on its own is kept, since its hosts still sending would fire.
Three queries, whatever the number of alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from alerts_saas.alerts.models import Alert, ConditionKind, Firing, GroupBy
from alerts_saas.ingest.models import IngestKey

TOUCH_LAG = timedelta(seconds=60)  # `Secret.touch` writes a key's use at most once a minute
NAMED = 10  # alerts named in each list; "and N more" after


@dataclass
class Effects:
    """The organization's enabled absence alerts that revoking the key would make fire
    (`will_fire`), or might (`may_fire`: another key was used in their window too)."""

    absence_alerts: int = 0
    # No events sent with the key were accepted within their windows (or ever): none counts them.
    unused_by_all: bool = False
    will_fire: list[Alert] = field(default_factory=list)
    may_fire: list[Alert] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.will_fire or self.may_fire)

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


def of_revoking(key: IngestKey, now: datetime | None = None) -> Effects:
    """The absence alerts that revoking the (active) `key` would make fire, or might."""
    now = now or timezone.now()
    org = key.organization_id
    alerts = list(
        Alert.objects.filter(organization_id=org, enabled=True, kind=ConditionKind.ABSENCE)
        .only("pk", "name", "organization_id", "kind", "threshold", "window_minutes", "group_by")
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
    for alert in alerts:
        window_began = now - timedelta(minutes=alert.window_minutes) - TOUCH_LAG
        if used < window_began or alert.pk in firing:
            continue
        if any(
            sent >= window_began and _working_at(revoked, window_began) for sent, revoked in others
        ):
            effects.may_fire.append(alert)
        else:
            effects.will_fire.append(alert)
    return effects


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
