"""An alert's state as a person reads it: firing, OK, disabled, or still waiting to count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.beat import EVALUATION_SECONDS

# An absence alert fires at the first check after its first full window ends, within this
# long of it: until then it still waits, rather than read "OK" above a count under its
# threshold that no check has judged yet.
FIRST_CHECK = timedelta(seconds=EVALUATION_SECONDS)


class State(StrEnum):
    FIRING = "firing"
    OK = "ok"
    DISABLED = "disabled"
    WAITING = "waiting"  # an absence alert in its first window (and till the check after it)
    COUNTING = "counting"  # counting restarted less than a window ago (edit or enable)


LABELS = {
    State.FIRING: "Firing",
    State.OK: "OK",
    State.DISABLED: "Disabled",
    State.WAITING: "Waiting",
    State.COUNTING: "OK",
}


@dataclass(frozen=True, slots=True)
class AlertState:
    state: State
    firing: Firing | None = None
    full_window_at: datetime | None = None  # when counting has covered a whole window

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def code(self) -> str:
        return self.state.value


def state_of(
    alert: Alert, firing: Firing | None, now: datetime, counts_since: datetime | None = None
) -> AlertState:
    """The state of `alert`, given its open firing (if any) at `now`. `counts_since`: when
    the count store started counting, if it lost its counts since the alert began to: an
    absence alert then waits for a whole window of counting after it too. An absence alert
    waits until the check after that window (`FIRST_CHECK`), as no check judged it before."""
    if not alert.enabled:
        return AlertState(State.DISABLED)
    if firing is not None:
        return AlertState(State.FIRING, firing)
    full_window_at = alert.full_window_at
    if counts_since is not None and alert.is_absence:
        full_window_at = max(full_window_at, counts_since + timedelta(minutes=alert.window_minutes))
    if alert.is_absence and now < full_window_at + FIRST_CHECK:
        return AlertState(State.WAITING, full_window_at=full_window_at)
    if now < full_window_at and alert.generation > 1:
        return AlertState(State.COUNTING, full_window_at=full_window_at)
    return AlertState(State.OK)


def duration_label(seconds: float) -> str:
    """A duration as a person says it: "45 s", "8 min", "1 h 5 min", "2 d 3 h"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
