"""identity.pagerduty.com stand-in: OAuth 2.0 authorization code flow with PKCE.

This module has the blueprint, the authorize pages and OpenID discovery; the token
endpoint's grants are in ``identity_token.py``.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, jsonify, redirect, render_template, request, session, url_for

from .config import CLASSIC_SCOPES, SCOPED_SCOPES
from .context import sandbox, store
from .identity_token import exchange, issuer_url
from .security import check_csrf
from .seed import SANDBOX_PASSWORD
from .state import PendingAuthorization, User

bp = Blueprint("identity", __name__, url_prefix="/identity")

ACCESS_DENIED_DESCRIPTION = "The resource owner or authorization server denied the request."
SCOPE_DESCRIPTIONS = {
    "openid": "Know which PagerDuty account and user authorized the app",
    "read": "Read-only access to everything you can see in PagerDuty",
    "write": "Read and write access to everything you can change in PagerDuty",
}
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def granted_scope(requested: list[str], allowed: frozenset[str]) -> str:
    """PagerDuty grants only ``openid`` when any requested scope is invalid (no error)."""
    if requested and all(s in allowed for s in requested):
        return " ".join(["openid", *dict.fromkeys(s for s in requested if s != "openid")])
    return "openid"


def with_query(url: str, params: dict[str, str | None]) -> str:
    """Append query parameters (skipping None values) to ``url``."""
    parts = urlsplit(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _error_page(status: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("identity_error.html", title=title, detail=detail), status


def _current_user() -> User | None:
    user_id = session.get("user_id")
    return store().users.get(user_id) if user_id else None


def _sign_in_page(pending: PendingAuthorization, error: str | None = None) -> str:
    users = sorted(store().users.values(), key=lambda u: u.email)
    return render_template(
        "identity_sign_in.html",
        pending=pending,
        error=error,
        users=users,
        password=SANDBOX_PASSWORD,
        client_name=store().config.client_name,
    )


def _consent_page(pending: PendingAuthorization, user: User) -> str:
    st = store()
    account = st.account_for_user(user)
    requested = pending.scope_requested.split()
    return render_template(
        "identity_consent.html",
        pending=pending,
        user=user,
        account=account,
        client_name=st.config.client_name,
        requested=[(s, SCOPE_DESCRIPTIONS.get(s, _scoped_description(s))) for s in requested],
        granted=pending.scope,
    )


def _scoped_description(scope: str) -> str:
    if scope not in SCOPED_SCOPES:
        return "Unknown scope (PagerDuty will grant only openid)"
    resource, _, level = scope.partition(".")
    verb = "Read" if level == "read" else "Create, change and delete"
    return f"{verb} {resource.replace('_', ' ')}"


@bp.get("/oauth/authorize")
def authorize() -> Any:
    """Validate the authorization request, then show sign-in or consent."""
    st = store()
    cfg = st.config
    args = request.args
    client_id = args.get("client_id")
    if not client_id or not secrets.compare_digest(client_id, cfg.client_id):
        return _error_page(
            400, "Unknown application", "The client_id is missing or not registered."
        )
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri or redirect_uri not in cfg.redirect_uris:
        return _error_page(
            400,
            "Invalid redirect URI",
            "The redirect_uri is missing or is not one of the app's registered redirect URIs.",
        )
    state = args.get("state")

    def fail(error: str, description: str) -> Response:
        return redirect(
            with_query(
                redirect_uri, {"error": error, "error_description": description, "state": state}
            )
        )

    for name in _AUTHORIZE_PARAMS:
        if len(args.getlist(name)) > 1:
            return fail("invalid_request", f"Parameter '{name}' was included more than once.")
    response_type = args.get("response_type")
    if not response_type:
        return fail("invalid_request", "Missing required parameter: response_type.")
    if response_type != "code":
        return fail("unsupported_response_type", "response_type must be 'code'.")
    requested = (args.get("scope") or "").split()
    if not requested:
        return fail("invalid_request", "Missing required parameter: scope.")
    challenge = args.get("code_challenge") or None
    method = args.get("code_challenge_method")
    if challenge is None:
        if method:
            return fail("invalid_request", "code_challenge_method was sent without code_challenge.")
        if cfg.require_pkce or any(s in SCOPED_SCOPES for s in requested):
            return fail("invalid_request", "PKCE is required: send code_challenge (S256).")
    else:
        if method != "S256":
            return fail("invalid_request", "code_challenge_method must be 'S256'.")
        if not _CHALLENGE_RE.fullmatch(challenge):
            return fail(
                "invalid_request",
                "code_challenge must be the base64url (no padding) SHA-256 of the code_verifier.",
            )
    pending = st.add_pending(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=granted_scope(requested, cfg.allowed_scopes),
        scope_requested=" ".join(requested),
        state=state,
        code_challenge=challenge,
    )
    user = _current_user()
    return _consent_page(pending, user) if user else _sign_in_page(pending)


@bp.post("/oauth/authorize/sign_in")
def sign_in() -> Any:
    check_csrf()
    st = store()
    pending = st.get_pending(request.form.get("request_id", ""))
    if pending is None:
        return _error_page(400, "Request expired", "Start the authorization again from the app.")
    user = st.user_by_email(request.form.get("email", ""))
    password = request.form.get("password", "")
    if user is None or not secrets.compare_digest(user.password, password):
        return _sign_in_page(pending, error="Incorrect email or password.")
    session["user_id"] = user.id
    session["auth_time"] = int(time.time())
    return redirect(url_for("identity.consent", request_id=pending.id), code=303)


@bp.get("/oauth/authorize/consent")
def consent() -> Any:
    pending = store().get_pending(request.args.get("request_id", ""))
    if pending is None:
        return _error_page(400, "Request expired", "Start the authorization again from the app.")
    user = _current_user()
    return _consent_page(pending, user) if user else _sign_in_page(pending)


@bp.post("/oauth/authorize/sign_out")
def sign_out() -> Any:
    check_csrf()
    session.pop("user_id", None)
    pending = store().get_pending(request.form.get("request_id", ""))
    if pending is None:
        return _error_page(200, "Signed out", "You are signed out of the PagerDuty sandbox.")
    return _sign_in_page(pending)


@bp.post("/oauth/authorize/decision")
def decision() -> Any:
    """Approve → redirect with ``code``; Deny → redirect with ``error=access_denied``."""
    check_csrf()
    st = store()
    user = _current_user()
    pending = st.get_pending(request.form.get("request_id", ""))
    if pending is None:
        return _error_page(400, "Request expired", "Start the authorization again from the app.")
    if user is None:
        return _sign_in_page(pending)
    st.pop_pending(pending.id)
    if request.form.get("decision") != "approve":
        return redirect(
            with_query(
                pending.redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": ACCESS_DENIED_DESCRIPTION,
                    "state": pending.state,
                },
            )
        )
    code = st.issue_code(pending, user, int(session.get("auth_time") or time.time()))
    return redirect(with_query(pending.redirect_uri, {"code": code.code, "state": pending.state}))


# ---------------------------------------------------------------------------- token endpoint
@bp.post("/oauth/token")
def token() -> Response:
    """Exchange an authorization code or a refresh token for tokens (``identity_token``)."""
    return exchange()


# ---------------------------------------------------------------------------- OpenID discovery
@bp.get("/global/oauth/anonymous/jwks")
def jwks() -> Response:
    return jsonify(sandbox().signer.jwks())


@bp.get("/global/oauth/anonymous/.well-known/openid-configuration")
def openid_configuration() -> Response:
    base = request.host_url.rstrip("/")
    return jsonify(
        issuer=issuer_url(),
        authorization_endpoint=base + url_for("identity.authorize"),
        token_endpoint=base + url_for("identity.token"),
        jwks_uri=base + url_for("identity.jwks"),
        response_types_supported=["code"],
        grant_types_supported=["authorization_code", "refresh_token"],
        code_challenge_methods_supported=["S256"],
        id_token_signing_alg_values_supported=["RS256"],
        token_endpoint_auth_methods_supported=["client_secret_post", "client_secret_basic", "none"],
        scopes_supported=sorted({"openid", *CLASSIC_SCOPES, *SCOPED_SCOPES}),
        subject_types_supported=["public"],
    )
