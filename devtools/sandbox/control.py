"""JSON control API for tests: reset, faults, config, tokens, recorded events and alerts."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from .context import sandbox, store
from .identity import granted_scope, issuer_url
from .resources import integration_json
from .state import Alert, ReceivedEvent, Store, iso_precise

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def _bad(message: str, status: int = 400) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.get("/health")
def health() -> Response:
    return jsonify(status="ok")


@bp.post("/reset")
def reset() -> Response:
    """Back to the seed: accounts, keys, config, no events/alerts/tokens/faults."""
    store().reset()
    return jsonify(status="reset")


@bp.get("/config")
def get_config() -> Response:
    return jsonify(store().config.public())


@bp.post("/config")
def set_config() -> Response:
    try:
        config = store().configure(_body())
    except ValueError as exc:
        return _bad(str(exc))
    return jsonify(config.public())


@bp.get("/faults")
def list_faults() -> Response:
    return jsonify(faults=[f.public() for f in store().faults.pending()])


@bp.post("/faults")
def add_fault() -> Response:
    """``{"host": "events-us", "mode": "500|429|hang|drop", "count": 1, "seconds": 5}``."""
    body = _body()
    try:
        fault = store().faults.add(
            str(body.get("host")),
            str(body.get("mode")),
            body.get("count", 1),
            body.get("seconds", 0.0),
        )
    except ValueError as exc:
        return _bad(str(exc))
    response = jsonify(fault.public())
    response.status_code = 201
    return response


@bp.delete("/faults")
def clear_faults() -> Response:
    store().faults.clear()
    return jsonify(faults=[])


def _matches(item: Any, filters: dict[str, str]) -> bool:
    return all(str(getattr(item, key, None)) == value for key, value in filters.items())


def _filters(allowed: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in allowed}


@bp.get("/events")
def list_events() -> Response:
    """Every Events API request received, oldest first (filters: see ``allowed``)."""
    st = store()
    allowed = (
        "routing_key",
        "dedup_key",
        "host",
        "kind",
        "status_code",
        "alert_id",
        "event_action",
    )
    filters = _filters(allowed)
    after = int(request.args.get("after_seq", 0))
    with st.lock:
        events = [e.public() for e in st.events if e.seq > after and _matches(e, filters)]
    return jsonify(events=events)


def alert_public(st: Store, alert: Alert) -> dict[str, Any]:
    integration = st.integrations.get(alert.integration_id)
    wanted = set(alert.event_ids)
    events: list[ReceivedEvent] = [e for e in st.events if e.id in wanted]
    return {
        "id": alert.id,
        "status": alert.status,
        "dedup_key": alert.dedup_key,
        "summary": alert.summary,
        "severity": alert.severity,
        "source": alert.source,
        "service_id": alert.service_id,
        "integration_id": alert.integration_id,
        "routing_key": (
            integration.integration_key if integration else st.routing_key_of(alert.integration_id)
        ),
        "account_id": alert.account_id,
        "created_at": iso_precise(alert.created_at),
        "acknowledged_at": iso_precise(alert.acknowledged_at) if alert.acknowledged_at else None,
        "resolved_at": iso_precise(alert.resolved_at) if alert.resolved_at else None,
        "history": list(alert.history),
        "events": [e.public() for e in events],
    }


@bp.get("/alerts")
def list_alerts() -> Response:
    st = store()
    filters = _filters(("dedup_key", "status", "service_id", "integration_id", "account_id"))
    routing_key = request.args.get("routing_key")
    with st.lock:
        alerts = [a for a in st.alerts.values() if _matches(a, filters)]
        if routing_key is not None:
            integration = st.integrations_by_key.get(routing_key)
            ids = {integration.id} if integration else set()
            ids |= {
                o.integration_id for o in st.orchestrations.values() if o.routing_key == routing_key
            }
            alerts = [a for a in alerts if a.integration_id in ids]
        body = [alert_public(st, a) for a in sorted(alerts, key=lambda a: a.created_at)]
    return jsonify(alerts=body)


@bp.get("/accounts")
def list_accounts() -> Response:
    """Seeded accounts with credentials, teams, services and integration keys."""
    st = store()
    with st.lock:
        accounts = []
        for account in st.accounts.values():
            services = st.account_services(account.id)
            accounts.append(
                {
                    "id": account.id,
                    "name": account.name,
                    "subdomain": account.subdomain,
                    "region": account.region,
                    "api_key": account.api_key,
                    "rest_path": f"/rest/{account.region}",
                    "events_path": f"/events/{account.region}",
                    "users": [
                        {"id": u.id, "email": u.email, "password": u.password, "name": u.name}
                        for u in st.users.values()
                        if u.account_id == account.id
                    ],
                    "teams": [
                        {"id": t.id, "name": t.name}
                        for t in st.teams.values()
                        if t.account_id == account.id
                    ],
                    "services": [
                        {
                            "id": s.id,
                            "name": s.name,
                            "integrations": [
                                integration_json(st, st.integrations[i]) for i in s.integration_ids
                            ],
                        }
                        for s in services
                    ],
                    "orchestrations": [
                        o.public() for o in st.orchestrations.values() if o.account_id == account.id
                    ],
                }
            )
    return jsonify(accounts=accounts, oauth_client=st.config.public())


@bp.post("/integrations")
def create_integration() -> Response:
    """Shortcut: add an Events API v2 integration to a service, returns its key."""
    st = store()
    body = _body()
    service = st.services.get(str(body.get("service_id")))
    if service is None:
        return _bad("unknown service_id", 404)
    integration = st.add_integration(
        service, "events_api_v2_inbound_integration", str(body.get("name") or "Sandbox")
    )
    with st.lock:
        response = jsonify(integration_json(st, integration))
    response.status_code = 201
    return response


@bp.delete("/integrations/<integration_id>")
def remove_integration(integration_id: str) -> Response:
    """Stands for a person removing the integration in PagerDuty's web app."""
    if store().remove_integration(integration_id) is None:
        return _bad("unknown integration", 404)
    return jsonify(removed=integration_id)


