"""Incidents: opened by Events API triggers, read and changed through REST, the inbox page
and the control API; every answer checked against PagerDuty's published schema."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import requests

US_EMAIL = "oncall@acme.example"
SAM_EMAIL = "sam@acme.example"


def visible(page: str) -> str:
    """A page's text as a person reads it: no tags, single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def user_id(accounts: dict[str, Any], email: str) -> str:
    return next(u["id"] for a in accounts.values() for u in a["users"] if u["email"] == email)


def open_incident(sandbox, events_post, trigger, key: str, dedup_key: str) -> dict[str, Any]:
    assert events_post(trigger(key, dedup_key=dedup_key)).status_code == 202
    (incident,) = sandbox.incidents(incident_key=dedup_key, status="triggered")
    return incident


def service_key(sandbox, accounts: dict[str, Any], name: str, region: str = "us") -> str:
    service = next(s for s in accounts[region]["services"] if s["name"] == name)
    return str(sandbox.add_integration(service["id"], "Tests")["integration_key"])


def test_a_trigger_opens_an_incident_assigned_to_whoever_is_on_call(
    sandbox, rest_us, contract, events_post, trigger, us_key, accounts
) -> None:
    opened = open_incident(sandbox, events_post, trigger, us_key, "disk-1")
    body = contract.rest(rest_us.get(f"/incidents/{opened['id']}"))
    incident = body["incident"]
    assert incident["type"] == "incident" and incident["status"] == "triggered"
    assert incident["incident_key"] == "disk-1"
    assert incident["title"] == "Disk almost full on db-1"
    assert incident["incident_number"] == 1
    assert incident["summary"] == "[#1] Disk almost full on db-1"
    assert incident["service"]["summary"] == "Checkout API 001"
    assert [a["assignee"]["summary"] for a in incident["assignments"]] == ["Olivia Oncall"]
    assert incident["assigned_via"] == "escalation_policy"
    assert incident["acknowledgements"] == []
    assert "resolved_at" not in incident  # the schema does not allow null there
    assert incident["last_status_change_by"]["type"] == "service_reference"
    assert incident["escalation_policy"]["summary"] == "Default"
    assert incident["self"] == f"https://api.pagerduty.com/incidents/{incident['id']}"
    # html_url opens the incident in the sandbox's web UI.
    assert incident["html_url"] == f"{sandbox.url}/web/acme-us/incidents/{incident['id']}"
    page = requests.get(incident["html_url"], timeout=10)
    assert page.status_code == 200
    text = visible(page.text)
    assert "Disk almost full on db-1" in text
    assert "Triggered: nobody has acknowledged it yet" in text
    assert "Assigned to Olivia Oncall" in text
    # The same incident by number; a second dedup key opens incident #2.
    assert contract.rest(rest_us.get("/incidents/1"))["incident"]["id"] == incident["id"]
    second = open_incident(sandbox, events_post, trigger, us_key, "disk-2")
    assert second["incident_number"] == 2
    # A repeated trigger with the same dedup key is the same incident.
    events_post(trigger(us_key, dedup_key="disk-1"))
    assert len(sandbox.incidents(incident_key="disk-1")) == 1


