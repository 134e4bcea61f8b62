"""Injected faults: 500, 429, hang, drop and refuse (events) for each PagerDuty host."""

from __future__ import annotations

import time

import pytest
import requests

from devtools.sandbox.testing import REST_ACCEPT

US_EMAIL = "oncall@acme.example"


@pytest.fixture
def call(sandbox, us_key, trigger):
    """``call(host, timeout=5)`` makes one representative request to that host."""
    tokens = sandbox.issue_token(US_EMAIL)

    def do(host: str, timeout: float = 5) -> requests.Response:
        if host.startswith("events-"):
            region = host[-2:]
            key = (
                us_key
                if region == "us"
                else sandbox.add_integration(sandbox.account("eu")["services"][0]["id"])[
                    "integration_key"
                ]
            )
            return requests.post(
                f"{sandbox.events_url(region)}/v2/enqueue", json=trigger(key), timeout=timeout
            )
        if host.startswith("rest-"):
            token = tokens["access_token"]
            if host == "rest-eu":
                token = sandbox.issue_token("oncall@acme-eu.example")["access_token"]
            headers = {"Authorization": f"Bearer {token}", "Accept": REST_ACCEPT}
            return requests.get(
                f"{sandbox.rest_url(host[-2:])}/users/me", headers=headers, timeout=timeout
            )
        return requests.post(
            f"{sandbox.identity_url}/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
                "refresh_token": tokens["refresh_token"],
            },
            timeout=timeout,
        )

    return do


HOSTS = ["events-us", "events-eu", "rest-us", "rest-eu", "identity"]


@pytest.mark.parametrize("host", HOSTS)
def test_500_fault_fails_the_next_request_only(sandbox, call, host) -> None:
    sandbox.fault(host, "500")
    failed = call(host)
    assert failed.status_code == 500
    if host.startswith("rest-"):
        assert failed.json()["error"]["code"] == 2000
    elif host.startswith("events-"):
        assert failed.json()["status"] == "Internal Server Error"
    else:
        assert failed.json()["error"] == "server_error"
    assert call(host).status_code == (202 if host.startswith("events-") else 200)


def test_faults_only_hit_their_own_host(sandbox, call) -> None:
    sandbox.fault("events-eu", "500")
    assert call("events-us").status_code == 202
    assert call("rest-us").status_code == 200
    assert call("events-eu").status_code == 500


def test_fault_count(sandbox, call) -> None:
    sandbox.fault("events-us", "500", count=2)
    assert [call("events-us").status_code for _ in range(3)] == [500, 500, 202]


def test_429_fault_on_rest_carries_ratelimit_headers(sandbox, call) -> None:
    sandbox.fault("rest-us", "429")
    response = call("rest-us")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == 2020
    assert response.headers["ratelimit-remaining"] == "0"
    assert int(response.headers["ratelimit-reset"]) > 0


def test_429_fault_on_events(sandbox, call, us_key) -> None:
    sandbox.fault("events-us", "429")
    assert call("events-us").status_code == 429
    assert sandbox.alerts(routing_key=us_key) == []  # the event was not ingested
    assert call("events-us").status_code == 202


def test_hang_outlasts_a_client_timeout(sandbox, call) -> None:
    sandbox.fault("events-us", "hang", seconds=3)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        call("events-us", timeout=0.5)
    assert time.monotonic() - started < 2
    assert call("events-us").status_code == 202  # only one request hangs


def test_hang_on_identity(sandbox, call) -> None:
    sandbox.fault("identity", "hang", seconds=3)
    with pytest.raises(requests.Timeout):
        call("identity", timeout=0.3)


def test_short_hang_delays_then_answers_normally(sandbox, call) -> None:
    sandbox.fault("identity", "hang", seconds=0.3)
    started = time.monotonic()
    assert call("identity", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("host", HOSTS)
def test_drop_closes_the_connection_without_a_response(sandbox, call, host) -> None:
    sandbox.fault(host, "drop")
    with pytest.raises(requests.ConnectionError):
        call(host)
    assert call(host).status_code in (200, 202)
    logged = [r for r in sandbox.requests_log(host) if r["status_code"] == 0]
    assert len(logged) == 1


def test_dropped_event_is_recorded_but_not_ingested(sandbox, call, us_key) -> None:
    sandbox.fault("events-us", "drop")
    with pytest.raises(requests.ConnectionError):
        call("events-us")
    (event,) = sandbox.events(routing_key=us_key)
    assert event["outcome"] == "fault: drop"
    assert event["status_code"] == 0
    assert us_key in event["raw"]
    assert sandbox.alerts(routing_key=us_key) == []


def test_faults_are_listed_and_cleared(sandbox) -> None:
    sandbox.fault("rest-eu", "500", count=3)
    listed = requests.get(f"{sandbox.url}/_sandbox/faults", timeout=5).json()["faults"]
    assert [(f["host"], f["mode"], f["remaining"]) for f in listed] == [("rest-eu", "500", 3)]
    sandbox.clear_faults()
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=5).json()["faults"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"host": "events-mars", "mode": "500"},
        {"host": "rest-us", "mode": "teapot"},
        {"host": "rest-us", "mode": "500", "count": 0},
        {"host": "rest-us", "mode": "hang"},
    ],
)
def test_invalid_fault_requests_are_rejected(sandbox, body) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/faults", json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]


def test_refuse_fault_answers_as_for_an_unknown_routing_key_once(sandbox, call, us_key) -> None:
    sandbox.fault("events-us", "refuse")
    refused = call("events-us")
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        "Invalid routing key: no integration with this key in this region."
    ]
    assert sandbox.alerts(routing_key=us_key) == []  # the event was not ingested
    assert call("events-us").status_code == 202  # the same key works again


def test_refuse_fault_is_for_events_hosts_only(sandbox) -> None:
    with pytest.raises(RuntimeError, match="events hosts only"):
        sandbox.fault("rest-us", "refuse")
