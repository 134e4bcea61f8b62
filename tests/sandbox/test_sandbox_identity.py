"""OAuth 2.0 authorization code flow with PKCE against the sandbox identity host."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from devtools.sandbox.testing import (
    REST_ACCEPT,
    SandboxProcess,
    pkce_pair,
    redirect_params,
)

CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"
REDIRECT_URI = "http://127.0.0.1:8000/integrations/pagerduty/callback"
US_EMAIL = "oncall@acme.example"
EU_EMAIL = "oncall@acme-eu.example"
PASSWORD = "correct-horse-sandbox"
ACCESS_DENIED = "The resource owner or authorization server denied the request."


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} in page:\n{html[:1500]}"
    return match.group(1)


def authorize_params(challenge: str | None, **overrides: str) -> dict[str, str]:
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "write",
        "state": "st-123",
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def get_code(
    sandbox: SandboxProcess, challenge: str | None, email: str = US_EMAIL, **extra: str
) -> str:
    location = sandbox.authorize(authorize_params(challenge, **extra), email=email)
    params = redirect_params(location)
    assert "code" in params, location
    return params["code"]


def exchange(
    sandbox: SandboxProcess, code: str, verifier: str | None, **overrides: str | None
) -> requests.Response:
    data: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "code": code,
        "code_verifier": verifier,
    }
    data.update(overrides)
    form = {k: v for k, v in data.items() if v is not None}
    return requests.post(f"{sandbox.identity_url}/oauth/token", data=form, timeout=10)


def assert_oauth_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str) and body["error_description"]


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_id_token(sandbox: SandboxProcess, token: str) -> dict[str, Any]:
    """Check the RS256 signature against the published JWKS; return the claims."""
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(b64d(header_b64))
    assert header["alg"] == "RS256"
    jwks = requests.get(f"{sandbox.identity_url}/global/oauth/anonymous/jwks", timeout=10).json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    public_key = rsa.RSAPublicNumbers(
        int.from_bytes(b64d(jwk["e"]), "big"), int.from_bytes(b64d(jwk["n"]), "big")
    ).public_key()
    public_key.verify(
        b64d(signature_b64),
        f"{header_b64}.{claims_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return json.loads(b64d(claims_b64))  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- authorize page
def test_sign_in_then_approve_redirects_with_code_and_state(sandbox: SandboxProcess) -> None:
    _, challenge = pkce_pair()
    http = requests.Session()
    url = f"{sandbox.identity_url}/oauth/authorize?{urlencode(authorize_params(challenge))}"
    page = http.get(url, timeout=10)
    assert page.status_code == 200
    assert 'name="password"' in page.text
    assert PASSWORD in page.text  # the sign-in page shows the sandbox password
    consent = http.post(
        f"{sandbox.identity_url}/oauth/authorize/sign_in",
        data={
            "csrf_token": _field(page.text, "csrf_token"),
            "request_id": _field(page.text, "request_id"),
            "email": US_EMAIL,
            "password": PASSWORD,
        },
        timeout=10,
    )
    assert consent.status_code == 200
    assert "Tripwire (sandbox app)" in consent.text
    assert "<code>write</code>" in consent.text  # requested scope is shown
    decision = http.post(
        f"{sandbox.identity_url}/oauth/authorize/decision",
        data={
            "csrf_token": _field(consent.text, "csrf_token"),
            "request_id": _field(consent.text, "request_id"),
            "decision": "approve",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert decision.status_code in (302, 303)
    location = decision.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = redirect_params(location)
    assert params["state"] == "st-123"
    assert params["code"] and "error" not in params


def test_deny_redirects_with_access_denied(sandbox: SandboxProcess) -> None:
    _, challenge = pkce_pair()
    location = sandbox.authorize(authorize_params(challenge), email=US_EMAIL, approve=False)
    assert location.startswith(REDIRECT_URI + "?")
    assert redirect_params(location) == {
        "error": "access_denied",
        "error_description": ACCESS_DENIED,
        "state": "st-123",
    }


def test_wrong_password_stays_on_sign_in_page(sandbox: SandboxProcess) -> None:
    http = requests.Session()
    _, challenge = pkce_pair()
    url = f"{sandbox.identity_url}/oauth/authorize?{urlencode(authorize_params(challenge))}"
    page = http.get(url, timeout=10)
    response = http.post(
        f"{sandbox.identity_url}/oauth/authorize/sign_in",
        data={
            "csrf_token": _field(page.text, "csrf_token"),
            "request_id": _field(page.text, "request_id"),
            "email": US_EMAIL,
            "password": "nope",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 200
    assert "Incorrect email or password" in response.text


def test_forms_require_the_csrf_token(sandbox: SandboxProcess) -> None:
    http = requests.Session()
    _, challenge = pkce_pair()
    url = f"{sandbox.identity_url}/oauth/authorize?{urlencode(authorize_params(challenge))}"
    page = http.get(url, timeout=10)
    response = http.post(
        f"{sandbox.identity_url}/oauth/authorize/sign_in",
        data={
            "csrf_token": "forged",
            "request_id": _field(page.text, "request_id"),
            "email": US_EMAIL,
            "password": PASSWORD,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "override",
    [
        {"client_id": "someone-else"},
        {"client_id": None},
        {"redirect_uri": "http://evil.example/callback"},
        {"redirect_uri": REDIRECT_URI + "/"},  # must match exactly
        {"redirect_uri": None},
    ],
)
def test_bad_client_or_redirect_uri_shows_error_page_never_redirects(
    sandbox: SandboxProcess, override: dict[str, str | None]
) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(challenge, **override)  # type: ignore[arg-type]
    response = requests.get(
        f"{sandbox.identity_url}/oauth/authorize",
        params=params,
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"]


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        # Scoped OAuth always needs PKCE.
        (
            {"scope": "services.read", "code_challenge": None, "code_challenge_method": None},
            "invalid_request",
        ),
    ],
)
def test_other_invalid_parameters_redirect_with_an_oauth_error(
    sandbox: SandboxProcess, override: dict[str, str | None], error: str
) -> None:
    _, challenge = pkce_pair()
    params = {k: v for k, v in {**authorize_params(challenge), **override}.items() if v is not None}
    response = requests.get(
        f"{sandbox.identity_url}/oauth/authorize",
        params=params,
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code in (302, 303)
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    got = redirect_params(location)
    assert got["error"] == error
    assert got["error_description"]
    assert got["state"] == "st-123"


def test_pkce_can_be_made_mandatory_for_classic_scopes(sandbox: SandboxProcess) -> None:
    params = authorize_params(None)  # Classic "write" without PKCE is allowed by default
    ok = requests.get(f"{sandbox.identity_url}/oauth/authorize", params=params, timeout=10)
    assert ok.status_code == 200
    sandbox.configure(require_pkce=True)
    response = requests.get(
        f"{sandbox.identity_url}/oauth/authorize",
        params=params,
        allow_redirects=False,
        timeout=10,
    )
    assert redirect_params(response.headers["Location"])["error"] == "invalid_request"


# ---------------------------------------------------------------------------- token endpoint
def test_code_exchange_returns_tokens_and_a_signed_id_token(
    sandbox: SandboxProcess, accounts: dict[str, Any]
) -> None:
    verifier, challenge = pkce_pair()
    response = exchange(sandbox, get_code(sandbox, challenge), verifier)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "openid write"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("pdus+_0")
    assert body["refresh_token"].startswith("pdus+_1")
    claims = verify_id_token(sandbox, body["id_token"])
    us = accounts["us"]
    user = us["users"][0]
    assert claims["aud"] == ["https://api.pagerduty.com", CLIENT_ID]
    assert claims["iss"] == f"{sandbox.identity_url}/global/oauth/anonymous"
    assert claims["sub"] == claims["user_id"] == user["id"]
    assert claims["account_id"] == us["id"]
    assert claims["subdomain"] == "acme-us"
    assert claims["region"] == "UnitedStates"
    assert claims["azp"] == CLIENT_ID
    assert claims["exp"] > claims["iat"] >= int(time.time()) - 5
    # The token works on the US REST host, and only there.
    headers = {"Authorization": f"Bearer {body['access_token']}", "Accept": REST_ACCEPT}
    me = requests.get(f"{sandbox.rest_url('us')}/users/me", headers=headers, timeout=10)
    assert me.json()["user"]["email"] == US_EMAIL
    eu = requests.get(f"{sandbox.rest_url('eu')}/users/me", headers=headers, timeout=10)
    assert eu.status_code == 401


def test_eu_user_gets_an_eu_audience(sandbox: SandboxProcess, accounts: dict[str, Any]) -> None:
    verifier, challenge = pkce_pair()
    body = exchange(sandbox, get_code(sandbox, challenge, email=EU_EMAIL), verifier).json()
    claims = verify_id_token(sandbox, body["id_token"])
    assert claims["aud"][0] == "https://api.eu.pagerduty.com"
    assert claims["subdomain"] == "acme-eu"
    assert claims["account_id"] == accounts["eu"]["id"]
    assert body["access_token"].startswith("pdeu+_")


def test_wrong_code_verifier_fails(sandbox: SandboxProcess) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    response = exchange(sandbox, get_code(sandbox, challenge), other_verifier)
    assert_oauth_error(response, 400, "invalid_grant")


def test_missing_code_verifier_fails_when_a_challenge_was_sent(sandbox: SandboxProcess) -> None:
    _, challenge = pkce_pair()
    assert_oauth_error(exchange(sandbox, get_code(sandbox, challenge), None), 400, "invalid_grant")


def test_reused_code_fails_and_revokes_what_it_issued(sandbox: SandboxProcess) -> None:
    verifier, challenge = pkce_pair()
    code = get_code(sandbox, challenge)
    first = exchange(sandbox, code, verifier)
    assert first.status_code == 200
    assert_oauth_error(exchange(sandbox, code, verifier), 400, "invalid_grant")
    headers = {"Authorization": f"Bearer {first.json()['access_token']}", "Accept": REST_ACCEPT}
    me = requests.get(f"{sandbox.rest_url('us')}/users/me", headers=headers, timeout=10)
    assert me.status_code == 401


def test_expired_code_fails(sandbox: SandboxProcess) -> None:
    sandbox.configure(code_lifetime=1)
    verifier, challenge = pkce_pair()
    code = get_code(sandbox, challenge)
    time.sleep(1.1)
    assert_oauth_error(exchange(sandbox, code, verifier), 400, "invalid_grant")


def test_code_is_valid_for_30_seconds_by_default(sandbox: SandboxProcess) -> None:
    assert sandbox.config()["code_lifetime"] == 30


def test_wrong_redirect_uri_fails(sandbox: SandboxProcess) -> None:
    verifier, challenge = pkce_pair()
    other = "http://localhost:8000/integrations/pagerduty/callback"  # registered, but not used
    response = exchange(sandbox, get_code(sandbox, challenge), verifier, redirect_uri=other)
    assert_oauth_error(response, 400, "invalid_grant")


def test_unknown_code_fails(sandbox: SandboxProcess) -> None:
    verifier, _ = pkce_pair()
    assert_oauth_error(exchange(sandbox, "not-a-code", verifier), 400, "invalid_grant")


def test_bad_client_secret_is_invalid_client(sandbox: SandboxProcess) -> None:
    verifier, challenge = pkce_pair()
    response = exchange(sandbox, get_code(sandbox, challenge), verifier, client_secret="wrong")
    assert_oauth_error(response, 401, "invalid_client")


def test_http_basic_client_authentication_is_accepted(sandbox: SandboxProcess) -> None:
    verifier, challenge = pkce_pair()
    code = get_code(sandbox, challenge)
    response = requests.post(
        f"{sandbox.identity_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT_URI,
            "code": code,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_token_request_must_be_form_encoded(sandbox: SandboxProcess) -> None:
    verifier, challenge = pkce_pair()
    response = requests.post(
        f"{sandbox.identity_url}/oauth/token",
        json={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT_URI,
            "code": get_code(sandbox, challenge),
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert response.status_code in (400, 401)


def test_non_confidential_client_must_use_pkce(sandbox: SandboxProcess) -> None:
    code = get_code(sandbox, None)  # classic scope, no PKCE
    assert_oauth_error(exchange(sandbox, code, None, client_secret=None), 400, "invalid_grant")
    verifier, challenge = pkce_pair()
    ok = exchange(sandbox, get_code(sandbox, challenge), verifier, client_secret=None)
    assert ok.status_code == 200, ok.text


def test_invalid_scope_is_granted_only_openid(sandbox: SandboxProcess) -> None:
    verifier, challenge = pkce_pair()
    code = get_code(sandbox, challenge, scope="write bogus.scope")
    assert exchange(sandbox, code, verifier).json()["scope"] == "openid"


def test_scoped_scopes_are_granted(sandbox: SandboxProcess) -> None:
    verifier, challenge = pkce_pair()
    code = get_code(sandbox, challenge, scope="services.read services.write")
    body = exchange(sandbox, code, verifier).json()
    assert body["scope"] == "openid services.read services.write"


def test_refresh_rotates_the_refresh_token(sandbox: SandboxProcess) -> None:
    verifier, challenge = pkce_pair()
    first = exchange(sandbox, get_code(sandbox, challenge), verifier).json()

    def refresh(token: str) -> requests.Response:
        return requests.post(
            f"{sandbox.identity_url}/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": token,
            },
            timeout=10,
        )

    second = refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert set(body) >= {"access_token", "refresh_token", "token_type", "scope", "expires_in"}
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["scope"] == "openid write"
    assert_oauth_error(refresh(first["refresh_token"]), 400, "invalid_grant")  # rotated out
    assert refresh(body["refresh_token"]).status_code == 200
    headers = {"Authorization": f"Bearer {body['access_token']}", "Accept": REST_ACCEPT}
    me = requests.get(f"{sandbox.rest_url('us')}/users/me", headers=headers, timeout=10)
    assert me.status_code == 200


def test_refresh_requires_the_client_secret(sandbox: SandboxProcess) -> None:
    tokens = sandbox.issue_token(US_EMAIL)
    response = requests.post(
        f"{sandbox.identity_url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "refresh_token": tokens["refresh_token"],
        },
        timeout=10,
    )
    assert_oauth_error(response, 401, "invalid_client")


def test_unsupported_grant_type(sandbox: SandboxProcess) -> None:
    response = requests.post(
        f"{sandbox.identity_url}/oauth/token",
        data={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=10,
    )
    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_openid_configuration_points_at_this_host(sandbox: SandboxProcess) -> None:
    config = requests.get(
        f"{sandbox.identity_url}/global/oauth/anonymous/.well-known/openid-configuration",
        timeout=10,
    ).json()
    assert config["token_endpoint"] == f"{sandbox.identity_url}/oauth/token"
    assert config["authorization_endpoint"] == f"{sandbox.identity_url}/oauth/authorize"
    assert config["code_challenge_methods_supported"] == ["S256"]


def test_requests_oauthlib_client_completes_the_flow(sandbox, monkeypatch) -> None:
    """The library the product uses: Basic client auth (unencoded), PKCE, scope 'openid write'."""
    from requests_oauthlib import OAuth2Session

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox is plain HTTP
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")  # PagerDuty adds "openid"
    oauth = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI, scope=["write"], pkce="S256")
    url, state = oauth.authorization_url(f"{sandbox.identity_url}/oauth/authorize")
    location = sandbox.authorize(redirect_params(url), email=US_EMAIL)
    assert redirect_params(location)["state"] == state
    token = oauth.fetch_token(
        f"{sandbox.identity_url}/oauth/token",
        authorization_response=location,
        client_secret=CLIENT_SECRET,
    )
    assert token["scope"] == ["openid", "write"]
    me = oauth.get(f"{sandbox.rest_url('us')}/users/me", headers={"Accept": REST_ACCEPT})
    assert me.json()["user"]["email"] == US_EMAIL