def test_acknowledge_and_resolve_with_an_oauth_token(
    sandbox, rest_us, contract, events_post, trigger, us_key
) -> None:
    incident = open_incident(sandbox, events_post, trigger, us_key, "ack-me")
    path = f"/incidents/{incident['id']}"
    acked = contract.rest(
        rest_us.put(
            path, json={"incident": {"type": "incident_reference", "status": "acknowledged"}}
        )
    )["incident"]
    assert acked["status"] == "acknowledged"
    assert [a["acknowledger"]["summary"] for a in acked["acknowledgements"]] == ["Olivia Oncall"]
    assert acked["last_status_change_by"]["summary"] == "Olivia Oncall"
    assert sandbox.alerts(dedup_key="ack-me")[0]["status"] == "acknowledged"
    wanted = {"include[]": ["assignees", "acknowledgers", "agents", "services"]}
    full = contract.rest(rest_us.get(path, params=wanted))["incident"]
    assert full["assignments"][0]["assignee"]["email"] == US_EMAIL
    assert full["acknowledgements"][0]["acknowledger"]["type"] == "user"
    assert full["last_status_change_by"]["email"] == US_EMAIL
    assert full["service"]["type"] == "service"
    resolved = contract.rest(
        rest_us.put(
            path,
            json={"incident": {"type": "incident", "status": "resolved", "resolution": "Fixed"}},
        )
    )["incident"]
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert resolved["assignments"] == [] and resolved["acknowledgements"] == []
    assert sandbox.alerts(dedup_key="ack-me")[0]["status"] == "resolved"
    log = [e["summary"] for e in sandbox.incidents(incident_key="ack-me")[0]["log"]]
    assert log == ["Triggered through the API", "Acknowledged", "Resolved: Fixed"]
    # Resolved incidents are not reopened by the sandbox: said in words, nothing changes.
    error = contract.rest_error(
        rest_us.put(path, json={"incident": {"type": "incident", "status": "acknowledged"}}),
        400,
        2001,
    )
    assert "resolved" in error["errors"][0]
    # The dedup key is free again: a new trigger opens a new incident.
    assert open_incident(sandbox, events_post, trigger, us_key, "ack-me")["incident_number"] == 2


