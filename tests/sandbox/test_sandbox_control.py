"""Control API and process helpers used by the rest of the test suite."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from devtools.sandbox.testing import SandboxProcess, pkce_pair, redirect_params


def test_seed_is_deterministic_and_reset_restores_it(sandbox, accounts, rest_us) -> None:
    service = accounts["us"]["services"][0]
    body = {"integration": {"type": "events_api_v2_inbound_integration", "name": "Temp"}}
    assert rest_us.post(f"/services/{service['id']}/integrations", json=body).status_code == 201
    sandbox.configure(events_rate_limit=1)
    sandbox.reset()
    assert sandbox.accounts() == [accounts["us"], accounts["eu"]]
    assert sandbox.config()["events_rate_limit"] == 120


def test_seed_shape(accounts) -> None:
    us, eu = accounts["us"], accounts["eu"]
    assert (us["subdomain"], us["region"]) == ("acme-us", "us")
    assert (eu["subdomain"], eu["region"]) == ("acme-eu", "eu")
    assert len([t for t in us["teams"]]) >= 3
    assert sum(s["name"].startswith("Checkout API ") for s in us["services"]) == 130
    assert 3 <= len(eu["services"]) < 10
    assert us["users"][0]["email"] == "oncall@acme.example"
    assert eu["users"][0]["email"] == "oncall@acme-eu.example"


def test_config_rejects_unknown_or_bad_values(sandbox) -> None:
    for body in ({"client_secret": "x"}, {"token_lifetime": -1}, {"require_pkce": "yes"}):
        response = requests.post(f"{sandbox.url}/_sandbox/config", json=body, timeout=5)
        assert response.status_code == 400, body


def test_event_filters(sandbox, events_post, trigger, us_key, eu_key) -> None:
    events_post(trigger(us_key, dedup_key="a"))
    events_post(trigger(us_key, dedup_key="b"))
    events_post(trigger(eu_key, dedup_key="a"), region="eu")
    assert len(sandbox.events()) == 3
    assert len(sandbox.events(dedup_key="a")) == 2
    assert len(sandbox.events(host="events-eu")) == 1
    assert len(sandbox.events(routing_key=us_key, dedup_key="b")) == 1
    assert len(sandbox.alerts(status="triggered")) == 3


def test_authorize_helper_drives_the_browser_flow(sandbox) -> None:
    _, challenge = pkce_pair()
    location = sandbox.authorize(
        {
            "client_id": "sandbox-client-id",
            "redirect_uri": "http://localhost:8000/integrations/pagerduty/callback",
            "response_type": "code",
            "scope": "read",
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        email="oncall@acme-eu.example",
    )
    assert location.startswith("http://localhost:8000/integrations/pagerduty/callback?")
    assert redirect_params(location)["state"] == "xyz"


def test_environment_configures_the_client(tmp_path) -> None:
    env = {
        "SANDBOX_CLIENT_ID": "custom-id",
        "SANDBOX_CLIENT_SECRET": "custom-secret",
        "SANDBOX_REDIRECT_URIS": "https://app.example/cb, https://app.example/cb2",
        "SANDBOX_TOKEN_LIFETIME": "120",
        "SANDBOX_CODE_LIFETIME": "5",
    }
    with SandboxProcess(env=env, log_path=tmp_path / "sandbox.log") as proc:
        config = proc.config()
    assert config["client_id"] == "custom-id"
    assert config["client_secret"] == "custom-secret"
    assert config["redirect_uris"] == ["https://app.example/cb", "https://app.example/cb2"]
    assert (config["token_lifetime"], config["code_lifetime"]) == (120, 5)


def test_module_cli_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devtools.sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "--port" in result.stdout and "--host" in result.stdout


def test_control_api_errors_are_json(sandbox) -> None:
    response = requests.get(f"{sandbox.url}/_sandbox/nope", timeout=5)
    assert response.status_code == 404
    assert "error" in response.json()


@pytest.mark.parametrize("which", [{"all": True}])
def test_expire_all_tokens(sandbox, rest_factory, which) -> None:
    tokens = [sandbox.issue_token("oncall@acme.example") for _ in range(2)]
    assert sandbox.expire_tokens(**which) == 4  # access + refresh of each grant
    for t in tokens:
        rest = rest_factory("us", f"Bearer {t['access_token']}")
        assert rest.get("/users/me").status_code == 401
