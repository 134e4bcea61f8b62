"""What revoking an ingest key would make fire: the absence alerts whose latest events came,
or may have come, with it. The key's revoke confirmation names them before the click.

Tripwire does not record which key sent an event (an alert's counts are per alert and time,
not per key), so this is inferred from what it does record: each key's last use
(`Secret.touch`, at most a minute stale) and each absence alert's window. An event an
absence alert counts now arrived within its window, so it came with a key used within that
window (plus the minute a last use may lag):

- this key not used then: revoking it changes nothing for that alert;
- this key the only one used then: the alert's events came with it, and once they stop it
  fires within its window, unless they come in with another key by then;
- this key and another: they may have; the page says that, and no more.

An absence alert that counts everything together and fires already is left out; one that
counts each host (or value) on its own is kept, since its hosts still sending would fire.
Three queries, whatever the number of alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max
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
    # The key was not used within any of their windows (or never): none counts its events.
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
    used = key.last_used_at
    longest = max((a.window_minutes for a in alerts), default=0)
    unused = used is None or used < now - timedelta(minutes=longest) - TOUCH_LAG
    effects = Effects(absence_alerts=len(alerts), unused_by_all=unused)
    if used is None or unused:
        return effects
    others_used = (
        IngestKey.objects.filter(organization_id=org)
        .exclude(pk=key.pk)
        .aggregate(last=Max("last_used_at"))["last"]
    )
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
        if others_used is not None and others_used >= window_began:
            effects.may_fire.append(alert)
        else:
            effects.will_fire.append(alert)
    return effects
