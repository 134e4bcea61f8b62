"""JSON for incidents, notes and on-calls: REST API v2 objects and webhooks v3 payloads.

Incidents' ``html_url`` points into the sandbox (``/web/<subdomain>/incidents/<id>``), so the
link a product shows opens a real page (the incident in the inbox UI); every other object
keeps PagerDuty's web addresses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .clock import iso
from .resources import reference, service_json, service_ref, user_json
from .state import Account

if TYPE_CHECKING:
    from .incident_model import Agent, Incident, Note
    from .schedules import OnCall
    from .state import Store

USER_INCLUDES = frozenset({"users", "assignees", "acknowledgers", "agents"})
INCIDENT_INCLUDES = USER_INCLUDES | {"services"}


def iso_millis(dt: datetime) -> str:
    """``2020-10-02T18:45:22.169Z``, as webhook ``occurred_at`` values are written."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def user_ref(st: Store, user_id: str) -> dict[str, Any]:
    user = st.users[user_id]
    account = st.accounts[user.account_id]
    return reference(
        "user_reference",
        user.id,
        user.name,
        f"{account.api_base}/users/{user.id}",
        f"{account.web_base}/users/{user.id}",
    )


def policy_ref(st: Store, policy_id: str) -> dict[str, Any]:
    policy = st.policies[policy_id]
    account = st.accounts[policy.account_id]
    return reference(
        "escalation_policy_reference",
        policy.id,
        policy.name,
        f"{account.api_base}/escalation_policies/{policy.id}",
        f"{account.web_base}/escalation_policies/{policy.id}",
    )


def schedule_ref(st: Store, schedule_id: str) -> dict[str, Any]:
    schedule = st.schedules[schedule_id]
    account = st.accounts[schedule.account_id]
    return reference(
        "schedule_reference",
        schedule.id,
        schedule.name,
        f"{account.api_base}/schedules/{schedule.id}",
        f"{account.web_base}/schedules/{schedule.id}",
    )


def team_refs(st: Store, team_ids: Iterable[str]) -> list[dict[str, Any]]:
    refs = []
    for team_id in team_ids:
        team = st.teams[team_id]
        account = st.accounts[team.account_id]
        refs.append(
            reference(
                "team_reference",
                team.id,
                team.name,
                f"{account.api_base}/teams/{team.id}",
                f"{account.web_base}/teams/{team.id}",
            )
        )
    return refs


def incident_html_url(st: Store, account: Account, incident_id: str) -> str:
    return f"{st.public_url}/web/{account.subdomain}/incidents/{incident_id}"


def incident_ref(st: Store, incident: Incident) -> dict[str, Any]:
    account = st.accounts[incident.account_id]
    return reference(
        "incident_reference",
        incident.id,
        incident.title,
        f"{account.api_base}/incidents/{incident.id}",
        incident_html_url(st, account, incident.id),
    )


def agent_ref(st: Store, agent: Agent | None, full: bool = False) -> dict[str, Any] | None:
    """A user or service reference (the full object when ``full``)."""
    if agent is None:
        return None
    kind, id_ = agent
    if kind == "user":
        return user_json(st, st.users[id_]) if full else user_ref(st, id_)
    service = st.services[id_]
    if full:
        return service_json(st, service)
    return service_ref(st.accounts[service.account_id], service)


