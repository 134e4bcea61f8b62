"""Alerts and the Events API's effect on them; the incident desk keeps incidents in step."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .clock import iso_precise, utcnow
from .notify import AlertChange, AlertStatus, ChangeSource, IncidentEvent

if TYPE_CHECKING:
    from .ids import IdFactory
    from .incident_model import Agent, Incident, IncidentDesk
    from .state import Integration, ReceivedEvent


@dataclass
class Alert:
    id: str
    account_id: str
    service_id: str
    integration_id: str
    dedup_key: str
    status: AlertStatus
    summary: str
    severity: str
    source: str
    created_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    event_ids: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    incident_id: str = ""


def _event_client(body: Any) -> dict[str, Any] | None:
    """The ``client``/``client_url`` an Events API event named, for webhooks' ``event.client``."""
    if not isinstance(body, dict) or not isinstance(body.get("client"), str):
        return None
    client: dict[str, Any] = {"name": body["client"]}
    if isinstance(body.get("client_url"), str):
        client["url"] = body["client_url"]
    return client


def _with_client(event: IncidentEvent, client: dict[str, Any] | None) -> IncidentEvent:
    event.payload["event"]["client"] = client
    return event


class AlertingStore:
    """The Store's alert methods (a mixin: ``Store`` provides the attributes below)."""

    lock: threading.RLock
    ids: IdFactory
    alerts: dict[str, Alert]
    open_alerts: dict[tuple[str, str], str]
    incidents: dict[str, Incident]
    desk: IncidentDesk

    def dispatch(
        self, changes: list[AlertChange], events: list[IncidentEvent]
    ) -> None:  # provided by Store
        raise NotImplementedError

    def apply_alert_event(
        self, integration: Integration, event: ReceivedEvent, payload: dict[str, Any]
    ) -> str:
        """Apply a valid trigger/acknowledge/resolve event; returns its outcome."""
        changes: list[AlertChange] = []
        events: list[IncidentEvent] = []
        action, dedup_key = event.event_action, event.dedup_key
        if action is None or dedup_key is None:
            raise ValueError("a validated event has an event_action and a dedup_key")
        now = event.received_at
        with self.lock:
            key = (integration.id, dedup_key)
            alert = self.alerts.get(self.open_alerts.get(key, ""))
            if action == "trigger":
                if alert is None:
                    alert = Alert(
                        id=self.ids.object_id(),
                        account_id=integration.account_id,
                        service_id=integration.service_id,
                        integration_id=integration.id,
                        dedup_key=dedup_key,
                        status="triggered",
                        summary=str(payload.get("summary", "")),
                        severity=str(payload.get("severity", "")),
                        source=str(payload.get("source", "")),
                        created_at=now,
                    )
                    self.alerts[alert.id] = alert
                    self.open_alerts[key] = alert.id
                    changes.append(
                        self.transition_alert(alert, "triggered", "events", now, None, True)
                    )
                    events += self.desk.open(alert, now, _event_client(event.body))
                    outcome = "alert created"
                else:
                    outcome = "deduplicated into open alert"
            elif alert is None:
                outcome = f"dropped: no open alert for dedup_key ({action})"
            elif action == "acknowledge" and alert.status == "acknowledged":
                outcome = "alert already acknowledged"
            else:
                status: AlertStatus = "acknowledged" if action == "acknowledge" else "resolved"
                incident = self.incidents[alert.incident_id]
                agent: Agent = ("service", alert.service_id)
                client = _event_client(event.body)
                changes, events = self.desk.set_status(incident, status, agent, "events", now)
                events = [_with_client(e, client) for e in events]
                outcome = f"alert {status}"
            if alert is not None:
                alert.event_ids.append(event.id)
                event.alert_id = alert.id
            event.outcome = outcome
        self.dispatch(changes, events)
        return outcome

    def set_alert_status(
        self, alert_id: str, status: AlertStatus, user_id: str | None = None
    ) -> Alert | None:
        """Change an alert's status from the inbox (acknowledge/resolve buttons)."""
        with self.lock:
            alert = self.alerts.get(alert_id)
            if alert is None:
                return None
            incident = self.incidents[alert.incident_id]
            agent: Agent | None = ("user", user_id) if user_id else None
            changes, events = self.desk.set_status(incident, status, agent, "inbox", utcnow())
        self.dispatch(changes, events)
        return alert

    def transition_alert(
        self,
        alert: Alert,
        status: AlertStatus,
        via: ChangeSource,
        at: datetime,
        user_id: str | None = None,
        created: bool = False,
    ) -> AlertChange:
        """Move an alert to ``status`` (lock held); resolving frees its dedup key."""
        previous = None if created else alert.status
        alert.status = status
        if status == "acknowledged":
            alert.acknowledged_at = at
        elif status == "resolved":
            alert.resolved_at = at
            self.open_alerts.pop((alert.integration_id, alert.dedup_key), None)
        alert.history.append({"at": iso_precise(at), "status": status, "via": via})
        return AlertChange(alert, previous, status, via, at, user_id)
