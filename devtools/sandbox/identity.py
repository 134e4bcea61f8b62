"""identity.pagerduty.com stand-in: OAuth 2.0 authorization code flow with PKCE."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, jsonify, redirect, render_template, request, session, url_for

from .config import CLASSIC_SCOPES, SCOPED_SCOPES
from .context import sandbox, store
from .idtoken import b64url
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
_VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def issuer_url() -> str:
    """The ``iss`` of ID tokens: this host's identity base + PagerDuty's issuer path (unless
    the config names another)."""
    if store().config.id_token_issuer:
        return store().config.id_token_issuer
    return request.host_url.rstrip("/") + url_for("identity.jwks").removesuffix("/jwks")


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
def oauth_error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="identity.pagerduty.com"'
    return response


def _token_response(payload: dict[str, Any]) -> Response:
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _basic_value(raw: str, expected: str) -> str:
    """RFC 6749 form-encodes Basic credentials; many clients (requests-oauthlib) do not."""
    decoded = unquote_plus(raw)
    return decoded if secrets.compare_digest(decoded, expected) else raw


def _client_credentials() -> tuple[str | None, str | None] | Response:
    """client_id/secret from HTTP Basic or the form body (not both)."""
    form = request.form
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        if form.get("client_secret") is not None:
            return oauth_error("invalid_request", "Use only one client authentication method.")
        cfg = store().config
        client_id = _basic_value(auth.username or "", cfg.client_id)
        if form.get("client_id") not in (None, client_id):
            return oauth_error("invalid_request", "client_id does not match the Basic credentials.")
        return client_id, _basic_value(auth.password or "", cfg.client_secret)
    return form.get("client_id"), form.get("client_secret")


@bp.post("/oauth/token")
def token() -> Response:
    """Exchange an authorization code or a refresh token for tokens."""
    st = store()
    cfg = st.config
    creds = _client_credentials()
    if isinstance(creds, Response):
        return creds
    client_id, client_secret = creds
    if not client_id or not secrets.compare_digest(client_id, cfg.client_id):
        return oauth_error("invalid_client", "Client authentication failed: unknown client.", 401)
    if client_secret is not None and not secrets.compare_digest(client_secret, cfg.client_secret):
        return oauth_error(
            "invalid_client", "Client authentication failed: bad client_secret.", 401
        )
    grant_type = request.form.get("grant_type")
    if not grant_type:
        return oauth_error(
            "invalid_request",
            "Missing grant_type (send application/x-www-form-urlencoded parameters).",
        )
    if grant_type == "authorization_code":
        return _authorization_code_grant(client_id, confidential=client_secret is not None)
    if grant_type == "refresh_token":
        if client_secret is None:
            return oauth_error("invalid_client", "client_secret is required to refresh.", 401)
        return _refresh_token_grant(client_id)
    return oauth_error("unsupported_grant_type", f"Unsupported grant_type '{grant_type}'.")


def _authorization_code_grant(client_id: str, confidential: bool) -> Response:
    ctx = sandbox()
    st = ctx.store
    form = request.form
    value = form.get("code")
    if not value:
        return oauth_error("invalid_request", "Missing required parameter: code.")
    with st.lock:
        code = st.codes.get(value)
        if code is None or code.client_id != client_id:
            return oauth_error("invalid_grant", "The authorization code is invalid.")
        if code.used:
            if code.delegation_id:
                st.revoke_delegation(code.delegation_id)
            return oauth_error("invalid_grant", "The authorization code has already been used.")
        if time.time() >= code.expires_at:
            return oauth_error("invalid_grant", "The authorization code has expired.")
        if form.get("redirect_uri") != code.redirect_uri:
            return oauth_error(
                "invalid_grant", "redirect_uri does not match the one used to authorize."
            )
        verifier = form.get("code_verifier")
        if code.code_challenge is not None:
            if not verifier or not _VERIFIER_RE.fullmatch(verifier):
                return oauth_error("invalid_grant", "A valid code_verifier is required.")
            computed = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
            if not secrets.compare_digest(computed, code.code_challenge):
                return oauth_error("invalid_grant", "code_verifier does not match code_challenge.")
        elif not confidential:
            return oauth_error("invalid_grant", "Clients without a client_secret must use PKCE.")
        if not confidential and any(s in SCOPED_SCOPES for s in code.scope.split()):
            return oauth_error("invalid_client", "Scoped OAuth apps must send client_secret.", 401)
        code.used = True
        user = st.users[code.user_id]
        account = st.account_for_user(user)
        delegation = st.create_delegation(client_id, user, code.scope, code.auth_time)
        code.delegation_id = delegation.id
        access, refresh = st.issue_tokens(delegation)
        lifetime = st.config.token_lifetime
    id_token = ctx.signer.id_token(
        issuer=issuer_url(),
        client_id=client_id,
        region=account.region,
        account_id=account.id,
        subdomain=account.subdomain,
        user_id=user.id,
        access_token=access.value,
        delegation_id=delegation.id,
        auth_time=code.auth_time,
        lifetime=lifetime,
    )
    return _token_response(
        {
            "id_token": id_token,
            "token_type": "bearer",
            "access_token": access.value,
            "refresh_token": refresh.value,
            "scope": delegation.scope,
            "expires_in": lifetime,
        }
    )


def _refresh_token_grant(client_id: str) -> Response:
    st = store()
    value = request.form.get("refresh_token")
    if not value:
        return oauth_error("invalid_request", "Missing required parameter: refresh_token.")
    with st.lock:
        old = st.token(value, "refresh")
        delegation = st.delegations.get(old.delegation_id) if old else None
        if old is None or delegation is None or not old.usable() or delegation.revoked:
            return oauth_error("invalid_grant", "The refresh token is invalid, expired or revoked.")
        if delegation.client_id != client_id:
            return oauth_error("invalid_grant", "The refresh token was issued to another client.")
        old.revoked = True  # rotation: each refresh token works once
        access, refresh = st.issue_tokens(delegation)
        lifetime = st.config.token_lifetime
    return _token_response(
        {
            "token_type": "bearer",
            "access_token": access.value,
            "refresh_token": refresh.value,
            "scope": delegation.scope,
            "expires_in": lifetime,
        }
    )


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
