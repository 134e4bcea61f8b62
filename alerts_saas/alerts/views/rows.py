"""What the alert pages show of a row beside its stored fields, typed.

A row wraps a model instance and adds what a page computes for it (a state, a duration, the
deliveries in order). Templates read the instance's own fields straight through the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts_saas.alerts.models import Alert, Firing, Severity
from alerts_saas.alerts.state import AlertState, State
from integrations.pagerduty.models import Delivery, EventAction


class _Row:
    """Reads what the row does not define from the wrapped instance (`subject`)."""

    subject: Any

    def __getattr__(self, name: str) -> Any:
        if name == "subject":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.subject, name)


@dataclass(frozen=True)
class FiringRow(_Row):
    """A firing as the alert page lists it: how long it lasted and what it sent."""

    subject: Firing
    duration: str
    deliveries: list[Delivery]

    @property
    def firing(self) -> Firing:
        return self.subject

    @property
    def triggers(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.event_action == EventAction.TRIGGER]


@dataclass(frozen=True)
class AlertLinks:
    """Where a row's name and buttons lead."""

    detail: str
    edit: str
    toggle: str
    delete: str


# The badges' colours: a state's (bad when firing, a warning while it can't fire yet) and a
# delivery status's (as pagerduty/_status_badge.html colours it).
STATE_BADGES = {
    State.FIRING: "badge-bad",
    State.OK: "badge-ok",
    State.COUNTING: "badge-ok",
    State.WAITING: "badge-warn",
    State.DISABLED: "badge-member",
}
STATUS_BADGES: dict[str, str] = {
    Delivery.Status.DELIVERED.value: "badge-ok",
    Delivery.Status.FAILED.value: "badge-bad",
}


@dataclass(frozen=True)
class LastDelivery:
    """An alert's latest delivery as the list shows it: its status, and how long ago."""

    status: str
    ago: str

    @property
    def label(self) -> str:
        return self.status.capitalize()

    @property
    def badge(self) -> str:
        return STATUS_BADGES.get(self.status, "badge-warn")


@dataclass(frozen=True)
class AlertRow(_Row):
    """An alert as the list shows it: its state (and since when), its condition and rules in
    words, the services it pages, its last delivery, and its links. All of it is put in words
    before rendering, so that a row costs the template little: a page renders 50."""

    subject: Alert
    state: AlertState
    state_note: str
    condition: str
    rules: str
    services: tuple[str, ...]
    last_delivery: LastDelivery | None
    links: AlertLinks

    @property
    def alert(self) -> Alert:
        return self.subject

    @property
    def is_firing(self) -> bool:
        return self.state.state == State.FIRING

    @property
    def state_badge(self) -> str:
        return STATE_BADGES[self.state.state]

    @property
    def severity_label(self) -> str:
        return Severity(self.subject.severity).label
