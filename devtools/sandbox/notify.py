"""Seams for reacting to changes: alert status changes and incident (webhook) events.

The store calls every registered observer, outside its lock, after an alert is
triggered, acknowledged or resolved, whatever caused it (Events API, inbox buttons,
REST, control API). Incident changes are announced as ``IncidentEvent``s, each already
carrying the webhooks v3 payload as it was when the change happened; the webhook
sender (``delivery.WebhookSender``) is one such observer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from .state import Alert

AlertStatus = Literal["triggered", "acknowledged", "resolved"]
ChangeSource = Literal["events", "inbox", "rest", "control"]


@dataclass(frozen=True)
class AlertChange:
    """One status transition of one alert."""

    alert: Alert
    previous_status: AlertStatus | None  # None when the alert was just created
    new_status: AlertStatus
    via: ChangeSource
    occurred_at: datetime
    agent_user_id: str | None = None  # the user, when a person made the change

    @property
    def webhook_event_type(self) -> str:
        """The matching webhooks v3 event type, e.g. ``incident.acknowledged``."""
        return f"incident.{self.new_status}"


@dataclass(frozen=True)
class IncidentEvent:
    """One outbound event (``incident.acknowledged``...) with its webhook payload."""

    id: str
    event_type: str
    account_id: str
    incident_id: str
    service_id: str
    team_ids: tuple[str, ...]
    occurred_at: datetime
    payload: dict[str, Any]  # {"event": {...}}, exactly what webhooks carry


class AlertObserver(Protocol):
    """Anything that wants to hear about alert status changes."""

    def alert_changed(self, change: AlertChange) -> None:
        """Handle one change; must not raise (exceptions are logged and swallowed)."""


class IncidentObserver(Protocol):
    """Anything that wants the incident events webhooks v3 subscriptions may receive."""

    def incident_event(self, event: IncidentEvent) -> None:
        """Handle one event; must not block (exceptions are logged and swallowed)."""
