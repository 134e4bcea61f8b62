"""REST `DELETE /services/{id}` as PagerDuty documents it: 204, then the service is neither
listed nor found, and its integration keys no longer open incidents."""

from __future__ import annotations

from typing import Any

from devtools.sandbox.testing import SandboxProcess


def _service(accounts: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in accounts["us"]["services"] if s["name"] == name)


def test_a_deleted_service_is_gone_and_its_key_refused(
    sandbox: SandboxProcess, rest_us: Any, contract: Any, accounts: Any, events_post: Any
) -> None:
    service = _service(accounts, "Checkout API 042")
    body = {"integration": {"type": "events_api_v2_inbound_integration", "name": "Tripwire"}}
    created = rest_us.post(f"/services/{service['id']}/integrations", json=body).json()
    key = created["integration"]["integration_key"]
    before = rest_us.get("/services", params={"limit": 1, "total": "true"}).json()["total"]

    assert rest_us.delete(f"/services/{service['id']}").status_code == 204

    contract.rest_error(rest_us.get(f"/services/{service['id']}"), 404, 2100)
    contract.rest_error(rest_us.delete(f"/services/{service['id']}"), 404, 2100)
    listed = rest_us.get("/services", params={"query": "Checkout API 042"}).json()
    assert listed["services"] == []
    after = rest_us.get("/services", params={"limit": 1, "total": "true"}).json()["total"]
    assert after == before - 1
    assert all(s["id"] != service["id"] for s in sandbox.account("us")["services"])
    trigger = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "h", "severity": "info"},
    }
    refused = events_post(trigger)
    assert refused.status_code == 400 and "Invalid routing key" in refused.text


def test_a_responder_cannot_delete_another_teams_service(
    sandbox: SandboxProcess, rest_us: Any, accounts: Any
) -> None:
    ledger = _service(accounts, "General Ledger")  # Finance: not the sandbox user's team
    assert rest_us.delete(f"/services/{ledger['id']}").status_code == 403
    assert rest_us.get(f"/services/{ledger['id']}").status_code == 200


def test_the_test_client_deletes_with_the_account_api_key(
    sandbox: SandboxProcess, rest_us: Any, accounts: Any
) -> None:
    ledger = _service(accounts, "General Ledger")
    sandbox.delete_service(ledger["id"])
    assert rest_us.get(f"/services/{ledger['id']}").status_code == 404
