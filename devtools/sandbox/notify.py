"""Seam for reacting to alert status changes (future home of webhooks v3 delivery).

The store calls every registered observer, outside its lock, after an alert is
triggered, acknowledged or resolved, whether the change came from the Events API
or from the inbox buttons. A webhook sender only has to implement
``AlertObserver`` and be added with ``Store.add_observer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from .state import Alert

AlertStatus = Literal["triggered", "acknowledged", "resolved"]


@dataclass(frozen=True)
class AlertChange:
    """One status transition of one alert."""

    alert: Alert
    previous_status: AlertStatus | None  # None when the alert was just created
    new_status: AlertStatus
    via: Literal["events", "inbox"]
    occurred_at: datetime
    agent_user_id: str | None = None  # the inbox user, when a person made the change

    @property
    def webhook_event_type(self) -> str:
        """The matching webhooks v3 event type, e.g. ``incident.acknowledged``."""
        return f"incident.{self.new_status}"


class AlertObserver(Protocol):
    """Anything that wants to hear about alert status changes."""

    def alert_changed(self, change: AlertChange) -> None:
        """Handle one change; must not raise (exceptions are logged and swallowed)."""