def incident_json(st: Store, incident: Incident, include: Iterable[str] = ()) -> dict[str, Any]:
    """The REST API's Incident object (fields the schema does not allow as null are left out)."""
    include = set(include)
    users = bool(include & {"users", "assignees"})
    account = st.accounts[incident.account_id]
    service = st.services[incident.service_id]
    data = incident_ref(st, incident)
    data.update(
        type="incident",
        summary=f"[#{incident.number}] {incident.title}",
        incident_number=incident.number,
        title=incident.title,
        created_at=iso(incident.created_at),
        updated_at=iso(incident.updated_at),
        status=incident.status,
        incident_key=incident.incident_key,
        service=(
            service_json(st, service) if "services" in include else service_ref(account, service)
        ),
        assignments=[
            {
                "at": iso(at),
                "assignee": user_json(st, st.users[uid]) if users else user_ref(st, uid),
            }
            for at, uid in incident.assignments
        ],
        assigned_via=incident.assigned_via,
        last_status_change_at=iso(incident.last_status_change_at),
        last_status_change_by=agent_ref(
            st, incident.last_status_change_by, bool(include & {"users", "agents"})
        ),
        first_trigger_log_entry=reference(
            "trigger_log_entry_reference",
            incident.log[0].id,
            incident.log[0].summary,
            f"{account.api_base}/log_entries/{incident.log[0].id}?incident_id={incident.id}",
            f"{data['html_url']}/log_entries/{incident.log[0].id}",
        ),
        alert_counts={
            "all": 1,
            "triggered": int(incident.status != "resolved"),
            "resolved": int(incident.status == "resolved"),
        },
        is_mergeable=True,
        incident_type={"name": "incident_default"},
        escalation_policy=policy_ref(st, incident.escalation_policy_id),
        teams=team_refs(st, service.team_ids),
        pending_actions=[],
        acknowledgements=[
            {
                "at": iso(at),
                "acknowledger": agent_ref(st, agent, bool(include & {"users", "acknowledgers"})),
            }
            for at, agent in incident.acknowledgements
        ],
        incidents_responders=[],
        responder_requests=[],
        urgency=incident.urgency,
    )
    if incident.resolved_at is not None:
        data["resolved_at"] = iso(incident.resolved_at)
    return data


def note_json(st: Store, note: Note) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": note.id,
        "user": user_ref(st, note.user_id) if note.user_id else None,
        "channel": {"summary": note.channel},
        "content": note.content,
        "created_at": iso(note.created_at),
    }
    if data["user"] is None:
        del data["user"]
    return data


def incident_webhook_data(st: Store, incident: Incident) -> dict[str, Any]:
    """``event.data`` of incident-type webhook events, as webhooks--01-Overview.md shows."""
    account = st.accounts[incident.account_id]
    service = st.services[incident.service_id]
    ref = incident_ref(st, incident)
    return {
        "id": incident.id,
        "type": "incident",
        "self": ref["self"],
        "html_url": ref["html_url"],
        "number": incident.number,
        "status": incident.status,
        "incident_key": incident.incident_key,
        "created_at": iso(incident.created_at),
        "title": incident.title,
        "incident_type": {"name": "incident_default"},
        "service": service_ref(account, service),
        "assignees": [user_ref(st, uid) for _, uid in incident.assignments],
        "escalation_policy": policy_ref(st, incident.escalation_policy_id),
        "teams": team_refs(st, service.team_ids),
        "priority": None,
        "urgency": incident.urgency,
        "conference_bridge": None,
        "resolve_reason": None,
    }


def note_webhook_data(st: Store, incident: Incident, note: Note) -> dict[str, Any]:
    """``event.data`` of ``incident.annotated`` (type ``incident_note``)."""
    return {
        "incident": incident_ref(st, incident),
        "id": note.id,
        "content": note.content,
        "trimmed": False,
        "type": "incident_note",
    }


def webhook_envelope(
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    agent: dict[str, Any] | None,
    client: dict[str, Any] | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    resource_type = event_type.split(".", 1)[0]
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": resource_type,
            "occurred_at": iso_millis(occurred_at),
            "agent": agent,
            "client": client,
            "data": data,
        }
    }


def oncall_json(st: Store, oncall: OnCall, include: set[str], zone: ZoneInfo) -> dict[str, Any]:
    user: dict[str, Any] = (
        user_json(st, st.users[oncall.user_id])
        if "users" in include
        else user_ref(st, oncall.user_id)
    )
    return {
        "escalation_policy": policy_ref(st, oncall.policy_id),
        "escalation_level": oncall.level,
        "schedule": schedule_ref(st, oncall.schedule_id),
        "user": user,
        "start": oncall.start.astimezone(zone).isoformat(),
        "end": oncall.end.astimezone(zone).isoformat(),
    }