@bp.post("/tokens")
def mint_token() -> Response:
    """Issue tokens for a user without the browser flow: ``{"email", "scope"}``."""
    ctx = sandbox()
    st = ctx.store
    body = _body()
    user = st.user_by_email(str(body.get("email", "")))
    if user is None:
        return _bad("unknown email", 404)
    scope = granted_scope(str(body.get("scope", "write")).split(), st.config.allowed_scopes)
    now = int(time.time())
    delegation = st.create_delegation(st.config.client_id, user, scope, now)
    access, refresh = st.issue_tokens(delegation)
    account = st.account_for_user(user)
    id_token = ctx.signer.id_token(
        issuer=issuer_url(),
        client_id=st.config.client_id,
        region=account.region,
        account_id=account.id,
        subdomain=account.subdomain,
        user_id=user.id,
        access_token=access.value,
        delegation_id=delegation.id,
        auth_time=now,
        lifetime=st.config.token_lifetime,
    )
    return jsonify(
        id_token=id_token,
        token_type="bearer",  # noqa: S106 - OAuth token type, not a secret
        access_token=access.value,
        refresh_token=refresh.value,
        scope=scope,
        expires_in=st.config.token_lifetime,
    )


def _selected_tokens(st: Store, body: dict[str, Any]) -> list[Any]:
    values = [body[k] for k in ("access_token", "refresh_token") if body.get(k)]
    if values:
        return [st.tokens[v] for v in values if v in st.tokens]
    if body.get("all"):
        return list(st.tokens.values())
    return []


@bp.post("/tokens/expire")
def expire_tokens() -> Response:
    """Expire tokens now: body ``{"access_token"|"refresh_token": ...}`` or ``{"all": true}``."""
    st = store()
    with st.lock:
        tokens = _selected_tokens(st, _body())
        for token in tokens:
            token.expires_at = time.time() - 1
    return jsonify(expired=len(tokens))


@bp.post("/tokens/revoke")
def revoke_tokens() -> Response:
    """Revoke the whole grant (all access and refresh tokens) behind the given token(s)."""
    st = store()
    with st.lock:
        delegations = {t.delegation_id for t in _selected_tokens(st, _body())}
        for delegation_id in delegations:
            st.revoke_delegation(delegation_id)
    return jsonify(revoked_grants=len(delegations))


@bp.get("/requests")
def list_requests() -> Response:
    """Recent requests to the PagerDuty hosts (not inbox/control), filter with ``host``."""
    st = store()
    host = request.args.get("host")
    with st.lock:
        entries = [e.public() for e in st.request_log if host is None or e.host == host]
    return jsonify(requests=entries)
