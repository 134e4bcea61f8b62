"""Application factory: one Flask app serving every PagerDuty host by path prefix.

/identity/...        identity.pagerduty.com   (OAuth authorize/token, JWKS)
/rest/us/...         api.pagerduty.com        (REST API v2 subset)
/rest/eu/...         api.eu.pagerduty.com
/events/us/v2/...    events.pagerduty.com     (enqueue, change/enqueue)
/events/eu/v2/...    events.eu.pagerduty.com
/_sandbox/...        JSON control API for tests (see control.py)
/                    inbox UI
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

# Their routes join rest.bp and control.bp when imported.
from . import (  # noqa: F401
    control,
    control_incidents,
    control_orchestrations,
    control_services,
    events,
    identity,
    inbox,
    incidents,
    oncalls,
    rest,
    webhooks,
)
from .config import SandboxConfig
from .context import EXTENSION_KEY, Sandbox
from .delivery import WebhookSender
from .faults import Fault, drop_connection
from .idtoken import IdTokenSigner
from .security import csrf_token
from .state import RequestLogEntry, Store, utcnow

HOST_PREFIXES = (
    ("/identity/", "identity"),
    ("/rest/us/", "rest-us"),
    ("/rest/eu/", "rest-eu"),
    ("/events/us/", "events-us"),
    ("/events/eu/", "events-eu"),
)


def host_for_path(path: str) -> str | None:
    """Which PagerDuty host a sandbox path stands for (None for inbox/control)."""
    return next((host for prefix, host in HOST_PREFIXES if path.startswith(prefix)), None)


def create_app(config: SandboxConfig | None = None) -> Flask:
    """Build the sandbox app with fresh, seeded in-memory state."""
    config = config or SandboxConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_NAME="pd_sandbox_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    st = Store(config)
    sender = WebhookSender(st)
    st.add_incident_observer(sender)
    app.extensions[EXTENSION_KEY] = Sandbox(store=st, signer=IdTokenSigner(), webhooks=sender)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["pretty"] = inbox.pretty
    for blueprint in (identity.bp, rest.bp, events.bp, control.bp, inbox.bp):
        app.register_blueprint(blueprint)
    app.before_request(_before_request)
    app.after_request(_after_request)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _store() -> Store:
    from .context import store

    return store()


def _before_request() -> Response | None:
    g.received_at = utcnow()
    g.pd_host = host_for_path(request.path)
    if g.pd_host is None:
        return None
    fault = _store().faults.take(g.pd_host)
    return _apply_fault(fault) if fault else None


def _apply_fault(fault: Fault) -> Response | None:
    """Fail this request as the fault says; ``hang`` delays and then proceeds normally."""
    st = _store()
    data = request.get_data(cache=True)  # read the body before failing, like a real server
    if fault.mode == "hang":
        if st.faults.hang(fault.seconds):
            return None
        # A reset/clear woke us up: never apply a stale request to the fresh state.
        _drop()
        return Response(status=503)
    if fault.host.startswith("events-"):
        _record_faulted_event(fault, data)
    if fault.mode == "drop":
        _drop()
        return Response(status=500)
    if fault.mode == "refuse":
        return _refused_key()
    status = int(fault.mode)
    if fault.host.startswith("rest-"):
        response = rest.error_response(
            status,
            2000 if status == 500 else 2020,
            "Internal Server Error" if status == 500 else "Rate Limit Exceeded",
        )
        if status == 429:
            cfg = st.config
            response.headers["ratelimit-limit"] = str(cfg.rest_rate_limit)
            response.headers["ratelimit-remaining"] = "0"
            response.headers["ratelimit-reset"] = str(int(cfg.rest_rate_window))
        return response
    if fault.host.startswith("events-"):
        body: dict[str, Any] = (
            {
                "status": "Internal Server Error",
                "message": "The PagerDuty server experienced an error while processing the event.",
                "errors": ["Injected fault"],
            }
            if status == 500
            else {
                "status": "Request Limit Exceeded",
                "message": "Too many events for this integration key; retry later.",
                "errors": ["429 - Request Limit Exceeded"],
            }
        )
    else:
        body = {
            "error": "server_error" if status == 500 else "temporarily_unavailable",
            "error_description": "Injected fault",
        }
    response = jsonify(body)
    response.status_code = status
    return response


def _refused_key() -> Response:
    """The Events API's answer to a routing key it does not know (`events.NO_SUCH_KEY`)."""
    body = {"status": "invalid event", "message": "Event object is invalid"}
    response = jsonify({**body, "errors": [events.NO_SUCH_KEY]})
    response.status_code = 400
    return response


def _record_faulted_event(fault: Fault, data: bytes) -> None:
    """Keep failed attempts in the event log too, so tests can count retries."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    fields = body if isinstance(body, dict) else {}

    def text(key: str) -> str | None:
        value = fields.get(key)
        return value if isinstance(value, str) else None

    _store().new_event(
        host=fault.host,
        kind="change" if "/change/" in request.path else "alert",
        path=request.path,
        received_at=g.received_at,
        raw=data.decode("utf-8", errors="replace"),
        body=body,
        status_code=int(fault.mode) if fault.mode.isdigit() else {"refuse": 400}.get(fault.mode, 0),
        outcome=f"fault: {fault.mode}",
        routing_key=text("routing_key"),
        dedup_key=text("dedup_key"),
        event_action=text("event_action"),
    )


def _drop() -> None:
    """Close the client's connection without an answer, logging the request first: the
    client sees the drop at once and may read the log before this thread would go on."""
    _log_request(0)
    g.logged = True
    drop_connection(request.environ)


def _log_request(status_code: int) -> None:
    host = g.get("pd_host")
    if host is not None:
        _store().log_request(
            RequestLogEntry(
                host=host,
                method=request.method,
                path=request.path,
                status_code=status_code,
                received_at=g.get("received_at") or utcnow(),
            )
        )


def _after_request(response: Response) -> Response:
    if not g.get("logged"):
        _log_request(response.status_code)
    return response


def _http_error(exc: HTTPException) -> Any:
    """JSON errors in each host's own format; HTML for the inbox and sign-in pages."""
    host = host_for_path(request.path)
    status = exc.code or 500
    if host and host.startswith("rest-"):
        return rest.error_response(status, 2100 if status == 404 else 2015, exc.name)
    if host and host.startswith("events-"):
        response = jsonify(status=exc.name, message=exc.description or exc.name)
        response.status_code = status
        return response
    if request.path.startswith("/_sandbox/"):
        response = jsonify(error=exc.description or exc.name)
        response.status_code = status
        return response
    return exc
