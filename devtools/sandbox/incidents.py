"""REST ``/incidents``: list, get, update (one or many) and notes.

Changes need a user: an OAuth token acts as its own user; an account API key must name one in
the ``From`` header (REST.openapi.json ``from_header``: "The email address of a valid user
associated with the account making the request"). The sandbox does not reopen resolved
incidents, nor change priorities, incident types, conference bridges or services.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Response, request

from .context import store
from .incident_json import INCIDENT_INCLUDES, incident_json, note_json
from .incident_model import Agent, Incident, Outcome
from .notify import AlertChange, IncidentEvent
from .rest import (
    ApiError,
    _includes,
    _json,
    _json_body,
    _paginate,
    _principal,
    _require_service_write,
    bp,
    invalid,
    not_found,
)
from .state import User, utcnow

STATUSES = ("triggered", "acknowledged", "resolved")
MAX_BULK = 250
MAX_NOTES = 2000
MAX_RANGE = timedelta(days=183)  # "Maximum range is 6 months and default is 1 month."
SORT_FIELDS = ("incident_number", "created_at", "resolved_at", "urgency")
UNSUPPORTED = ("priority", "incident_type", "conference_bridge", "service")


def _acting_user() -> User:
    principal = _principal()
    if principal.user is not None:
        return principal.user
    email = request.headers.get("From", "").strip()
    if not email:
        raise invalid(
            'You must specify a user\'s email address in the "From" header to perform this action.'
        )
    user = store().user_by_email(email)
    if user is None or user.account_id != principal.account.id:
        raise invalid('Requester User Not Found: the "From" header names no user of this account.')
    return user


def _incident(incident_id: str) -> Incident:
    """By id, or by incident number as the API also accepts."""
    st = store()
    account_id = _principal().account.id
    incident = st.incidents.get(incident_id)
    if incident is None and incident_id.isdigit():
        number = int(incident_id)
        incident = next(
            (i for i in st.incidents.values() if i.account_id == account_id and i.number == number),
            None,
        )
    if incident is None or incident.account_id != account_id:
        raise not_found()
    return incident


def time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"'{name}' must be an ISO 8601 date-time.") from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))


def zone_arg() -> ZoneInfo:
    try:
        return ZoneInfo(request.args.get("time_zone") or "Etc/UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid("'time_zone' must be a time zone name such as Europe/Paris.") from None


def _enum_list(name: str, allowed: tuple[str, ...]) -> set[str]:
    values = set(request.args.getlist(name))
    unknown = sorted(values - set(allowed))
    if unknown:
        raise invalid(f"'{name}' must be among {', '.join(allowed)}; got {', '.join(unknown)}.")
    return values


def _sort_key(incident: Incident, field: str) -> Any:
    if field == "resolved_at":
        return incident.resolved_at or datetime.max.replace(tzinfo=ZoneInfo("UTC"))
    if field == "urgency":
        return 0 if incident.urgency == "high" else 1
    return incident.number if field == "incident_number" else incident.created_at


def _sorted(incidents: list[Incident]) -> list[Incident]:
    raw = request.args.get("sort_by", "created_at")
    specs = [s.strip() for s in raw.split(",") if s.strip()]
    if not specs or len(specs) > 2:
        raise invalid("'sort_by' takes one or two fields.")
    for spec in reversed(specs):  # stable sorts, least significant first
        field, _, direction = spec.partition(":")
        if field not in SORT_FIELDS or direction not in {"", "asc", "desc"}:
            raise invalid(f"'sort_by' fields are {', '.join(SORT_FIELDS)}, each :asc or :desc.")
        incidents.sort(key=partial(_sort_key, field=field), reverse=direction == "desc")
    return incidents


@bp.get("/incidents", endpoint="list_incidents")
def list_incidents() -> Response:
    st = store()
    include = _includes(set(INCIDENT_INCLUDES))
    statuses = _enum_list("statuses[]", STATUSES)
    urgencies = _enum_list("urgencies[]", ("high", "low"))
    service_ids = set(request.args.getlist("service_ids[]"))
    team_ids = set(request.args.getlist("team_ids[]"))
    user_ids = set(request.args.getlist("user_ids[]"))
    key = request.args.get("incident_key")
    zone_arg()  # checked; times are always rendered in UTC
    date_range = request.args.get("date_range")
    if date_range not in {None, "all"}:
        raise invalid("'date_range' may only be 'all'.")
    since, until = time_arg("since"), time_arg("until")
    if date_range != "all":
        until = until or utcnow()
        since = since or until - timedelta(days=30)
        if until < since or until - since > MAX_RANGE:
            raise invalid("'until' must follow 'since', at most 6 months later.")
    account_id = _principal().account.id
    with st.lock:
        found = [
            i
            for i in st.incidents.values()
            if i.account_id == account_id
            and (not statuses or i.status in statuses)
            and (not urgencies or i.urgency in urgencies)
            and (not service_ids or i.service_id in service_ids)
            and (not team_ids or team_ids & set(st.services[i.service_id].team_ids))
            and (not user_ids or user_ids & {uid for _, uid in i.assignments})
            and (key is None or i.incident_key == key)
            and (since is None or since <= i.created_at)
            and (until is None or i.created_at <= until)
        ]
        page, meta = _paginate(_sorted(found))
        body = [incident_json(st, i, include) for i in page]
    return _json({"incidents": body, **meta})


@bp.get("/incidents/<incident_id>", endpoint="get_incident")
def get_incident(incident_id: str) -> Response:
    st = store()
    include = _includes(set(INCIDENT_INCLUDES))
    incident = _incident(incident_id)
    with st.lock:
        return _json({"incident": incident_json(st, incident, include)})


def _check_update(incident: Incident, spec: Any) -> dict[str, Any]:
    """The validated changes of one incident update (raises 400 with every problem)."""
    st = store()
    if not isinstance(spec, dict):
        raise invalid("Each incident update must be an object.")
    errors: list[str] = []
    if spec.get("type") not in {"incident", "incident_reference"}:
        errors.append("'type' must be 'incident' or 'incident_reference'.")
    errors += [f"Changing '{k}' is not supported by the sandbox." for k in UNSUPPORTED if k in spec]
    changes: dict[str, Any] = {}
    status = spec.get("status")
    if status is not None:
        if status not in STATUSES:
            errors.append("'status' must be triggered, acknowledged or resolved.")
        elif incident.status == "resolved" and status != "resolved":
            errors.append("The incident is resolved; the sandbox does not reopen incidents.")
        changes["status"] = status
    if "resolution" in spec:
        if not isinstance(spec["resolution"], str) or status != "resolved":
            errors.append("'resolution' is a string, used only with status 'resolved'.")
        changes["resolution"] = spec["resolution"]
    for key, allowed in (("urgency", ("high", "low")), ("title", None)):
        if key in spec:
            value = spec[key]
            if (
                not isinstance(value, str)
                or not value.strip()
                or (allowed and value not in allowed)
            ):
                errors.append(f"'{key}' is not valid.")
            changes[key] = value
    if "assignments" in spec:
        refs = spec["assignments"]
        ids = (
            [
                a["assignee"].get("id")
                for a in refs
                if isinstance(a, dict) and isinstance(a.get("assignee"), dict)
            ]
            if isinstance(refs, list)
            else []
        )
        users = [st.users.get(str(uid)) for uid in ids]
        if (
            not ids
            or len(ids) != len(refs)
            or any(u is None or u.account_id != incident.account_id for u in users)
        ):
            errors.append("'assignments' must name users of this account as assignee references.")
        changes["assignments"] = list(dict.fromkeys(str(uid) for uid in ids))
    if "escalation_policy" in spec:
        ref = spec["escalation_policy"]
        policy = st.policies.get(str(ref.get("id"))) if isinstance(ref, dict) else None
        if policy is None or policy.account_id != incident.account_id:
            errors.append("'escalation_policy' must reference a policy of this account.")
        changes["escalation_policy"] = policy
    if "escalation_level" in spec:
        level = spec["escalation_level"]
        policy = changes.get("escalation_policy") or st.policies[incident.escalation_policy_id]
        if (
            isinstance(level, bool)
            or not isinstance(level, int)
            or not (1 <= level <= len(policy.levels))
        ):
            errors.append(f"'escalation_level' must be between 1 and {len(policy.levels)}.")
        changes["escalation_level"] = level
    if errors:
        raise invalid(*errors)
    return changes


def _apply(incident: Incident, changes: dict[str, Any], user: User) -> Outcome:
    """Apply validated changes (lock held): policy, level, assignees, then status."""
    desk, now = store().desk, utcnow()
    agent: Agent = ("user", user.id)
    alert_changes: list[AlertChange] = []
    events: list[IncidentEvent] = []

    def add(outcome: Outcome) -> None:
        alert_changes.extend(outcome[0])
        events.extend(outcome[1])

    if "title" in changes:
        incident.title = changes["title"].strip()
    if "urgency" in changes:
        incident.urgency = changes["urgency"]
    if changes.get("escalation_policy") is not None:
        add(desk.delegate(incident, changes["escalation_policy"], agent, "rest", now))
    if "escalation_level" in changes:
        add(desk.escalate(incident, changes["escalation_level"], agent, "rest", now))
    if changes.get("assignments"):
        add(desk.reassign(incident, changes["assignments"], agent, "rest", now))
    if "status" in changes:
        resolution = changes.get("resolution", "")
        add(desk.set_status(incident, changes["status"], agent, "rest", now, resolution))
    incident.updated_at = now
    return alert_changes, events


@bp.put("/incidents/<incident_id>", endpoint="update_incident")
def update_incident(incident_id: str) -> Response:
    st = store()
    user = _acting_user()
    incident = _incident(incident_id)
    _require_service_write(st.services[incident.service_id])
    changes = _check_update(incident, _json_body().get("incident"))
    with st.lock:
        alert_changes, events = _apply(incident, changes, user)
        body = incident_json(st, incident)
    st.dispatch(alert_changes, events)
    return _json({"incident": body})


@bp.put("/incidents", endpoint="update_incidents")
def update_incidents() -> Response:
    """Up to 250 incidents at once; all are checked before any changes."""
    st = store()
    user = _acting_user()
    specs = _json_body().get("incidents")
    if not isinstance(specs, list) or not specs:
        raise invalid("'incidents' must be a non-empty list.")
    if len(specs) > MAX_BULK:
        raise ApiError(413, 2001, "Request Entity Too Large", [f"At most {MAX_BULK} incidents."])
    checked = []
    for spec in specs:
        incident = _incident(str(spec.get("id")) if isinstance(spec, dict) else "")
        _require_service_write(st.services[incident.service_id])
        checked.append((incident, _check_update(incident, spec)))
    alert_changes: list[AlertChange] = []
    events: list[IncidentEvent] = []
    with st.lock:
        for incident, changes in checked:
            outcome = _apply(incident, changes, user)
            alert_changes += outcome[0]
            events += outcome[1]
        body = [incident_json(st, incident) for incident, _ in checked]
    st.dispatch(alert_changes, events)
    return _json({"incidents": body, "limit": len(body), "offset": 0, "more": False, "total": None})


@bp.get("/incidents/<incident_id>/notes", endpoint="list_incident_notes")
def list_incident_notes(incident_id: str) -> Response:
    st = store()
    incident = _incident(incident_id)
    with st.lock:
        return _json({"notes": [note_json(st, n) for n in incident.notes]})


@bp.post("/incidents/<incident_id>/notes", endpoint="create_incident_note")
def create_incident_note(incident_id: str) -> Response:
    st = store()
    user = _acting_user()
    incident = _incident(incident_id)
    _require_service_write(st.services[incident.service_id])
    note = _json_body().get("note")
    content = note.get("content") if isinstance(note, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise invalid("'note.content' is required and must be a non-empty string.")
    with st.lock:
        if len(incident.notes) >= MAX_NOTES:
            raise invalid(f"An incident can have at most {MAX_NOTES} notes.")
        created, events = st.desk.annotate(incident, user.id, content, "rest", utcnow())
        body = note_json(st, created)
    st.dispatch([], events)
    # REST.openapi.json documents 200 for this create.
    return _json({"note": body})
