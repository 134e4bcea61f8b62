"""What the alert pages show of a row beside its stored fields, typed.

A row wraps a model instance and adds what a page computes for it (a state, a duration, the
deliveries in order). Templates read the instance's own fields straight through the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.state import AlertState
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
class AlertRow(_Row):
    """An alert as the list shows it: its state, for how long, and its rules in words."""

    subject: Alert
    state: AlertState
    firing_duration: str
    rules: str

    @property
    def alert(self) -> Alert:
        return self.subject
