"""Control API for incidents and webhooks (tests only; joins ``control.bp``).

GET  /_sandbox/incidents                       incidents (REST JSON + notes + log)
POST /_sandbox/incidents/<id>/status           {"status", "email"}: change it as that user
GET  /_sandbox/webhook_subscriptions           every subscription, with its signing secrets
POST /_sandbox/webhook_subscriptions/<id>/rotate_secret   new secret; the old one still signs
POST /_sandbox/webhook_subscriptions/<id>/drop_old_secrets  only the newest secret signs
POST /_sandbox/webhook_subscriptions/<id>/disable         as PagerDuty after 3 failures
GET  /_sandbox/webhook_deliveries              filters below; body, headers, attempts
POST /_sandbox/webhook_deliveries/<id>/redeliver  again now, same X-Webhook-Id and body
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, jsonify, request

from .context import sandbox, store
from .control import _bad, _body, bp
from .incident_json import incident_json, note_json
from .incident_model import Incident
from .state import Store, WebhookSubscription, iso_precise, utcnow

DELIVERY_FILTERS = (
    "subscription_id",
    "event_type",
    "incident_id",
    "status",
    "webhook_id",
    "account_id",
)


def incident_public(st: Store, incident: Incident) -> dict[str, Any]:
    """The REST object plus what the web app shows: notes and the log."""
    data = incident_json(st, incident)
    data["alert_id"] = incident.alert_id
    data["account_id"] = incident.account_id
    data["notes"] = [note_json(st, n) for n in incident.notes]
    data["log"] = [
        {
            "id": e.id,
            "at": iso_precise(e.at),
            "action": e.action,
            "summary": e.summary,
            "via": e.via,
            "agent": {"type": e.agent[0], "id": e.agent[1]} if e.agent else None,
        }
        for e in incident.log
    ]
    return data


@bp.get("/incidents")
def list_incidents() -> Response:
    """Filters: ``account_id``, ``service_id``, ``status``, ``incident_key``, ``alert_id``."""
    st = store()
    wanted = {
        k: v
        for k, v in request.args.items()
        if k in {"account_id", "service_id", "status", "incident_key", "alert_id"}
    }
    with st.lock:
        found = [
            incident_public(st, i)
            for i in sorted(st.incidents.values(), key=lambda i: i.created_at)
            if all(str(getattr(i, k)) == v for k, v in wanted.items())
        ]
    return jsonify(incidents=found)


@bp.post("/incidents/<incident_id>/status")
def change_incident_status(incident_id: str) -> Response:
    """As a person would in PagerDuty's web app: ``{"status": ..., "email": ...}``."""
    st = store()
    body = _body()
    status = body.get("status")
    if status not in {"acknowledged", "resolved", "triggered"}:
        return _bad("status must be acknowledged, resolved or triggered")
    with st.lock:
        incident = st.incidents.get(incident_id)
        if incident is None:
            return _bad("unknown incident", 404)
        email = body.get("email")
        user = (
            st.user_by_email(str(email))
            if email
            else next(u for u in st.users.values() if u.account_id == incident.account_id)
        )
        if user is None or user.account_id != incident.account_id:
            return _bad("email is not a user of the incident's account")
        if incident.status == "resolved" and status != "resolved":
            return _bad("the incident is resolved; the sandbox does not reopen incidents", 409)
        changes, events = st.desk.set_status(
            incident, status, ("user", user.id), "control", utcnow()
        )
        data = incident_public(st, incident)
    st.dispatch(changes, events)
    return jsonify(data)


def _subscription_public(sub: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "account_id": sub.account_id,
        "url": sub.url,
        "events": list(sub.events),
        "filter": dict(sub.filter),
        "active": sub.active,
        "temporarily_disabled": sub.temporarily_disabled,
        "consecutive_failures": sub.consecutive_failures,
        "secrets": sub.signing_secrets,
        "custom_headers": list(sub.custom_headers),
    }


@bp.get("/webhook_subscriptions")
def list_subscriptions() -> Response:
    st = store()
    with st.lock:
        subs = [_subscription_public(s) for s in st.webhook_subscriptions.values()]
    return jsonify(webhook_subscriptions=subs)


@bp.post("/webhook_subscriptions/<sub_id>/<any(rotate_secret, drop_old_secrets, disable):action>")
def change_subscription(sub_id: str, action: str) -> Response:
    ctx = sandbox()
    st = ctx.store
    sub = st.webhook_subscriptions.get(sub_id)
    if sub is None:
        return _bad("unknown webhook subscription", 404)
    if action == "disable":
        ctx.webhooks.disable(sub, "disabled through the control API")
    with st.lock:
        if action == "rotate_secret":
            sub.previous_secrets.insert(0, sub.secret)
            sub.secret = secrets.token_urlsafe(48)
        elif action == "drop_old_secrets":
            sub.previous_secrets.clear()
        return jsonify(_subscription_public(sub))


@bp.get("/webhook_deliveries")
def list_deliveries() -> Response:
    """Every webhook, oldest first: filters in ``DELIVERY_FILTERS``."""
    st = store()
    wanted = {k: v for k, v in request.args.items() if k in DELIVERY_FILTERS}
    with st.lock:
        found = [
            d.public()
            for d in st.deliveries
            if all(str(getattr(d, k)) == v for k, v in wanted.items())
        ]
    return jsonify(webhook_deliveries=found)


@bp.post("/webhook_deliveries/<delivery_id>/redeliver")
def redeliver(delivery_id: str) -> Response:
    """Send a past webhook again now (one attempt), e.g. to test duplicate-dropping."""
    ctx = sandbox()
    original = next((d for d in ctx.store.deliveries if d.id == delivery_id), None)
    if original is None:
        return _bad("unknown delivery", 404)
    try:
        delivery = ctx.webhooks.redeliver(original)
    except LookupError as exc:
        return _bad(str(exc), 409)
    with ctx.store.lock:
        response = jsonify(delivery.public())
    response.status_code = 201
    return response