def test_account_api_keys_must_say_who_acts_in_from(
    sandbox, rest_factory, contract, events_post, trigger, us_key, accounts
) -> None:
    rest = rest_factory("us", f"Token token={accounts['us']['api_key']}")
    incident = open_incident(sandbox, events_post, trigger, us_key, "from-header")
    path = f"/incidents/{incident['id']}"
    change = {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    error = contract.rest_error(rest.put(path, json=change), 400, 2001)
    assert '"From" header' in error["errors"][0]
    contract.rest_error(
        rest.put(path, json=change, headers={"From": "nobody@acme.example"}), 400, 2001
    )
    eu_user = {"From": "oncall@acme-eu.example"}  # a user, but of another account
    contract.rest_error(rest.put(path, json=change, headers=eu_user), 400, 2001)
    assert sandbox.incidents(incident_key="from-header")[0]["status"] == "triggered"
    acked = contract.rest(rest.put(path, json=change, headers={"From": SAM_EMAIL}))["incident"]
    assert acked["acknowledgements"][0]["acknowledger"]["id"] == user_id(accounts, SAM_EMAIL)


def test_list_filters_and_pagination(
    sandbox, rest_us, contract, events_post, trigger, us_key, accounts
) -> None:
    ledger_key = service_key(sandbox, accounts, "Edge Gateway")
    for n in range(3):
        open_incident(sandbox, events_post, trigger, us_key, f"list-{n}")
    other = open_incident(sandbox, events_post, trigger, ledger_key, "edge-1")
    sandbox.set_incident_status(other["id"], "acknowledged")
    everything = contract.rest(rest_us.get("/incidents", params={"total": "true"}))
    assert [i["incident_number"] for i in everything["incidents"]] == [1, 2, 3, 4]
    assert everything["total"] == 4 and everything["more"] is False
    page = contract.rest(rest_us.get("/incidents", params={"limit": 2, "offset": 2}))
    assert [i["incident_number"] for i in page["incidents"]] == [3, 4]
    acked = contract.rest(rest_us.get("/incidents", params={"statuses[]": "acknowledged"}))
    assert [i["incident_key"] for i in acked["incidents"]] == ["edge-1"]
    both = rest_us.get("/incidents", params={"statuses[]": ["triggered", "acknowledged"]})
    assert len(contract.rest(both)["incidents"]) == 4
    by_key = contract.rest(rest_us.get("/incidents", params={"incident_key": "list-1"}))
    assert [i["incident_key"] for i in by_key["incidents"]] == ["list-1"]
    by_service = rest_us.get("/incidents", params={"service_ids[]": other["service"]["id"]})
    assert [i["id"] for i in contract.rest(by_service)["incidents"]] == [other["id"]]
    newest_first = rest_us.get("/incidents", params={"sort_by": "incident_number:desc"})
    assert [i["incident_number"] for i in contract.rest(newest_first)["incidents"]] == [4, 3, 2, 1]
    old = {"since": "2024-01-01T00:00:00Z", "until": "2024-02-01T00:00:00Z"}
    assert contract.rest(rest_us.get("/incidents", params=old))["incidents"] == []
    assert (
        len(contract.rest(rest_us.get("/incidents", params={"date_range": "all"}))["incidents"])
        == 4
    )
    contract.rest_error(rest_us.get("/incidents", params={"statuses[]": "open"}), 400, 2001)
    too_long = {"since": "2024-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}
    contract.rest_error(rest_us.get("/incidents", params=too_long), 400, 2001)


def test_incidents_are_per_account_and_need_the_incidents_scope(
    sandbox, rest_us, rest_eu, rest_factory, contract, events_post, trigger, us_key
) -> None:
    incident = open_incident(sandbox, events_post, trigger, us_key, "scoped")
    assert contract.rest(rest_eu.get("/incidents"))["incidents"] == []
    contract.rest_error(rest_eu.get(f"/incidents/{incident['id']}"), 404, 2100)

    def client(scope: str):
        return rest_factory("us", f"Bearer {sandbox.issue_token(US_EMAIL, scope)['access_token']}")

    change = {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    for scope in ("read", "incidents.read"):
        reader = client(scope)
        assert reader.get(f"/incidents/{incident['id']}").status_code == 200
        contract.rest_error(reader.put(f"/incidents/{incident['id']}", json=change), 403, 2010)
    contract.rest_error(client("services.read").get("/incidents"), 403, 2010)
    writer = client("incidents.write")
    assert writer.put(f"/incidents/{incident['id']}", json=change).status_code == 200


def test_a_responder_cannot_change_another_teams_incident(
    sandbox, rest_us, rest_factory, contract, events_post, trigger, accounts
) -> None:
    ledger = service_key(sandbox, accounts, "General Ledger")  # Finance: not the user's team
    incident = open_incident(sandbox, events_post, trigger, ledger, "ledger")
    assert incident["assignments"] == []  # nobody is on call for the Finance policy
    change = {"incident": {"type": "incident_reference", "status": "resolved"}}
    contract.rest_error(rest_us.put(f"/incidents/{incident['id']}", json=change), 403, 2010)
    note = {"note": {"content": "looking"}}
    contract.rest_error(rest_us.post(f"/incidents/{incident['id']}/notes", json=note), 403, 2010)
    admin = rest_factory("us", f"Token token={accounts['us']['api_key']}")
    done = admin.put(f"/incidents/{incident['id']}", json=change, headers={"From": US_EMAIL})
    assert contract.rest(done)["incident"]["status"] == "resolved"


def test_notes(sandbox, rest_us, contract, events_post, trigger, us_key) -> None:
    incident = open_incident(sandbox, events_post, trigger, us_key, "noted")
    path = f"/incidents/{incident['id']}/notes"
    assert contract.rest(rest_us.get(path))["notes"] == []
    created = contract.rest(rest_us.post(path, json={"note": {"content": "Restarting db-1"}}))
    note = created["note"]
    assert note["content"] == "Restarting db-1" and note["user"]["summary"] == "Olivia Oncall"
    assert contract.rest(rest_us.get(path))["notes"] == [note]
    contract.rest_error(rest_us.post(path, json={"note": {"content": "  "}}), 400, 2001)
    page = visible(requests.get(incident["html_url"], timeout=10).text)
    assert "Olivia Oncall" in page and "Restarting db-1" in page


def test_reassign_and_escalate(
    sandbox, rest_us, contract, events_post, trigger, us_key, accounts
) -> None:
    incident = open_incident(sandbox, events_post, trigger, us_key, "reassign")
    path = f"/incidents/{incident['id']}"
    sam = user_id(accounts, SAM_EMAIL)
    contract.rest(
        rest_us.put(path, json={"incident": {"type": "incident", "status": "acknowledged"}})
    )
    body = {
        "incident": {
            "type": "incident_reference",
            "assignments": [{"assignee": {"id": sam, "type": "user_reference"}}],
        }
    }
    moved = contract.rest(rest_us.put(path, json=body))["incident"]
    assert [a["assignee"]["id"] for a in moved["assignments"]] == [sam]
    assert moved["assigned_via"] == "direct_assignment"
    assert moved["status"] == "triggered"  # reassigning an acknowledged incident re-triggers it
    back = contract.rest(
        rest_us.put(path, json={"incident": {"type": "incident", "escalation_level": 1}})
    )
    assert [a["assignee"]["summary"] for a in back["incident"]["assignments"]] == ["Olivia Oncall"]
    contract.rest_error(
        rest_us.put(path, json={"incident": {"type": "incident", "escalation_level": 3}}), 400, 2001
    )
    unknown = {"incident": {"type": "incident", "assignments": [{"assignee": {"id": "PNOPE00"}}]}}
    contract.rest_error(rest_us.put(path, json=unknown), 400, 2001)


def test_bulk_update_checks_everything_before_changing_anything(
    sandbox, rest_us, contract, events_post, trigger, us_key
) -> None:
    first = open_incident(sandbox, events_post, trigger, us_key, "bulk-1")
    second = open_incident(sandbox, events_post, trigger, us_key, "bulk-2")
    bad = {
        "incidents": [
            {"id": first["id"], "type": "incident_reference", "status": "acknowledged"},
            {"id": second["id"], "type": "incident_reference", "status": "snoozed"},
        ]
    }
    contract.rest_error(rest_us.put("/incidents", json=bad), 400, 2001)
    assert {i["status"] for i in sandbox.incidents()} == {"triggered"}
    bad["incidents"][1]["status"] = "resolved"
    done = contract.rest(rest_us.put("/incidents", json=bad))["incidents"]
    assert [i["status"] for i in done] == ["acknowledged", "resolved"]


def test_events_api_acknowledge_is_the_services_doing(
    sandbox, rest_us, contract, events_post, us_key
) -> None:
    events_post(
        {
            "routing_key": us_key,
            "event_action": "trigger",
            "dedup_key": "e",
            "payload": {"summary": "s", "source": "h", "severity": "info"},
        }
    )
    events_post({"routing_key": us_key, "event_action": "acknowledge", "dedup_key": "e"})
    (incident,) = contract.rest(rest_us.get("/incidents"))["incidents"]
    assert incident["status"] == "acknowledged"
    ack = incident["acknowledgements"][0]["acknowledger"]
    assert ack["type"] == "service_reference" and ack["summary"] == "Checkout API 001"


def test_the_incident_page_buttons_act_as_the_chosen_user(
    sandbox, events_post, trigger, us_key, accounts
) -> None:
    incident = open_incident(sandbox, events_post, trigger, us_key, "page")
    http = requests.Session()
    page = http.get(incident["html_url"], timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    sam = user_id(accounts, SAM_EMAIL)
    forged = http.post(
        f"{incident['html_url']}/acknowledge", data={"csrf_token": "x", "user_id": sam}, timeout=10
    )
    assert forged.status_code == 400
    acked = http.post(
        f"{incident['html_url']}/acknowledge",
        data={"csrf_token": token, "user_id": sam},
        timeout=10,
    )
    assert acked.status_code == 200  # after the 303 back to the page
    assert "Acknowledged by Sam Second at" in visible(acked.text)
    (state,) = sandbox.incidents(incident_key="page")
    assert state["acknowledgements"][0]["acknowledger"]["id"] == sam
    http.post(
        f"{incident['html_url']}/note",
        data={"csrf_token": token, "user_id": sam, "content": "on it"},
        timeout=10,
    )
    resolved = http.post(
        f"{incident['html_url']}/resolve", data={"csrf_token": token, "user_id": sam}, timeout=10
    )
    text = visible(resolved.text)
    assert "Resolved by Sam Second at" in text and "on it" in text
    assert "Act as" not in text and "/resolve" not in resolved.text  # nothing left to do
    assert sandbox.alerts(dedup_key="page")[0]["status"] == "resolved"


def test_control_api_changes_an_incident_as_a_user(
    sandbox, events_post, trigger, us_key, accounts
) -> None:
    incident = open_incident(sandbox, events_post, trigger, us_key, "control")
    changed = sandbox.set_incident_status(incident["id"], "acknowledged", SAM_EMAIL)
    assert changed["status"] == "acknowledged"
    assert changed["last_status_change_by"]["id"] == user_id(accounts, SAM_EMAIL)
    assert changed["log"][-1]["via"] == "control"
    with pytest.raises(RuntimeError, match="not a user"):
        sandbox.set_incident_status(incident["id"], "resolved", "oncall@acme-eu.example")
    sandbox.reset()
    assert sandbox.incidents() == []
