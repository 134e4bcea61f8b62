"""Incidents: PagerDuty's unit of work, one per alert in the sandbox.

An Events API trigger with a new dedup key opens an alert and its incident (``incident_key``
= the dedup key), assigned to whoever is on call at level 1 of the service's escalation
policy. Every change, whatever caused it, goes through ``IncidentDesk`` so that the alert
follows the incident and each change yields the webhooks v3 event it stands for. The desk's
methods are called with the store lock held; the caller dispatches what they return.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from .incident_json import (
    agent_ref,
    incident_webhook_data,
    note_webhook_data,
    webhook_envelope,
)
from .notify import AlertChange, AlertStatus, ChangeSource, IncidentEvent
from .schedules import on_call_now
from .urgency import urgency_of

if TYPE_CHECKING:
    from .state import Alert, EscalationPolicy, Store

Agent = tuple[Literal["user", "service"], str]
# What PagerDuty's web app would name as the client of a person's change there.
WEB_CLIENT = {"name": "PagerDuty"}


@dataclass
class Note:
    id: str
    incident_id: str
    user_id: str | None
    content: str
    created_at: datetime
    channel: str = "API"


@dataclass
class LogEntry:
    id: str
    at: datetime
    action: str  # trigger, acknowledge, unacknowledge, resolve, assign, escalate, ...
    agent: Agent | None
    summary: str
    via: ChangeSource


@dataclass
class Incident:
    id: str
    account_id: str
    number: int
    alert_id: str
    service_id: str
    escalation_policy_id: str
    title: str
    incident_key: str
    created_at: datetime
    updated_at: datetime
    last_status_change_at: datetime
    last_status_change_by: Agent | None
    status: AlertStatus = "triggered"
    urgency: str = "high"
    escalation_level: int = 1
    assigned_via: str = "escalation_policy"
    assignments: list[tuple[datetime, str]] = field(default_factory=list)
    acknowledgements: list[tuple[datetime, Agent]] = field(default_factory=list)
    resolved_at: datetime | None = None
    notes: list[Note] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)


Outcome = tuple[list[AlertChange], list[IncidentEvent]]


class IncidentDesk:
    """Every way an incident changes; returns the alert changes and events to dispatch."""

    def __init__(self, store: Store) -> None:
        self.st = store

    # ------------------------------------------------------------------ helpers
    def _event(
        self,
        incident: Incident,
        event_type: str,
        agent: Agent | None,
        client: dict[str, Any] | None,
        at: datetime,
        data: dict[str, Any] | None = None,
    ) -> IncidentEvent:
        event_id = str(uuid.uuid4())
        service = self.st.services[incident.service_id]
        payload = webhook_envelope(
            event_id,
            event_type,
            at,
            agent_ref(self.st, agent),
            client,
            data if data is not None else incident_webhook_data(self.st, incident),
        )
        return IncidentEvent(
            event_id,
            event_type,
            incident.account_id,
            incident.id,
            incident.service_id,
            tuple(service.team_ids),
            at,
            payload,
        )

    def _log(
        self,
        incident: Incident,
        action: str,
        agent: Agent | None,
        summary: str,
        via: ChangeSource,
        at: datetime,
    ) -> None:
        entry = LogEntry(self.st.ids.log_entry_id(), at, action, agent, summary, via)
        incident.log.append(entry)
        incident.updated_at = at

    def _assign_policy_level(self, incident: Incident, at: datetime) -> None:
        policy = self.st.policies[incident.escalation_policy_id]
        users = on_call_now(self.st, policy, incident.escalation_level, at)
        incident.assignments = [(at, uid) for uid in users]
        incident.assigned_via = "escalation_policy"

    def client_for(self, via: ChangeSource) -> dict[str, Any] | None:
        return WEB_CLIENT if via in {"inbox", "control"} else None

    # ------------------------------------------------------------------ changes
    def open(
        self, alert: Alert, at: datetime, client: dict[str, Any] | None = None
    ) -> list[IncidentEvent]:
        """The incident of a newly triggered alert."""
        st = self.st
        service = st.services[alert.service_id]
        st.incident_numbers[alert.account_id] = st.incident_numbers.get(alert.account_id, 0) + 1
        agent: Agent = ("service", service.id)
        incident = Incident(
            id=st.ids.object_id(),
            account_id=alert.account_id,
            number=st.incident_numbers[alert.account_id],
            alert_id=alert.id,
            service_id=service.id,
            escalation_policy_id=service.escalation_policy_id,
            title=alert.summary,
            incident_key=alert.dedup_key,
            created_at=at,
            updated_at=at,
            last_status_change_at=at,
            last_status_change_by=agent,
            urgency=urgency_of(service.urgency_rule, service.support_hours, alert.severity, at),
        )
        self._assign_policy_level(incident, at)
        self._log(incident, "trigger", agent, "Triggered through the API", "events", at)
        st.incidents[incident.id] = incident
        alert.incident_id = incident.id
        return [self._event(incident, "incident.triggered", agent, client, at)]

    def set_status(
        self,
        incident: Incident,
        status: AlertStatus,
        agent: Agent | None,
        via: ChangeSource,
        at: datetime,
        resolution: str = "",
    ) -> Outcome:
        """Acknowledge, un-acknowledge (``triggered``) or resolve; the alert follows."""
        if incident.status == status or incident.status == "resolved":
            return [], []
        st = self.st
        incident.status = status
        incident.last_status_change_at = at
        incident.last_status_change_by = agent
        if status == "acknowledged":
            if agent is not None:
                incident.acknowledgements.append((at, agent))
            event_type, action = "incident.acknowledged", "acknowledge"
        elif status == "resolved":
            incident.resolved_at = at
            incident.assignments = []
            incident.acknowledgements = []
            event_type, action = "incident.resolved", "resolve"
        else:
            incident.acknowledgements = []
            event_type, action = "incident.unacknowledged", "unacknowledge"
        summary = f"{action.capitalize()}d" if action != "unacknowledge" else "Unacknowledged"
        if resolution:
            summary += f": {resolution}"
        self._log(incident, action, agent, summary, via, at)
        changes: list[AlertChange] = []
        alert = st.alerts.get(incident.alert_id)
        if alert is not None and alert.status != status:
            user_id = agent[1] if agent and agent[0] == "user" else None
            changes.append(st.transition_alert(alert, status, via, at, user_id))
        return changes, [self._event(incident, event_type, agent, self.client_for(via), at)]

    def reassign(
        self,
        incident: Incident,
        user_ids: list[str],
        agent: Agent | None,
        via: ChangeSource,
        at: datetime,
    ) -> Outcome:
        """Direct assignment; an acknowledged incident goes back to triggered, as in PagerDuty."""
        changes: list[AlertChange] = []
        events: list[IncidentEvent] = []
        if incident.status == "acknowledged":
            changes, events = self.set_status(incident, "triggered", agent, via, at)
        incident.assignments = [(at, uid) for uid in user_ids]
        incident.assigned_via = "direct_assignment"
        names = ", ".join(self.st.users[uid].name for uid in user_ids)
        self._log(incident, "assign", agent, f"Assigned to {names}", via, at)
        events.append(self._event(incident, "incident.reassigned", agent, self.client_for(via), at))
        return changes, events

    def escalate(
        self, incident: Incident, level: int, agent: Agent | None, via: ChangeSource, at: datetime
    ) -> Outcome:
        changes: list[AlertChange] = []
        events: list[IncidentEvent] = []
        if incident.status == "acknowledged":
            changes, events = self.set_status(incident, "triggered", agent, via, at)
        incident.escalation_level = level
        self._assign_policy_level(incident, at)
        self._log(incident, "escalate", agent, f"Escalated to level {level}", via, at)
        events.append(self._event(incident, "incident.escalated", agent, self.client_for(via), at))
        return changes, events

    def delegate(
        self,
        incident: Incident,
        policy: EscalationPolicy,
        agent: Agent | None,
        via: ChangeSource,
        at: datetime,
    ) -> Outcome:
        changes: list[AlertChange] = []
        events: list[IncidentEvent] = []
        if incident.status == "acknowledged":
            changes, events = self.set_status(incident, "triggered", agent, via, at)
        incident.escalation_policy_id = policy.id
        incident.escalation_level = 1
        self._assign_policy_level(incident, at)
        self._log(incident, "delegate", agent, f"Reassigned to {policy.name}", via, at)
        events.append(self._event(incident, "incident.delegated", agent, self.client_for(via), at))
        return changes, events

    def annotate(
        self, incident: Incident, user_id: str, content: str, via: ChangeSource, at: datetime
    ) -> tuple[Note, list[IncidentEvent]]:
        note = Note(
            self.st.ids.object_id(),
            incident.id,
            user_id,
            content,
            at,
            "Web" if via in {"inbox", "control"} else "API",
        )
        incident.notes.append(note)
        agent: Agent = ("user", user_id)
        self._log(incident, "annotate", agent, "Note added", via, at)
        data = note_webhook_data(self.st, incident, note)
        event = self._event(incident, "incident.annotated", agent, self.client_for(via), at, data)
        return note, [event]
