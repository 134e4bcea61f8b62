"""An alert resolved (in Tripwire or in PagerDuty) while its condition still holds is not
"OK": the beat's next check (`evaluation.evaluate`) finds the condition holding and no open
firing, and opens a new one, which pages anew with a new incident (`resolving`). Until then
the alert's page says that, instead of "OK" above a count that meets its threshold."""

from __future__ import annotations

from datetime import datetime

from alerts_saas.alerts.evaluation import holds
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.state import AlertState, State
from alerts_saas.alerts.views.rows import FiringRow

# Clearings after which the next check fires again while the condition holds: a person's.
BY_SOMEONE = (Firing.ClearReason.RESOLVED, Firing.ClearReason.INCIDENT_RESOLVED)


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
