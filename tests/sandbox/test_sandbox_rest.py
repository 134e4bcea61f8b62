"""REST API v2 subset: auth, scopes, pagination, services, integrations, webhooks, limits."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from devtools.sandbox.testing import REST_ACCEPT, SandboxProcess

US_EMAIL = "oncall@acme.example"
CHECKOUT_COUNT = 130
ID_RE = re.compile(r"P[A-Z0-9]{6}")


def us_service(accounts: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in accounts["us"]["services"] if s["name"] == name)


# ---------------------------------------------------------------------------- users/me
def test_users_me_matches_the_published_schema(rest_us, contract, accounts) -> None:
    response = rest_us.get("/users/me")
    assert response.status_code == 200
    user = contract.rest(response)["user"]
    assert user["email"] == US_EMAIL
    assert user["id"] == accounts["us"]["users"][0]["id"]
    assert user["html_url"] == f"https://acme-us.pagerduty.com/users/{user['id']}"


def test_users_me_on_the_eu_host(rest_eu, contract) -> None:
    user = contract.rest(rest_eu.get("/users/me"))["user"]
    assert user["email"] == "oncall@acme-eu.example"
    assert user["self"].startswith("https://api.eu.pagerduty.com/")


def test_eu_services_use_eu_urls(rest_eu, contract, accounts) -> None:
    body = contract.rest(rest_eu.get("/services", params={"total": "true"}))
    assert body["total"] == len(accounts["eu"]["services"])
    for service in body["services"]:
        assert service["html_url"] == (
            f"https://acme-eu.eu.pagerduty.com/service-directory/{service['id']}"
        )
        assert service["self"] == f"https://api.eu.pagerduty.com/services/{service['id']}"


def test_users_me_is_not_available_to_account_api_keys(rest_factory, accounts, contract) -> None:
    rest = rest_factory("us", f"Token token={accounts['us']['api_key']}")
    contract.rest_error(rest.get("/users/me"), 400, 2001)
    assert rest.get("/services").status_code == 200  # the key itself is fine


# ---------------------------------------------------------------------------- auth & headers
def test_missing_accept_header_is_rejected(sandbox, us_tokens, contract) -> None:
    url = f"{sandbox.rest_url('us')}/services"
    auth = {"Authorization": f"Bearer {us_tokens['access_token']}"}
    error = contract.rest_error(requests.get(url, headers=auth, timeout=10), 400, 2001)
    assert "Accept" in error["errors"][0]
    wrong = {**auth, "Accept": "application/vnd.pagerduty+json;version=1"}
    contract.rest_error(requests.get(url, headers=wrong, timeout=10), 400, 2001)
    spaced = {**auth, "Accept": "application/vnd.pagerduty+json; version=2"}
    assert requests.get(url, headers=spaced, timeout=10).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-token",
        "Token token=wrong-key",
        "Token wrong-format",
        "Basic Zm9vOmJhcg==",
    ],
)
def test_bad_credentials_are_401(rest_factory, contract, authorization) -> None:
    contract.rest_error(rest_factory("us", authorization).get("/services"), 401, 2006)


def test_expired_token_is_401(sandbox, rest_us, us_tokens, contract) -> None:
    assert rest_us.get("/users/me").status_code == 200
    assert sandbox.expire_tokens(access_token=us_tokens["access_token"]) == 1
    contract.rest_error(rest_us.get("/users/me"), 401, 2006)


def test_token_lifetime_is_honoured(sandbox, rest_factory, contract) -> None:
    import time

    sandbox.configure(token_lifetime=1)
    tokens = sandbox.issue_token(US_EMAIL)
    assert tokens["expires_in"] == 1
    rest = rest_factory("us", f"Bearer {tokens['access_token']}")
    assert rest.get("/users/me").status_code == 200
    time.sleep(1.1)
    contract.rest_error(rest.get("/users/me"), 401, 2006)


def test_revoked_token_is_401(sandbox, rest_us, us_tokens, contract) -> None:
    sandbox.revoke_tokens(access_token=us_tokens["access_token"])
    contract.rest_error(rest_us.get("/users/me"), 401, 2006)


def test_us_credentials_do_not_work_on_the_eu_host(
    rest_factory, us_tokens, accounts, contract
) -> None:
    contract.rest_error(
        rest_factory("eu", f"Bearer {us_tokens['access_token']}").get("/services"), 401, 2006
    )
    key = accounts["us"]["api_key"]
    contract.rest_error(rest_factory("eu", f"Token token={key}").get("/services"), 401, 2006)


# ---------------------------------------------------------------------------- scopes
def test_read_scope_can_read_but_not_write(sandbox, rest_factory, accounts, contract) -> None:
    rest = rest_factory("us", f"Bearer {sandbox.issue_token(US_EMAIL, 'read')['access_token']}")
    assert rest.get("/services").status_code == 200
    service = us_service(accounts, "Checkout API 001")
    body = {"integration": {"type": "events_api_v2_inbound_integration", "name": "X"}}
    contract.rest_error(rest.post(f"/services/{service['id']}/integrations", json=body), 403, 2010)


def test_scoped_tokens_need_the_endpoint_scope(sandbox, rest_factory, accounts, contract) -> None:
    token = sandbox.issue_token(US_EMAIL, "services.read")["access_token"]
    rest = rest_factory("us", f"Bearer {token}")
    assert rest.get("/services").status_code == 200
    assert rest.get("/users/me").status_code == 200  # no scope is documented for /users/me
    service = us_service(accounts, "Checkout API 001")
    body = {"integration": {"type": "events_api_v2_inbound_integration", "name": "X"}}
    contract.rest_error(rest.post(f"/services/{service['id']}/integrations", json=body), 403, 2010)
    contract.rest_error(rest.get("/webhook_subscriptions"), 403, 2010)
    writer = rest_factory(
        "us", f"Bearer {sandbox.issue_token(US_EMAIL, 'services.write')['access_token']}"
    )
    created = writer.post(f"/services/{service['id']}/integrations", json=body)
    assert created.status_code == 201
    contract.rest_error(writer.get("/services"), 403, 2010)  # write does not imply read


def test_openid_only_token_cannot_list_services(sandbox, rest_factory, contract) -> None:
    token = sandbox.issue_token(US_EMAIL, "bogus")["access_token"]  # grants only openid
    contract.rest_error(rest_factory("us", f"Bearer {token}").get("/services"), 403, 2010)


# ---------------------------------------------------------------------------- services & paging
def test_services_default_page(rest_us, contract) -> None:
    body = contract.rest(rest_us.get("/services"))
    assert body["limit"] == 25 and body["offset"] == 0
    assert body["more"] is True
    assert body["total"] is None
    assert len(body["services"]) == 25
    names = [s["name"] for s in body["services"]]
    assert names == sorted(names, key=str.lower)


def test_paging_through_every_service(rest_us, contract, accounts) -> None:
    seen: list[dict[str, Any]] = []
    offset, more, pages = 0, True, []
    while more:
        response = rest_us.get(
            "/services", params={"limit": 100, "offset": offset, "total": "true"}
        )
        body = contract.rest(response)
        pages.append(body)
        seen.extend(body["services"])
        more = body["more"]
        offset += body["limit"]
    expected = len(accounts["us"]["services"])
    assert expected >= CHECKOUT_COUNT + 1
    assert [len(p["services"]) for p in pages] == [100, expected - 100]
    assert [p["more"] for p in pages] == [True, False]
    assert all(p["total"] == expected for p in pages)
    assert len({s["id"] for s in seen}) == expected
    assert all(ID_RE.fullmatch(s["id"]) for s in seen)
    checkout = [s for s in seen if s["name"].startswith("Checkout API ")]
    assert len(checkout) == CHECKOUT_COUNT
    assert all(
        s["html_url"] == f"https://acme-us.pagerduty.com/service-directory/{s['id']}" for s in seen
    )


def test_limit_is_capped_at_100(rest_us) -> None:
    body = rest_us.get("/services", params={"limit": 500}).json()
    assert body["limit"] == 100 and len(body["services"]) == 100


def test_offset_plus_limit_over_10000_is_400(rest_us, contract) -> None:
    edge = rest_us.get("/services", params={"limit": 100, "offset": 9900})
    assert edge.status_code == 200
    assert edge.json()["services"] == [] and edge.json()["more"] is False
    over = rest_us.get("/services", params={"limit": 100, "offset": 9901})
    contract.rest_error(over, 400, 2001)


@pytest.mark.parametrize("params", [{"limit": "abc"}, {"limit": 0}, {"offset": -1}])
def test_bad_paging_parameters_are_400(rest_us, contract, params) -> None:
    contract.rest_error(rest_us.get("/services", params=params), 400, 2001)


def test_query_filters_by_name_case_insensitively(rest_us, contract) -> None:
    body = contract.rest(
        rest_us.get("/services", params={"query": "checkout api 12", "total": "true"})
    )
    names = [s["name"] for s in body["services"]]
    assert names == [f"Checkout API 12{n}" for n in range(10)]
    assert body["total"] == 10


def test_include_integrations_embeds_full_objects(rest_us, contract) -> None:
    plain = contract.rest(rest_us.get("/services", params={"query": "Edge Gateway"}))
    ref = plain["services"][0]["integrations"][0]
    assert ref["type"] == "events_api_v2_inbound_integration_reference"
    assert "integration_key" not in ref
    response = rest_us.get(
        "/services", params={"query": "Edge Gateway", "include[]": "integrations"}
    )
    service = response.json()["services"][0]
    embedded = service["integrations"][0]
    # REST.openapi.json types Service.integrations as IntegrationReference although its own
    # description says include[]=integrations returns full objects; check those on their own.
    assert contract.schema_errors("urn:rest#/components/schemas/Integration", embedded) == []
    assert embedded["type"] == "events_api_v2_inbound_integration"
    assert re.fullmatch(r"[0-9a-f]{32}", embedded["integration_key"])
    rest_of_service = {**service, "integrations": []}
    assert contract.schema_errors("urn:rest#/components/schemas/Service", rest_of_service) == []


def test_get_one_service(rest_us, contract, accounts) -> None:
    wanted = us_service(accounts, "Checkout API 007")
    service = contract.rest(rest_us.get(f"/services/{wanted['id']}"))["service"]
    assert service["name"] == "Checkout API 007"
    assert service["teams"][0]["summary"] == "Payments"
    assert service["status"] == "active"


def test_unknown_or_foreign_service_is_404(rest_us, contract, accounts) -> None:
    contract.rest_error(rest_us.get("/services/PNOPE00"), 404, 2100)
    eu_service = accounts["eu"]["services"][0]
    contract.rest_error(rest_us.get(f"/services/{eu_service['id']}"), 404, 2100)


# ---------------------------------------------------------------------------- integrations
def test_create_and_get_an_events_v2_integration(rest_us, contract, accounts, events_post) -> None:
    service = us_service(accounts, "Checkout API 042")
    body = {"integration": {"type": "events_api_v2_inbound_integration", "name": "Alerts SaaS"}}
    response = rest_us.post(f"/services/{service['id']}/integrations", json=body)
    assert response.status_code == 201
    integration = contract.rest(response)["integration"]
    assert integration["name"] == "Alerts SaaS"
    assert integration["service"]["id"] == service["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", integration["integration_key"])
    again = contract.rest(
        rest_us.get(f"/services/{service['id']}/integrations/{integration['id']}")
    )
    assert again["integration"] == integration
    refs = rest_us.get(f"/services/{service['id']}").json()["service"]["integrations"]
    assert [r["id"] for r in refs] == [integration["id"]]
    # The new key is a working routing key on the US events host.
    sent = events_post(
        {
            "routing_key": integration["integration_key"],
            "event_action": "trigger",
            "payload": {"summary": "s", "source": "h", "severity": "info"},
        }
    )
    assert sent.status_code == 202


def test_a_responder_cannot_change_another_teams_service(rest_us, contract, accounts) -> None:
    ledger = us_service(accounts, "General Ledger")  # Finance: not the sandbox user's team
    body = {"integration": {"type": "events_api_v2_inbound_integration", "name": "A"}}
    response = rest_us.post(f"/services/{ledger['id']}/integrations", json=body)
    assert response.status_code == 403
    error = contract.rest(response)["error"]
    assert error["message"] == "Access Denied"
    assert "belongs to a team you are not a member of" in error["errors"][0]
    # Reading it is fine, and so is changing a service of one of the user's teams.
    assert rest_us.get(f"/services/{ledger['id']}").status_code == 200
    mine = us_service(accounts, "Checkout API 044")
    assert rest_us.post(f"/services/{mine['id']}/integrations", json=body).status_code == 201


def test_integration_keys_are_unique(rest_us, accounts) -> None:
    service = us_service(accounts, "Checkout API 043")
    body = {"integration": {"type": "events_api_v2_inbound_integration", "name": "A"}}
    keys = {
        rest_us.post(f"/services/{service['id']}/integrations", json=body).json()["integration"][
            "integration_key"
        ]
        for _ in range(5)
    }
    assert len(keys) == 5


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"integration": {"type": "made_up_integration", "name": "X"}},
        {"integration": {"type": "events_api_v2_inbound_integration", "name": ""}},
    ],
)
def test_invalid_integration_is_400(rest_us, contract, accounts, body) -> None:
    service = us_service(accounts, "Checkout API 001")
    contract.rest_error(
        rest_us.post(f"/services/{service['id']}/integrations", json=body), 400, 2001
    )


def test_integration_delete_is_not_part_of_the_published_api(rest_us, accounts) -> None:
    service = us_service(accounts, "Checkout API 001")
    body = {"integration": {"type": "events_api_v2_inbound_integration", "name": "X"}}
    created = rest_us.post(f"/services/{service['id']}/integrations", json=body).json()
    path = f"/services/{service['id']}/integrations/{created['integration']['id']}"
    response = rest_us.delete(path)
    assert response.status_code == 405
    assert response.json()["error"]["message"] == "Method Not Allowed"
    assert rest_us.get(path).status_code == 200


def test_unknown_integration_is_404(rest_us, contract, accounts) -> None:
    service = us_service(accounts, "Checkout API 001")
    contract.rest_error(rest_us.get(f"/services/{service['id']}/integrations/PNOPE00"), 404, 2100)


# ---------------------------------------------------------------------------- webhook subscriptions
def subscription_body(service_id: str) -> dict[str, Any]:
    return {
        "webhook_subscription": {
            "type": "webhook_subscription",
            "delivery_method": {
                "type": "http_delivery_method",
                "url": "https://alerts.example/webhooks/pagerduty",
                "custom_headers": [{"name": "X-Tenant", "value": "tenant-42"}],
            },
            "description": "Alerts SaaS",
            "events": ["incident.triggered", "incident.acknowledged", "incident.resolved"],
            "filter": {"type": "service_reference", "id": service_id},
        }
    }


def test_webhook_secret_is_only_returned_on_create(rest_us, contract, accounts) -> None:
    service = us_service(accounts, "Checkout API 001")
    response = rest_us.post("/webhook_subscriptions", json=subscription_body(service["id"]))
    assert response.status_code == 200  # REST.openapi.json documents 200 for this create
    created = contract.rest(response)["webhook_subscription"]
    assert ID_RE.fullmatch(created["id"])
    secret = created["delivery_method"]["secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    assert created["delivery_method"]["custom_headers"] == [
        {"name": "X-Tenant", "value": "tenant-42"}
    ]
    fetched = contract.rest(rest_us.get(f"/webhook_subscriptions/{created['id']}"))[
        "webhook_subscription"
    ]
    assert fetched["delivery_method"]["secret"] is None
    assert fetched["delivery_method"]["custom_headers"][0]["value"] == "-- redacted --"
    assert fetched["filter"] == {"type": "service_reference", "id": service["id"]}
    listed = contract.rest(rest_us.get("/webhook_subscriptions", params={"total": "true"}))
    assert [s["id"] for s in listed["webhook_subscriptions"]] == [created["id"]]
    assert listed["total"] == 1
    assert all(s["delivery_method"]["secret"] is None for s in listed["webhook_subscriptions"])
    filtered = rest_us.get(
        "/webhook_subscriptions", params={"filter_type": "service", "filter_id": "PNOPE00"}
    ).json()
    assert filtered["webhook_subscriptions"] == []
    deleted = rest_us.delete(f"/webhook_subscriptions/{created['id']}")
    assert deleted.status_code == 204
    contract.rest(deleted)
    contract.rest_error(rest_us.get(f"/webhook_subscriptions/{created['id']}"), 404, 2100)


def test_webhook_subscriptions_are_per_account(rest_us, rest_eu, accounts) -> None:
    service = us_service(accounts, "Checkout API 001")
    created = rest_us.post("/webhook_subscriptions", json=subscription_body(service["id"])).json()
    assert rest_eu.get("/webhook_subscriptions").json()["webhook_subscriptions"] == []
    sub_id = created["webhook_subscription"]["id"]
    assert rest_eu.get(f"/webhook_subscriptions/{sub_id}").status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"events": []},
        {"events": ["incident.exploded"]},
        {"filter": {"type": "service_reference", "id": "PNOPE00"}},
        {"filter": {"type": "galaxy_reference"}},
        {"delivery_method": {"type": "http_delivery_method", "url": "not a url"}},
        {"type": "something_else"},
    ],
)
def test_invalid_webhook_subscription_is_400(rest_us, contract, accounts, change) -> None:
    service = us_service(accounts, "Checkout API 001")
    body = subscription_body(service["id"])
    body["webhook_subscription"].update(change)
    contract.rest_error(rest_us.post("/webhook_subscriptions", json=body), 400, 2001)


def test_account_wide_webhook_subscription(rest_us, contract, accounts) -> None:
    body = subscription_body("unused")
    body["webhook_subscription"]["filter"] = {"type": "account_reference"}
    created = contract.rest(rest_us.post("/webhook_subscriptions", json=body))
    assert created["webhook_subscription"]["filter"]["type"] == "account_reference"


# ---------------------------------------------------------------------------- rate limits
def test_rest_rate_limit_returns_429_with_ratelimit_headers(sandbox, rest_us, contract) -> None:
    sandbox.configure(rest_rate_limit=5)
    remaining = []
    for _ in range(5):
        response = rest_us.get("/users/me")
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "5"
        remaining.append(int(response.headers["ratelimit-remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    limited = rest_us.get("/users/me")
    error = contract.rest_error(limited, 429, 2020)
    assert error["message"] == "Rate Limit Exceeded"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(limited.headers["ratelimit-reset"]) <= 60


def test_rest_rate_limit_window_slides(sandbox, rest_us) -> None:
    import time

    sandbox.configure(rest_rate_limit=2, rest_rate_window=0.5)
    assert [rest_us.get("/users/me").status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(0.6)
    assert rest_us.get("/users/me").status_code == 200


def test_default_rest_rate_limit_is_960_per_minute(rest_us, sandbox) -> None:
    response = rest_us.get("/users/me")
    assert response.headers["ratelimit-limit"] == "960"
    assert response.headers["ratelimit-remaining"] == "959"
    assert sandbox.config()["rest_rate_window"] == 60


def test_unknown_path_uses_the_pagerduty_error_shape(rest_us, contract) -> None:
    contract.rest_error(rest_us.get("/incidents_nope"), 404, 2100)


def test_accept_header_constant_matches_docs() -> None:
    assert REST_ACCEPT == "application/vnd.pagerduty+json;version=2"


def test_sandbox_process_helper_reports_its_urls(sandbox: SandboxProcess) -> None:
    assert sandbox.rest_url("eu") == f"{sandbox.url}/rest/eu"
    assert sandbox.events_url("us") == f"{sandbox.url}/events/us"
    assert requests.get(f"{sandbox.url}/_sandbox/health", timeout=5).json() == {"status": "ok"}
