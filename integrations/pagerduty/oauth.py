"""OAuth 2.0 authorization code flow with PKCE (S256) against PagerDuty's identity host.

This module speaks the protocol only: the authorize URL, the code exchange, refreshing, and
reading the id_token. What a browser keeps between the redirect and the callback (state,
verifier, where to return) is `flow.ConnectFlow`'s.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests import RequestException
from requests_oauthlib import OAuth2Session

from integrations.pagerduty import conf


class OAuthFlowError(Exception):
    """The flow cannot go on; the message is for the person."""


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and the secrets the callback will need."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str


def authorization_request(redirect_uri: str) -> AuthorizationRequest:
    """A fresh state and PKCE verifier, and PagerDuty's authorize URL carrying them."""
    client = WebApplicationClient(settings.PAGERDUTY_CLIENT_ID)
    verifier = client.create_code_verifier(96)
    challenge = client.create_code_challenge(verifier, "S256")
    state = secrets.token_urlsafe(32)
    session = OAuth2Session(
        settings.PAGERDUTY_CLIENT_ID, redirect_uri=redirect_uri, scope=settings.PAGERDUTY_SCOPE
    )
    url, _ = session.authorization_url(
        conf.authorize_url(),
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    return AuthorizationRequest(
        url=url, state=state, code_verifier=verifier, redirect_uri=redirect_uri
    )


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


def exchange_code(code: str, *, code_verifier: str, redirect_uri: str) -> Grant:
    """The tokens for an authorization code; the verifier proves we started the flow."""
    oauth = OAuth2Session(settings.PAGERDUTY_CLIENT_ID, redirect_uri=redirect_uri)
    try:
        token = oauth.fetch_token(
            conf.token_url(),
            code=code,
            client_secret=settings.PAGERDUTY_CLIENT_SECRET,
            include_client_id=True,
            code_verifier=code_verifier,
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
    3.1.3.7 allows) its signature is not checked; its issuer, audience and expiry are.
    """
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise OAuthFlowError("PagerDuty's id_token could not be read.") from exc
    if not isinstance(claims, dict):
        raise OAuthFlowError("PagerDuty's id_token could not be read.")
    if claims.get("iss") != conf.id_token_issuer():
        raise OAuthFlowError(
            "PagerDuty's answer came from an identity host this site does not trust, so "
            "nothing was connected. Try connecting again."
        )
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
