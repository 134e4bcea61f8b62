"""The identity host's token endpoint: client authentication, the authorization_code and
refresh_token grants, and the OAuth error and token responses they send.

``identity.py`` owns the blueprint and routes ``POST /oauth/token`` here (``exchange``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Any
from urllib.parse import unquote_plus

from flask import Response, jsonify, request, url_for

from .config import SCOPED_SCOPES
from .context import sandbox, store
from .idtoken import b64url

_VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def issuer_url() -> str:
    """The ``iss`` of ID tokens: this host's identity base + PagerDuty's issuer path (unless
    the config names another)."""
    if store().config.id_token_issuer:
        return store().config.id_token_issuer
    return request.host_url.rstrip("/") + url_for("identity.jwks").removesuffix("/jwks")


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


def exchange() -> Response:
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
