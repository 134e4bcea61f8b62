"""The read beat's access check makes (GET /services?limit=1), as PagerDuty publishes it:
one service at most for a working token, 401 once the grant is revoked (its refresh token
refused too), 403 for a token without `services.read`."""

from __future__ import annotations

from typing import Any

import requests

from devtools.sandbox.testing import SandboxProcess

US_EMAIL = "oncall@acme.example"


def _refresh(sandbox: SandboxProcess, token: str) -> requests.Response:
    return requests.post(
        f"{sandbox.identity_url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "sandbox-client-id",
            "client_secret": "sandbox-client-secret",
            "refresh_token": token,
        },
        timeout=10,
    )


def test_a_working_token_reads_one_service(rest_us: Any, contract: Any) -> None:
    body = contract.rest(rest_us.get("/services", params={"limit": 1}))
    assert body["limit"] == 1 and len(body["services"]) == 1 and body["more"] is True


def test_a_revoked_grant_is_401_and_its_refresh_refused(
    sandbox: SandboxProcess, rest_us: Any, us_tokens: dict[str, Any], contract: Any
) -> None:
    assert sandbox.revoke_tokens(access_token=us_tokens["access_token"]) == 1
    contract.rest_error(rest_us.get("/services", params={"limit": 1}), 401, 2006)
    refused = _refresh(sandbox, us_tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_a_token_without_services_read_is_403(
    sandbox: SandboxProcess, rest_factory: Any, contract: Any
) -> None:
    token = sandbox.issue_token(US_EMAIL, "oncalls.read")["access_token"]
    rest = rest_factory("us", f"Bearer {token}")
    error = contract.rest_error(rest.get("/services", params={"limit": 1}), 403, 2010)
    assert "services.read" in " ".join(error["errors"])
