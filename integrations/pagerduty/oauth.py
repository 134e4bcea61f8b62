"""OAuth 2.0 authorization code flow with PKCE (S256) against PagerDuty's identity host.

The state and the PKCE verifier live in the user's session, bound to the user and the
organization that started the flow; a state works once and for a few minutes only.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests import RequestException
from requests_oauthlib import OAuth2Session

from integrations.pagerduty import conf

SESSION_KEY = "pagerduty_oauth"
STATE_LIFETIME = 600  # seconds between "Connect PagerDuty" and the callback
MAX_PENDING = 5


class OAuthFlowError(Exception):
    """The flow cannot go on; the message is for the person."""


@dataclass
class PendingAuthorization:
    """What the session remembers between the redirect to PagerDuty and the callback."""

    state: str
    code_verifier: str
    user_id: int
    organization_id: int
    redirect_uri: str
    created: float
    return_to: str
    draft: dict[str, Any] = field(default_factory=dict)


def start(
    session: SessionBase,
    *,
    user_id: int,
    organization_id: int,
    redirect_uri: str,
    return_to: str,
    draft: dict[str, Any] | None = None,
) -> str:
    """Remember a new pending authorization and return PagerDuty's authorize URL."""
    client = WebApplicationClient(settings.PAGERDUTY_CLIENT_ID)
    verifier = client.create_code_verifier(96)
    challenge = client.create_code_challenge(verifier, "S256")
    state = secrets.token_urlsafe(32)
    oauth = OAuth2Session(
        settings.PAGERDUTY_CLIENT_ID, redirect_uri=redirect_uri, scope=settings.PAGERDUTY_SCOPE
    )
    url, _ = oauth.authorization_url(
        conf.authorize_url(),
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    pending = _pending(session)
    pending[state] = PendingAuthorization(
        state=state,
        code_verifier=verifier,
        user_id=user_id,
        organization_id=organization_id,
        redirect_uri=redirect_uri,
        created=time.time(),
        return_to=return_to,
        draft=draft or {},
    ).__dict__
    # Keep only the newest few, so abandoned attempts don't pile up in the session.
    for old in sorted(pending, key=lambda s: pending[s]["created"])[:-MAX_PENDING]:
        del pending[old]
    session[SESSION_KEY] = pending
    return url


def _pending(session: SessionBase) -> dict[str, dict[str, Any]]:
    return dict(session.get(SESSION_KEY) or {})


def consume(session: SessionBase, state: str | None, user_id: int) -> PendingAuthorization:
    """Take the pending authorization for `state` out of the session: it works once."""
    pending = _pending(session)
    data = pending.pop(state or "", None)
    session[SESSION_KEY] = pending
    if not state:
        raise OAuthFlowError("The reply from PagerDuty had no state parameter.")
    if data is None:
        raise OAuthFlowError(
            "This PagerDuty authorization is not one this browser started, or it was already "
            "used. Start again from Settings / Integrations."
        )
    auth = PendingAuthorization(**data)
    if auth.user_id != user_id:
        raise OAuthFlowError("This PagerDuty authorization was started by another user.")
    if time.time() - auth.created > STATE_LIFETIME:
        raise OAuthFlowError(
            "This PagerDuty authorization took too long and has expired. Start again."
        )
    return auth


@dataclass(frozen=True)
class Grant:
    """Tokens from PagerDuty, with what the id_token says about the account."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    region: str
    account_id: str
    subdomain: str
    user_id: str
    claims: dict[str, Any]


def exchange_code(auth: PendingAuthorization, code: str) -> Grant:
    oauth = OAuth2Session(settings.PAGERDUTY_CLIENT_ID, redirect_uri=auth.redirect_uri)
    try:
        token = oauth.fetch_token(
            conf.token_url(),
            code=code,
            client_secret=settings.PAGERDUTY_CLIENT_SECRET,
            include_client_id=True,
            code_verifier=auth.code_verifier,
            timeout=settings.PAGERDUTY_HTTP_TIMEOUT,
        )
    except OAuth2Error as exc:
        raise OAuthFlowError(
            f"PagerDuty refused the authorization: {exc.description or exc.error}. "
            "Nothing was saved; try connecting again."
        ) from exc
    except (RequestException, ValueError) as exc:
        raise OAuthFlowError(
            "PagerDuty could not be reached to finish the connection. Nothing was saved; "
            "try again in a minute."
        ) from exc
    return _grant(token)


def refresh(refresh_token: str) -> dict[str, Any]:
    """Exchange a refresh token for new tokens (PagerDuty rotates the refresh token)."""
    oauth = OAuth2Session(settings.PAGERDUTY_CLIENT_ID)
    return oauth.refresh_token(
        conf.token_url(),
        refresh_token=refresh_token,
        client_id=settings.PAGERDUTY_CLIENT_ID,
        client_secret=settings.PAGERDUTY_CLIENT_SECRET,
        include_client_id=True,
        timeout=settings.PAGERDUTY_HTTP_TIMEOUT,
    )


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of the id_token.

    The token comes straight from the token endpoint over TLS, so (as OpenID Connect Core
    3.1.3.7 allows) its signature is not checked; its audience and expiry are.
    """
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise OAuthFlowError("PagerDuty's id_token could not be read.") from exc
    if not isinstance(claims, dict):
        raise OAuthFlowError("PagerDuty's id_token could not be read.")
    if claims.get("exp", 0) < time.time() - 60:
        raise OAuthFlowError("PagerDuty's id_token has expired. Try connecting again.")
    return claims


def _grant(token: dict[str, Any]) -> Grant:
    claims = id_token_claims(token.get("id_token", ""))
    audiences = claims.get("aud") or []
    audiences = [audiences] if isinstance(audiences, str) else list(audiences)
    region = conf.region_for_audience(audiences)
    if region is None:
        raise OAuthFlowError("PagerDuty answered for a service region this site is not set up for.")
    client_id = settings.PAGERDUTY_CLIENT_ID
    if client_id not in audiences and claims.get("azp") != client_id:
        raise OAuthFlowError("PagerDuty's id_token was issued to another app.")
    if not claims.get("subdomain") or not claims.get("account_id"):
        raise OAuthFlowError("PagerDuty's id_token does not say which account it is for.")
    return Grant(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token", ""),
        expires_in=int(token.get("expires_in") or 0),
        scope=" ".join(token["scope"])
        if isinstance(token.get("scope"), list)
        else str(token.get("scope", "")),
        region=region,
        account_id=str(claims.get("account_id") or ""),
        subdomain=str(claims.get("subdomain") or ""),
        user_id=str(claims.get("user_id") or claims.get("sub") or ""),
        claims=claims,
    )
