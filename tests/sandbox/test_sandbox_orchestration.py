"""Event Orchestration routing keys on the Events API v2, as PagerDuty documents them: an
orchestration's integration has a routing key of "R" and 31 capital letters and digits;
alert events sent with it go where its router sends them; change events are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devtools.sandbox.testing import SandboxProcess

ROUTING_KEY = re.compile(r"R[A-Z0-9]{31}")


def service_named(accounts: dict[str, dict[str, Any]], region: str, name: str) -> dict[str, Any]:
    return next(s for s in accounts[region]["services"] if s["name"] == name)


@pytest.fixture
def orchestration(sandbox: SandboxProcess, accounts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A new orchestration routing every event to "Checkout API 002"."""
    service = service_named(accounts, "us", "Checkout API 002")
    return sandbox.add_orchestration(service["id"], "Checkout routing")


def test_each_account_is_seeded_with_an_orchestration_routing_to_one_service(
    sandbox, accounts, contract
) -> None:
    for region, service_name in (("us", "Edge Gateway"), ("eu", "Billing EU")):
        (seeded,) = accounts[region]["orchestrations"]
        assert seeded["route_to"] == service_named(accounts, region, service_name)["id"]
        (integration,) = seeded["integrations"]
        schema = "urn:rest#/components/schemas/OrchestrationIntegration"
        assert contract.schema_errors(schema, integration) == []
        assert integration["parameters"]["type"] == "global"
        assert ROUTING_KEY.fullmatch(integration["parameters"]["routing_key"])
    # The seed is the same after every reset.
    sandbox.reset()
    assert sandbox.account("us")["orchestrations"] == accounts["us"]["orchestrations"]


def test_a_trigger_opens_an_incident_on_the_routed_service_and_its_resolve_closes_it(
    sandbox, events_post, trigger, contract, orchestration
) -> None:
    key = orchestration["routing_key"]
    assert ROUTING_KEY.fullmatch(key)
    assert contract.events_request_errors(trigger(key, dedup_key="db-1/disk")) == []
    response = events_post(trigger(key, dedup_key="db-1/disk"))
    assert response.status_code == 202
    assert contract.events(response) == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "db-1/disk",
    }
    (alert,) = sandbox.alerts(routing_key=key)
    assert alert["service_id"] == orchestration["route_to"]
    assert alert["routing_key"] == key and alert["status"] == "triggered"
    (incident,) = sandbox.incidents(alert_id=alert["id"])
    assert incident["service"]["id"] == orchestration["route_to"]
    assert incident["status"] == "triggered"

    resolve = {"routing_key": key, "dedup_key": "db-1/disk", "event_action": "resolve"}
    assert events_post(resolve).status_code == 202
    (alert,) = sandbox.alerts(routing_key=key)
    assert alert["status"] == "resolved"
    assert sandbox.incidents(alert_id=alert["id"])[0]["status"] == "resolved"
    assert [e["event_action"] for e in sandbox.events(routing_key=key)] == ["trigger", "resolve"]


def test_a_resolve_through_another_key_does_not_touch_the_orchestrated_alert(
    sandbox, events_post, trigger, orchestration, us_key
) -> None:
    """Follow-up events apply only through the routing key of the trigger (PagerDuty's
    "Alert De-Duplication")."""
    key = orchestration["routing_key"]
    events_post(trigger(key, dedup_key="same"))
    assert events_post({"routing_key": us_key, "dedup_key": "same", "event_action": "resolve"})
    (alert,) = sandbox.alerts(routing_key=key)
    assert alert["status"] == "triggered"


def test_change_events_on_an_orchestration_key_are_refused_in_words(
    sandbox, events_post, orchestration, contract
) -> None:
    body = {"routing_key": orchestration["routing_key"], "payload": {"summary": "Deploy v2"}}
    response = events_post(body, change=True)
    assert response.status_code == 400
    assert contract.events(response)["errors"] == [
        "Change events cannot be sent to an Event Orchestration or ruleset routing key "
        "(keys that begin with R); send them with a service's integration key."
    ]
    (event,) = sandbox.events(routing_key=orchestration["routing_key"])
    assert event["kind"] == "change" and event["outcome"] == "rejected"


def test_an_orchestration_key_works_only_in_its_region_and_unknown_ones_are_refused(
    events_post, trigger, orchestration, contract
) -> None:
    key = orchestration["routing_key"]
    wrong_region = events_post(trigger(key), region="eu")
    assert wrong_region.status_code == 400
    unknown = events_post(trigger("R0" + "A" * 30))
    assert unknown.status_code == 400
    for response in (wrong_region, unknown):
        assert contract.events(response)["errors"] == [
            "Invalid routing key: no integration with this key in this region."
        ]


def test_the_router_decides_the_service_and_an_unrouted_event_opens_nothing(
    sandbox, events_post, trigger, orchestration, accounts
) -> None:
    key = orchestration["routing_key"]
    other = service_named(accounts, "us", "Redis Cache")
    sandbox.route_orchestration(orchestration["id"], other["id"])
    assert events_post(trigger(key, dedup_key="to-redis")).status_code == 202
    assert sandbox.alerts(routing_key=key)[0]["service_id"] == other["id"]

    sandbox.route_orchestration(orchestration["id"], None)
    response = events_post(trigger(key, dedup_key="nowhere"))
    assert response.status_code == 202  # PagerDuty accepts it; its router drops it
    assert sandbox.alerts(dedup_key="nowhere") == []
    (event,) = sandbox.events(dedup_key="nowhere")
    assert event["outcome"].startswith("unrouted")
