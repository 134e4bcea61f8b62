"""Server-rendered inbox: accounts, services, integrations, alerts and received events."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from .context import store
from .incident_model import Agent, Incident
from .notify import AlertChange, AlertStatus
from .security import check_csrf
from .state import Account, ReceivedEvent, Store, iso_precise, utcnow

bp = Blueprint("inbox", __name__)

PAGE_SIZE = 25


def pretty(value: Any) -> str:
    """Indented JSON for <pre> blocks (raw text when the body was not JSON)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _event_view(event: ReceivedEvent) -> dict[str, Any]:
    return {
        "event": event,
        "received_at": iso_precise(event.received_at),
        "body": pretty(event.body) if event.body is not None else event.raw[:20_000],
        "response": pretty(event.response) if event.response is not None else "",
    }


@bp.get("/")
def index() -> str:
    st = store()
    with st.lock:
        accounts = [
            {
                "account": account,
                "users": [u for u in st.users.values() if u.account_id == account.id],
                "service_count": len(st.account_services(account.id)),
                "open_alerts": sum(
                    1
                    for a in st.alerts.values()
                    if a.account_id == account.id and a.status != "resolved"
                ),
            }
            for account in st.accounts.values()
        ]
        recent = [_event_view(e) for e in reversed(st.events[-10:])]
    return render_template(
        "inbox_index.html",
        accounts=accounts,
        config=st.config,
        recent=recent,
        base=request.host_url,
    )


@bp.get("/inbox/accounts/<account_id>")
def account_services(account_id: str) -> str:
    st = store()
    account: Account | None = st.accounts.get(account_id)
    if account is None:
        abort(404)
    query = request.args.get("q", "").strip()
    services = st.account_services(account.id)
    if query:
        services = [s for s in services if query.lower() in s.name.lower()]
    pages = max(1, math.ceil(len(services) / PAGE_SIZE))
    try:
        page = min(max(1, int(request.args.get("page", 1))), pages)
    except ValueError:
        page = 1
    with st.lock:
        rows = [
            {
                "service": s,
                "teams": [st.teams[t].name for t in s.team_ids],
                "integrations": [st.integrations[i] for i in s.integration_ids],
                "open_alerts": sum(
                    1 for a in st.alerts.values() if a.service_id == s.id and a.status != "resolved"
                ),
            }
            for s in services[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        ]
    return render_template(
        "inbox_services.html",
        account=account,
        rows=rows,
        query=query,
        page=page,
        pages=pages,
        total=len(services),
    )


@bp.get("/inbox/services/<service_id>")
def service_detail(service_id: str) -> str:
    st = store()
    service = st.services.get(service_id)
    if service is None:
        abort(404)
    with st.lock:
        account = st.accounts[service.account_id]
        events_by_id = {e.id: e for e in st.events if e.service_id == service.id}
        alerts = [
            {"alert": a, "events": [_event_view(events_by_id[i]) for i in a.event_ids]}
            for a in st.service_alerts(service.id)
        ]
        changes = [
            _event_view(e)
            for e in events_by_id.values()
            if e.kind == "change" and e.status_code == 202
        ]
        integrations = [st.integrations[i] for i in service.integration_ids]
        dropped = [
            _event_view(e)
            for e in events_by_id.values()
            if e.kind == "alert" and e.alert_id is None
        ]
    return render_template(
        "inbox_service.html",
        account=account,
        service=service,
        integrations=integrations,
        alerts=alerts,
        changes=list(reversed(changes)),
        dropped=list(reversed(dropped)),
    )


@bp.get("/inbox/events")
def all_events() -> str:
    st = store()
    with st.lock:
        events = [_event_view(e) for e in reversed(st.events[-200:])]
        services = {s.id: s.name for s in st.services.values()}
    return render_template("inbox_events.html", events=events, services=services)


@bp.post("/inbox/alerts/<alert_id>/<any(acknowledge, resolve):action>")
def change_alert(alert_id: str, action: str) -> Any:
    """Acknowledge/Resolve buttons; status changes notify observers (webhook seam)."""
    check_csrf()
    st = store()
    alert = st.alerts.get(alert_id)
    if alert is None:
        abort(404)
    owner = next((u for u in st.users.values() if u.account_id == alert.account_id), None)
    status: AlertStatus = "acknowledged" if action == "acknowledge" else "resolved"
    st.set_alert_status(alert_id, status, owner.id if owner else None)
    return redirect(url_for("inbox.service_detail", service_id=alert.service_id), code=303)


# ---------------------------------------------------------------------------- incidents
def _incident_or_404(subdomain: str, incident_id: str) -> Incident:
    st = store()
    incident = st.incidents.get(incident_id)
    if incident is None or st.accounts[incident.account_id].subdomain != subdomain:
        abort(404)
    return incident


def _agent_name(st: Store, agent: Agent | None) -> str:
    if agent is None:
        return "PagerDuty"
    kind, id_ = agent
    return st.users[id_].name if kind == "user" else f"{st.services[id_].name} (through the API)"


@bp.get("/web/<subdomain>/incidents/<incident_id>")
def incident_detail(subdomain: str, incident_id: str) -> str:
    """The page an incident's html_url opens: state, people, notes, log and actions."""
    st = store()
    incident = _incident_or_404(subdomain, incident_id)
    with st.lock:
        account = st.accounts[incident.account_id]
        acks = [
            (iso_precise(at), _agent_name(st, agent)) for at, agent in incident.acknowledgements
        ]
        view = {
            "incident": incident,
            "account": account,
            "service": st.services[incident.service_id],
            "policy": st.policies[incident.escalation_policy_id],
            "assignees": [st.users[uid].name for _, uid in incident.assignments],
            "acknowledged": acks,
            "changed_by": _agent_name(st, incident.last_status_change_by),
            "changed_at": iso_precise(incident.last_status_change_at),
            "notes": [
                (
                    iso_precise(n.created_at),
                    st.users[n.user_id].name if n.user_id else "",
                    n.content,
                )
                for n in incident.notes
            ],
            "log": [
                (iso_precise(e.at), e.summary, _agent_name(st, e.agent), e.via)
                for e in reversed(incident.log)
            ],
            "users": [u for u in st.users.values() if u.account_id == account.id],
        }
    return render_template("inbox_incident.html", **view)


@bp.post("/web/<subdomain>/incidents/<incident_id>/<any(acknowledge, resolve, note):action>")
def change_incident(subdomain: str, incident_id: str, action: str) -> Any:
    """The incident page's buttons and note form, acting as the chosen user."""
    check_csrf()
    st = store()
    incident = _incident_or_404(subdomain, incident_id)
    user = st.users.get(request.form.get("user_id", ""))
    if user is None or user.account_id != incident.account_id:
        abort(400, description="Choose a user of this account.")
    with st.lock:
        if action == "note":
            content = request.form.get("content", "").strip()
            if not content:
                abort(400, description="A note needs some text.")
            changes: list[AlertChange] = []
            _, events = st.desk.annotate(incident, user.id, content, "inbox", utcnow())
        else:
            status: AlertStatus = "acknowledged" if action == "acknowledge" else "resolved"
            changes, events = st.desk.set_status(
                incident, status, ("user", user.id), "inbox", utcnow()
            )
    st.dispatch(changes, events)
    target = url_for("inbox.incident_detail", subdomain=subdomain, incident_id=incident.id)
    return redirect(target, code=303)
