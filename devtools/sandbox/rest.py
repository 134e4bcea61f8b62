"""api.pagerduty.com / api.eu.pagerduty.com stand-in (REST API v2 subset)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.http import parse_options_header

from .context import store
from .ratelimit import RateDecision
from .resources import integration_json, service_json, user_json
from .state import EVENTS_INTEGRATION_TYPES, Account, Integration, Service, User

bp = Blueprint("rest", __name__, url_prefix="/rest/<any(us, eu):region>")

ACCEPT_MEDIA_TYPE = "application/vnd.pagerduty+json"
ACCEPT_HEADER = f"{ACCEPT_MEDIA_TYPE};version=2"
INTEGRATION_TYPES = frozenset(
    {
        "aws_cloudwatch_inbound_integration",
        "cloudkick_inbound_integration",
        "event_transformer_api_inbound_integration",
        "generic_email_inbound_integration",
        "generic_events_api_inbound_integration",
        "keynote_inbound_integration",
        "nagios_inbound_integration",
        "pingdom_inbound_integration",
        "sql_monitor_inbound_integration",
        "events_api_v2_inbound_integration",
    }
)
MAX_LIMIT = 100
DEFAULT_LIMIT = 25
MAX_OFFSET_PLUS_LIMIT = 10_000

# Scoped OAuth scope per endpoint, from x-pd-requires-scope in REST.openapi.json.
# /users/me lists no scope there, so any valid user token may call it.
REQUIRED_SCOPES: dict[str, str | None] = {
    "rest.users_me": None,
    "rest.list_services": "services.read",
    "rest.get_service": "services.read",
    "rest.delete_service": "services.write",
    "rest.create_integration": "services.write",
    "rest.get_integration": "services.read",
    "rest.update_integration": "services.write",
    "rest.list_webhook_subscriptions": "webhook_subscriptions.read",
    "rest.create_webhook_subscription": "webhook_subscriptions.write",
    "rest.get_webhook_subscription": "webhook_subscriptions.read",
    "rest.delete_webhook_subscription": "webhook_subscriptions.write",
    "rest.update_webhook_subscription": "webhook_subscriptions.write",
    "rest.enable_webhook_subscription": "webhook_subscriptions.write",
    "rest.ping_webhook_subscription": "webhook_subscriptions.write",
    "rest.list_incidents": "incidents.read",
    "rest.get_incident": "incidents.read",
    "rest.update_incident": "incidents.write",
    "rest.update_incidents": "incidents.write",
    "rest.list_incident_notes": "incidents.read",
    "rest.create_incident_note": "incidents.write",
    "rest.list_oncalls": "oncalls.read",
}


class ApiError(Exception):
    """Raised inside handlers; rendered as PagerDuty's error object."""

    def __init__(self, status: int, code: int, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


def error_response(
    status: int, code: int, message: str, errors: list[str] | None = None
) -> Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    response = jsonify(error=body)
    response.status_code = status
    return response


def invalid(*errors: str) -> ApiError:
    return ApiError(400, 2001, "Invalid Input Provided", list(errors))


def not_found() -> ApiError:
    return ApiError(404, 2100, "Not Found")


def _require_service_write(service: Service) -> None:
    """Team-based permissions: a responder ("user" role) may change only their teams' services.

    The seed gives the US user a "Finance" service outside their teams, so a connect flow
    meets a 403 on one service while the others work.
    """
    user = _principal().user
    if user is None or user.role != "user":
        return
    if not set(service.team_ids) & set(user.team_ids):
        raise ApiError(
            403,
            2010,
            "Access Denied",
            [
                f"You do not have permission to modify the service {service.name!r}: "
                "it belongs to a team you are not a member of."
            ],
        )


@dataclass(frozen=True)
class Principal:
    """Who is calling: an OAuth user token or an account API key."""

    account: Account
    user: User | None
    scopes: frozenset[str]
    full_access: bool
    rate_key: str


def _authenticate(header: str, region: str) -> Principal | None:
    st = store()
    if header.startswith("Bearer "):
        value = header.removeprefix("Bearer ").strip()
        with st.lock:
            token = st.token(value, "access")
            delegation = st.delegations.get(token.delegation_id) if token else None
            if token is None or delegation is None or delegation.revoked or not token.usable():
                return None
            account = st.accounts[delegation.account_id]
            user = st.users[delegation.user_id]
        if account.region != region:
            return None
        return Principal(
            account,
            user,
            frozenset(delegation.scope.split()),
            False,
            f"oauth:{delegation.client_id}:{user.id}",
        )
    match = re.fullmatch(r"Token token=(\S+)", header.strip())
    if match:
        account = st.account_by_api_key(match.group(1))
        if account is None or account.region != region:
            return None
        return Principal(account, None, frozenset(), True, f"api_key:{account.api_key}")
    return None


def _allowed(principal: Principal, required: str | None, method: str) -> bool:
    if principal.full_access or "write" in principal.scopes:
        return True
    if method in {"GET", "HEAD"} and "read" in principal.scopes:
        return True
    return required is None or required in principal.scopes


def _accept_ok(header: str | None) -> bool:
    for item in (header or "").split(","):
        mimetype, options = parse_options_header(item)
        if mimetype.lower() == ACCEPT_MEDIA_TYPE and options.get("version") == "2":
            return True
    return False


@bp.url_value_preprocessor
def _pull_region(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.region = (values or {}).pop("region", "us")


@bp.before_request
def _guard() -> Response | None:
    """Authentication → rate limit → Accept header → scope, in that order."""
    st = store()
    principal = _authenticate(request.headers.get("Authorization", ""), g.region)
    if principal is None:
        return error_response(401, 2006, "Authentication failed")
    g.principal = principal
    cfg = st.config
    decision = st.limiter.hit(principal.rate_key, cfg.rest_rate_limit, cfg.rest_rate_window)
    g.rate = decision
    if not decision.allowed:
        return error_response(429, 2020, "Rate Limit Exceeded")
    if not _accept_ok(request.headers.get("Accept")):
        return error_response(
            400,
            2001,
            "Invalid Input Provided",
            [f"The Accept header must be '{ACCEPT_HEADER}'."],
        )
    required = REQUIRED_SCOPES.get(request.endpoint or "")
    if not _allowed(principal, required, request.method):
        needed = required or "write"
        return error_response(
            403, 2010, "Access Denied", [f"The access token does not have the '{needed}' scope."]
        )
    return None


@bp.after_request
def _rate_headers(response: Response) -> Response:
    decision: RateDecision | None = g.get("rate")
    if decision is not None:
        response.headers["ratelimit-limit"] = str(decision.limit)
        response.headers["ratelimit-remaining"] = str(decision.remaining)
        response.headers["ratelimit-reset"] = str(decision.reset_seconds)
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.errors)


# ---------------------------------------------------------------------------- helpers
def _principal() -> Principal:
    principal: Principal = g.principal
    return principal


def _json_body() -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise invalid("Content-Type must be application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"'{name}' must be an integer.") from None


def _paginate(items: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Classic offset pagination as described in the REST API pagination docs."""
    limit = _int_arg("limit", DEFAULT_LIMIT)
    offset = _int_arg("offset", 0)
    if limit < 1:
        raise invalid("'limit' must be greater than 0.")
    if offset < 0:
        raise invalid("'offset' must not be negative.")
    if offset + limit > MAX_OFFSET_PLUS_LIMIT:
        raise invalid(
            f"Offset plus limit must not exceed {MAX_OFFSET_PLUS_LIMIT}; use a filter instead."
        )
    limit = min(limit, MAX_LIMIT)
    page = items[offset : offset + limit]
    total = len(items) if request.args.get("total", "").lower() == "true" else None
    return page, {
        "limit": limit,
        "offset": offset,
        "more": offset + len(page) < len(items),
        "total": total,
    }


def _includes(allowed: set[str]) -> list[str]:
    values = request.args.getlist("include[]") + request.args.getlist("include")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise invalid(f"Unsupported include: {', '.join(unknown)}.")
    return values


def _service(service_id: str) -> Service:
    service = store().services.get(service_id)
    if service is None or service.deleted_at or service.account_id != _principal().account.id:
        raise not_found()
    return service


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


# ---------------------------------------------------------------------------- users
@bp.get("/users/me", endpoint="users_me")
def users_me() -> Response:
    principal = _principal()
    if principal.user is None:
        raise invalid("/users/me needs a user-level token; account API keys have no user.")
    return _json({"user": user_json(store(), principal.user)})


# ---------------------------------------------------------------------------- services
@bp.get("/services", endpoint="list_services")
def list_services() -> Response:
    st = store()
    include = _includes(
        {"escalation_policies", "teams", "integrations", "auto_pause_notifications_parameters"}
    )
    services = st.account_services(_principal().account.id)
    query = request.args.get("query")
    if query:
        services = [s for s in services if query.lower() in s.name.lower()]
    name = request.args.get("name")
    if name is not None:
        services = [s for s in services if s.name == name]
    team_ids = set(request.args.getlist("team_ids[]"))
    if team_ids:
        services = [s for s in services if team_ids & set(s.team_ids)]
    sort_by = request.args.get("sort_by", "name")
    if sort_by not in {"name", "name:asc", "name:desc"}:
        raise invalid("'sort_by' must be one of name, name:asc, name:desc.")
    if sort_by == "name:desc":
        services.reverse()
    page, meta = _paginate(services)
    with st.lock:
        body = [service_json(st, s, include) for s in page]
    return _json({"services": body, **meta})


@bp.get("/services/<service_id>", endpoint="get_service")
def get_service(service_id: str) -> Response:
    st = store()
    include = _includes(
        {"escalation_policies", "teams", "integrations", "auto_pause_notifications_parameters"}
    )
    service = _service(service_id)
    with st.lock:
        return _json({"service": service_json(st, service, include)})


@bp.delete("/services/<service_id>", endpoint="delete_service")
def delete_service(service_id: str) -> Response:
    service = _service(service_id)
    _require_service_write(service)
    store().delete_service(service)
    return Response(status=204)


@bp.post("/services/<service_id>/integrations", endpoint="create_integration")
def create_integration(service_id: str) -> Response:
    st = store()
    service = _service(service_id)
    _require_service_write(service)
    spec = _json_body().get("integration")
    if not isinstance(spec, dict):
        raise invalid("'integration' is required and must be an object.")
    type_ = spec.get("type")
    if type_ not in INTEGRATION_TYPES:
        raise invalid(f"Integration type must be one of: {', '.join(sorted(INTEGRATION_TYPES))}.")
    name = spec.get("name", "Events API V2" if type_ in EVENTS_INTEGRATION_TYPES else None)
    if not isinstance(name, str) or not name.strip():
        raise invalid("Integration name must be a non-empty string.")
    email = spec.get("integration_email")
    if type_ == "generic_email_inbound_integration":
        suffix = f"@{_principal().account.subdomain}.pagerduty.com"
        if not isinstance(email, str) or not email.endswith(suffix):
            raise invalid(f"integration_email must be an address ending in {suffix}.")
    integration = st.add_integration(
        service, type_, name.strip(), email if isinstance(email, str) else None
    )
    with st.lock:
        return _json({"integration": integration_json(st, integration)}, 201)


def _integration(service_id: str, integration_id: str) -> Integration:
    service = _service(service_id)
    integration = store().integrations.get(integration_id)
    if integration is None or integration.service_id != service.id:
        raise not_found()
    return integration


@bp.get("/services/<service_id>/integrations/<integration_id>", endpoint="get_integration")
def get_integration(service_id: str, integration_id: str) -> Response:
    st = store()
    integration = _integration(service_id, integration_id)
    with st.lock:
        return _json({"integration": integration_json(st, integration)})


@bp.put("/services/<service_id>/integrations/<integration_id>", endpoint="update_integration")
def update_integration(service_id: str, integration_id: str) -> Response:
    st = store()
    integration = _integration(service_id, integration_id)
    spec = _json_body().get("integration")
    if not isinstance(spec, dict):
        raise invalid("'integration' is required and must be an object.")
    if "name" in spec:
        if not isinstance(spec["name"], str) or not spec["name"].strip():
            raise invalid("Integration name must be a non-empty string.")
        with st.lock:
            integration.name = spec["name"].strip()
    with st.lock:
        return _json({"integration": integration_json(st, integration)})
