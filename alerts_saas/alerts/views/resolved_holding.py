"""An alert resolved (in Tripwire or in PagerDuty) while its condition still holds is not
"OK": the beat's next check (`evaluation.evaluate`) finds the condition holding and no open
firing, and opens a new one (`resolving`). What that one does is the alert's path now: it
pages anew with a new incident, or opens held while a mute covers it (`mutes`), or pages the
fallback, or nobody (`reach`, as `health.alert_health` says it). Until then the alert's page
says that, instead of "OK" above a count that meets its threshold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts_saas.alerts import mutes
from alerts_saas.alerts.evaluation import holds
from alerts_saas.alerts.health import AlertHealth, alert_health
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.state import AlertState, State
from alerts_saas.alerts.views.rows import FiringRow
from integrations.pagerduty.models import PagerDutyService

# Clearings after which the next check fires again while the condition holds: a person's.
BY_SOMEONE = (Firing.ClearReason.RESOLVED, Firing.ClearReason.INCIDENT_RESOLVED)


@dataclass(frozen=True)
class NextFiring:
    """What the firing the next check opens does. `held_until`: a mute holds every service
    it would page until then (nothing is sent); `muted`: the services a mute holds while the
    others page (until `held_until` at the latest); `nobody`: why it pages nobody;
    `fallback`: the fallback service it pages instead of its refused ones."""

    held_until: datetime | None = None
    muted: tuple[str, ...] = ()
    nobody: str = ""
    fallback: str = ""

    @property
    def pages(self) -> bool:
        """It pages someone at once: not nobody, and not every service held by a mute."""
        return not self.nobody and not (self.held_until is not None and not self.muted)


def resolved_holding(
    alert: Alert,
    state: AlertState,
    newest: FiringRow | None,
    current: int,
    now: datetime,
    counts_since: datetime | None = None,
) -> FiringRow | None:
    """The alert's newest firing (`newest`, the first row of the first page), if someone
    resolved it and the condition still holds with `current` matching events in the window:
    it fires again at the next check. None for an alert that groups (each value has its own
    state, under "Each host") or in any other case."""
    if state.state != State.OK or alert.group_by or newest is None or newest.is_open:
        return None
    if newest.firing.clear_reason not in BY_SOMEONE:
        return None
    since = counts_since.timestamp() if counts_since else 0.0
    return newest if holds(alert, current, now.timestamp(), since) else None


def next_firing(alert: Alert, health: AlertHealth, now: datetime) -> NextFiring:
    """What the next firing does, from the alert's path (`health`, its targets prefetched)
    and the windows muting it now (one query). As the pager does: a muted service is held,
    the others get their trigger (a refused one's going to the fallback)."""
    targets = list(alert.targets.all())
    if not health.can_page:
        return NextFiring(nobody=_nobody(targets, health))
    loaded = mutes.Mutes.load([alert.organization_id], now)
    muted = loaded.muted_targets(alert.pk, [t.pk for t in targets])
    until = loaded.held_until(alert.pk, muted) if muted else None
    if muted and len(muted) == len(targets):
        return NextFiring(held_until=until)
    names = tuple(t.name for t in targets if t.pk in muted)
    return NextFiring(held_until=until, muted=names, fallback=health.fallback)


def next_firing_for(alert: Alert, slug: str, now: datetime) -> NextFiring:
    """`next_firing`, the alert's path read here (a fragment that has not read it)."""
    return next_firing(alert, alert_health(alert, list(alert.targets.all()), slug), now)


def _nobody(targets: list[PagerDutyService], health: AlertHealth) -> str:
    """Why the alert pages nobody (`health` says it can't page)."""
    if not targets:
        return "it has no PagerDuty service"
    return f"PagerDuty refuses its services ({health.reason}), and no fallback service is set"
